using System.CommandLine;
using Salient.Attribution;
using Salient.Evaluation.Metrics;
using Salient.Models;
using Salient.Reporting;
using Salient.Workflows;
using Spectre.Console;

namespace Salient.Cli.Commands;

internal static class EvaluateExplanationsCommand
{
    public static Command Create()
    {
        var data = new DataOptions();
        var methodOptions = new MethodOptions(SmoothGradSettings.SamplesForMetrics);
        var metricOptions = new MetricOptions();
        var checkpointOption = new Option<string>("--checkpoint") { Description = "Checkpoint to explain", Required = true };
        var method = new Option<string>("--method") { Description = "vg, ig or sg", Required = true };
        method.AcceptOnlyFromAmong(AttributionMethods.Names);
        var limit = new Option<int?>("--limit") { Description = "Explain only N test images (evenly spaced), for quick runs" };
        var outDir = new Option<string?>("--out") { Description = "Folder for summary.csv, scores.csv and each metric's details CSVs" };
        var command = new Command("evaluate-explanations", "Score a method's saliency maps of a checkpoint on the test split with every metric (Gini, ROAD, gradient norm, ...)")
            { checkpointOption, method, limit, outDir };
        data.AddTo(command);
        methodOptions.AddTo(command);
        metricOptions.AddTo(command);
        command.SetAction(CommandRunner.Guard(parse =>
        {
            var metrics = metricOptions.Read(parse);
            var attribution = AttributionMethods.Create(parse.GetValue(method)!, methodOptions.Settings(parse));
            using var ownsNoise = attribution as IDisposable;
            using var ckpt = Checkpoint.Load(parse.GetValue(checkpointOption)!);
            using var split = data.Open(parse);
            DataOptions.RequireSameClasses(ckpt.ClassNames, split.ClassNames);
            int n = Math.Min(parse.GetValue(limit) ?? split.Test.Count, split.Test.Count);
            if (n < 1) throw new SalientException($"--limit must be at least 1, got {n}.");
            using var images = split.Test.EvenlySpaced(n);
            using var labels = images.LabelTensor();

            ExplanationEvaluation? result = null;
            AnsiConsole.Progress().AutoClear(false)
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
                .Start(ctx =>
                {
                    var task = ctx.AddTask("explaining", maxValue: 1);
                    result = ExplanationEvaluation.Run(ckpt.Model, attribution, images.Images, labels, metrics, parse.GetValue(methodOptions.Seed), images.Masks,
                        new SyncProgress<(string Stage, double Fraction)>(p => { task.Description = Markup.Escape(p.Stage); task.Value = p.Fraction; }));
                    task.Value = 1;
                });
            using var r = result!;
            Console.WriteLine($"Method: {attribution.Name}; images: {r.Count}; accuracy: {(double)r.CorrectCount / r.Count:P2} ({r.CorrectCount} correctly classified: map metrics score these)");
            TerminalTables.Write(new ReportTable("summary", "Scores (mean ± 95% CI over images)", "", ["metric", "score", "mean ± CI", "images", "better"],
                r.Summaries().Select(s => new[]
                {
                    s.Metric.Name, s.Summary.Key, ReportNumbers.MeanCi(s.Estimate.Mean, s.Estimate.HalfWidth), s.Estimate.Count.ToString(),
                    s.Summary.Direction == MetricDirection.HigherIsBetter ? "higher" : "lower",
                }).ToList()));
            foreach (var (choice, scores) in r.Scores.Where(s => s.Choice.Metric is IMetricViews && s.Scores.Details.Count > 0))
            {
                var details = scores.Details.GroupBy(d => d.Key).Select(g => new DetailMean("model", attribution.Name, g.Key, g.Average(d => d.Value))).ToList();
                foreach (var table in ((IMetricViews)choice.Metric).Tables(new MetricViewInput(["model"], [attribution.Name], details, "model", choice.Settings)))
                    TerminalTables.Write(table);
            }
            if (parse.GetValue(outDir) is { } dir)
            {
                var written = r.WriteCsv(dir);
                Console.WriteLine($"Wrote {string.Join(", ", written)} to {dir}");
            }
            return 0;
        }));
        return command;
    }
}
