using System.CommandLine;
using System.Text.Json;
using Salient.Models;
using Salient.Pruning;

namespace Salient.Cli.Commands;

/// <summary>`salient prune`: prune a checkpoint once (no fine-tuning) and save it with its masks.</summary>
internal static class PruneCommand
{
    public static Command Create()
    {
        var checkpoint = new Option<FileInfo>("--checkpoint") { Description = "Checkpoint to prune (.safetensors).", Required = true };
        var method = new Option<string>("--method") { Description = "l1 (per layer), global (one threshold) or layered (10% of channels per layer).", Required = true };
        var amount = new Option<double?>("--amount") { Description = "Fraction to prune: of each convolution (l1), of all weights (global) or of each layer's channels (layered); default the paper's." };
        var linearAmount = new Option<double?>("--linear-amount") { Description = "Fraction for linear layers in l1/layered; default the paper's (0.1)." };
        var layers = new Option<string?>("--layers") { Description = "Comma-separated layer names to prune (e.g. features.0,classifier.1); default every conv/linear layer (layered: all but the output)." };
        var output = new Option<FileInfo>("--out") { Description = "Where to write the pruned checkpoint.", Required = true };
        var compact = new Option<bool>("--compact") { Description = "Save the compacted model (pruned channels physically removed: VGG-16's, and ResNet-18's inside its blocks; BatchNorm folded into the convolutions) instead of the masked model." };
        var report = new Option<bool>("--report") { Description = "Also measure parameters, MACs, batch-1 latency and time per image in batches of the dense, masked and compacted models." };
        var reportBatch = new Option<int>("--report-batch") { Description = "Batch of the report's throughput column.", DefaultValueFactory = _ => PruningCostReport.DefaultBatch };

        var command = new Command("prune", "Prune a trained or initialised checkpoint with L1, global or layered-structured masks and save it; prints the sparsity per layer.")
        {
            checkpoint, method, amount, linearAmount, layers, output, compact, report, reportBatch,
        };
        command.SetAction(CommandRunner.Guard(parse =>
        {
            var input = parse.GetValue(checkpoint)!;
            if (!input.Exists) throw new SalientException($"Checkpoint '{input.FullName}' does not exist; give the path of a .safetensors file written by 'salient train'.");
            PruningCostReport.CheckBatch(parse.GetValue(reportBatch));
            var chosen = PruningSettings.ParseMethod(parse.GetValue(method)!);
            var paper = PruningSettings.Paper(chosen);
            var settings = paper with
            {
                Amount = parse.GetValue(amount) ?? paper.Amount,
                LinearAmount = parse.GetValue(linearAmount) ?? paper.LinearAmount,
                Layers = parse.GetValue(layers)?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
            };

            using var source = Checkpoint.Load(input.FullName);
            var model = source.Model;
            // Asking to save a compacted model that cannot exist is an error before any work; a report simply has no compacted row.
            if (parse.GetValue(compact) && !Compaction.Supports(model)) Compaction.Compact(model);
            // The model is pruned in place; the report times the dense checkpoint beside it, loaded again.
            using var dense = parse.GetValue(report) ? Checkpoint.Load(input.FullName) : null;
            var sparsity = Pruner.Prune(model, settings);
            Console.WriteLine(sparsity.ToMarkdown());

            SalientModel? compacted = parse.GetValue(compact) || (dense is not null && Compaction.Supports(model)) ? Compaction.Compact(model) : null;
            try
            {
                if (dense is not null)
                {
                    var rows = new List<(string, SalientModel)> { ("dense", dense.Model), ("masked", model) };
                    if (compacted is not null) rows.Add(("compacted", compacted));
                    Console.Error.WriteLine($"Timing the {rows.Count} models in turn, one image at a time, then in batches of {parse.GetValue(reportBatch)} ...");
                    Console.WriteLine(PruningCostReport.Measure(rows, batch: parse.GetValue(reportBatch)).ToMarkdown());
                }
                var metadata = new Dictionary<string, string>(source.Metadata)
                {
                    [PruningRecord.MetadataKey] = new PruningRecord(settings, PruningRecord.PostNotFineTuned, sparsity.Overall, parse.GetValue(compact)).ToJson(),
                };
                var outPath = parse.GetValue(output)!.FullName;
                Checkpoint.Save(outPath, parse.GetValue(compact) ? compacted! : model, source.ClassNames, metadata);
                Console.WriteLine($"wrote {outPath}");
            }
            finally
            {
                compacted?.Dispose();
            }
            return 0;
        }));
        return command;
    }
}
