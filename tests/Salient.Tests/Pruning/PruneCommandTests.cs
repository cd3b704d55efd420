using Salient.Cli;
using Salient.Models;
using Salient.Pruning;
using Salient.Tests.Cli;
using static TorchSharp.torch;

namespace Salient.Tests.Pruning;

[Collection("Console")]
public class PruneCommandTests
{
    private static int RunSalient(params string[] args) =>
        (int)typeof(CommandRunner).Assembly.EntryPoint!.Invoke(null, [args])!;

    [Fact]
    public void PruneVerbSavesACompactedCheckpointWithItsClassesAndMetadata()
    {
        var dir = Directory.CreateTempSubdirectory("salient-prune-cli-");
        try
        {
            var input = Path.Combine(dir.FullName, "in.safetensors");
            var output = Path.Combine(dir.FullName, "out.safetensors");
            random.manual_seed(2);
            using (var model = ModelFactory.Create(new ModelSpec { Width = 0.125, NumClasses = 3 }))
                Checkpoint.Save(input, model, ["stop", "yield", "merge"], new Dictionary<string, string> { ["salient.training"] = "natural" });

            int code = RunSalient("prune", "--checkpoint", input, "--method", "layered", "--amount", "0.25", "--out", output, "--compact", "--report");

            Assert.Equal(0, code);
            using var pruned = Checkpoint.Load(output);
            Assert.Equal(["stop", "yield", "merge"], pruned.ClassNames);
            Assert.Equal("natural", pruned.Metadata["salient.training"]);
            // The one metadata shape the study writes too.
            var record = PruningRecord.From(pruned.Metadata)!;
            Assert.Equal((PruningMethod.LayeredStructured, 0.25, PruningRecord.PostNotFineTuned, true),
                (record.Settings.Method, record.Settings.Amount, record.Flow, record.Compacted));
            Assert.InRange(record.Sparsity, 0.01, 0.3);
            // 8 channels − round(0.25·8) = 6 in the first convolution.
            Assert.Equal(6, pruned.Model.Spec.LayerWidths![0]);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    /// <summary>The report's rows by model: parameters and MACs as printed.</summary>
    private static Dictionary<string, (long Parameters, long Macs)> ReportRows(string output) =>
        output.Split('\n')
            .Select(line => line.Split('|', StringSplitOptions.TrimEntries))
            .Where(cells => cells.Length > 5 && cells[1] is "dense" or "masked" or "compacted")
            .ToDictionary(cells => cells[1], cells => (long.Parse(cells[2].Replace(",", "")), long.Parse(cells[4].Replace(",", ""))));

    [Theory]
    [InlineData("vgg16", true)]
    [InlineData("resnet18", false)]
    public void PruneReportWorksForEveryArchitecture(string architecture, bool batchNorm)
    {
        using var folder = new TempFolder();
        var input = folder["in.safetensors"];
        random.manual_seed(3);
        using (var model = ModelFactory.Create(new ModelSpec { Architecture = architecture, BatchNorm = batchNorm, Width = 0.125, NumClasses = 3, Stem = "cifar" }))
            Checkpoint.Save(input, model, ["a", "b", "c"]);

        var (exit, output, error) = CliRunner.Run("prune", "--checkpoint", input, "--method", "layered", "--amount", "0.25", "--out", folder["out.safetensors"], "--report", "--report-batch", "8");

        Assert.True(exit == 0, error);
        Assert.Contains("| per image at b8 (ms) |", output);
        var rows = ReportRows(output);
        // A masked model still executes its zeros: same parameters and MACs as the dense one.
        Assert.Equal(rows["dense"], rows["masked"]);
        // Compaction removes a quarter of the channels (and folds BatchNorm away): fewer of both. Of a
        // ResNet-18 only the blocks' inner channels go (the residual stream's stay), about half the convolutions' work.
        double share = architecture == "vgg16" ? 0.7 : 0.85;
        Assert.True(rows["compacted"].Macs < rows["dense"].Macs * share);
        Assert.True(rows["compacted"].Parameters < rows["dense"].Parameters * share);
    }

    [Fact]
    public void CompactingAResNetWritesTheSmallerModelThatComputesTheMaskedOnesFunction()
    {
        using var folder = new TempFolder();
        var input = folder["in.safetensors"];
        using (var model = ModelFactory.Create(new ModelSpec { Architecture = "resnet18", Width = 0.125, NumClasses = 3, Stem = "cifar" }))
            Checkpoint.Save(input, model, ["a", "b", "c"]);

        var (exit, output, error) = CliRunner.Run("prune", "--checkpoint", input, "--method", "layered", "--out", folder["out.safetensors"], "--compact", "--report");

        Assert.True(exit == 0, output + error);
        Assert.Contains("| compacted |", output);
        using var written = Checkpoint.Load(folder["out.safetensors"]);
        Assert.NotNull(written.Model.Spec.LayerWidths);
        // The same pruning in this process gives the masked model the compacted one must equal.
        using var masked = Checkpoint.Load(input);
        Pruner.Prune(masked.Model, PruningSettings.Paper(PruningMethod.LayeredStructured));
        masked.Model.eval();
        written.Model.eval();
        using var x = rand(2, 3, 32, 32);
        using var _ = no_grad();
        using var a = masked.Model.forward(x);
        using var b = written.Model.forward(x);
        Assert.True((a - b).abs().max().item<float>() <= 1e-4f * a.abs().max().item<float>());
    }

    [Fact]
    public void PruneVerbRejectsABadAmountWithTheUserErrorCode()
    {
        var dir = Directory.CreateTempSubdirectory("salient-prune-cli-");
        try
        {
            var input = Path.Combine(dir.FullName, "in.safetensors");
            using (var model = ModelFactory.Create(new ModelSpec { Width = 0.125, NumClasses = 3 }))
                Checkpoint.Save(input, model, ["a", "b", "c"]);
            var output = Path.Combine(dir.FullName, "out.safetensors");
            Assert.Equal(CommandRunner.UserError, RunSalient("prune", "--checkpoint", input, "--method", "l1", "--amount", "1.2", "--out", output));
            Assert.False(File.Exists(output));
            Assert.Equal(CommandRunner.UserError, RunSalient("prune", "--checkpoint", Path.Combine(dir.FullName, "missing.safetensors"), "--method", "l1", "--out", output));
            Assert.Equal(CommandRunner.UserError, RunSalient("prune", "--checkpoint", input, "--method", "l1", "--out", output, "--report", "--report-batch", "0"));
            Assert.False(File.Exists(output));
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }
}
