using System.CommandLine;
using System.Globalization;
using Salient.Attribution;
using Salient.Evaluation;
using Salient.Models;
using Spectre.Console;

namespace Salient.Cli.Commands;

internal static class EvaluateExplanationsCommand
{
    public static Command Create()
    {
        var data = new DataOptions();
        var checkpointOption = new Option<string>("--checkpoint") { Description = "Checkpoint to explain", Required = true };
        var method = new Option<string>("--method") { Description = "vg, ig or sg", Required = true };
        method.AcceptOnlyFromAmong(AttributionMethods.Names);
        var limit = new Option<int?>("--limit") { Description = "Explain only N test images (evenly spaced), for quick runs" };
        var outDir = new Option<string?>("--out") { Description = "Folder for summary.csv, gini.csv, road-curve.csv, road-outcomes.csv, grad-norm.csv" };
        var igSteps = new Option<int>("--ig-steps") { Description = "IG integration steps", DefaultValueFactory = _ => 50 };
        var sgSamples = new Option<int>("--sg-samples") { Description = "SG noise samples", DefaultValueFactory = _ => 10 };
        var sgSigma = new Option<double>("--sg-sigma") { Description = "SG noise σ in model space", DefaultValueFactory = _ => 0.15 };
        var percentages = new Option<string>("--percentages") { Description = "ROAD percentages, comma-separated", DefaultValueFactory = _ => "10,20,30,40,50,60,70,80,90" };
        var noise = new Option<double>("--road-noise") { Description = "ROAD imputation noise σ (pixel space)", DefaultValueFactory = _ => NoisyLinearImputation.DefaultNoiseStd };
        var seed = new Option<long>("--seed") { Description = "Seed of SG noise, ROAD tie-break and imputation noise", DefaultValueFactory = _ => 0 };
        var command = new Command("evaluate-explanations", "Sparsity (Gini), faithfulness (ROAD MoRF/LeRF) and gradient norm of a method's saliency maps")
            { checkpointOption, method, limit, outDir, igSteps, sgSamples, sgSigma, percentages, noise, seed };
        data.AddTo(command);
        command.SetAction(CommandRunner.Guard(parse =>
        {
            var road = new RoadOptions { Percentages = ParsePercentages(parse.GetValue(percentages)!), NoiseStd = parse.GetValue(noise), Seed = parse.GetValue(seed) };
            road.Validate();
            using var ckpt = Checkpoint.Load(parse.GetValue(checkpointOption)!);
            using var split = data.Open(parse);
            DataOptions.RequireSameClasses(ckpt.ClassNames, split.ClassNames);
            int n = Math.Min(parse.GetValue(limit) ?? split.Test.Count, split.Test.Count);
            if (n < 1) throw new SalientException($"--limit must be at least 1, got {n}.");
            using var images = split.Test.EvenlySpaced(n);
            var settings = new AttributionSettings
            {
                IntegratedGradients = new IntegratedGradientsSettings { Steps = parse.GetValue(igSteps) },
                SmoothGrad = new SmoothGradSettings { Samples = parse.GetValue(sgSamples), Sigma = parse.GetValue(sgSigma), Seed = parse.GetValue(seed) },
            };
            var attribution = AttributionMethods.Create(parse.GetValue(method)!, settings);
            using var ownsNoise = attribution as IDisposable;
            using var labels = images.LabelTensor();

            ExplanationQuality? quality = null;
            double[] gradNorms = [];
            AnsiConsole.Progress().AutoClear(false)
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
                .Start(ctx =>
                {
                    var task = ctx.AddTask("explaining", maxValue: 1);
                    quality = ExplanationEvaluation.Evaluate(ckpt.Model, attribution, images.Images, labels, road,
                        new SyncProgress<(string Stage, double Fraction)>(p => { task.Description = Markup.Escape(p.Stage); task.Value = p.Fraction; }));
                    task.Description = "gradient norms";
                    task.Value = 0.9;
                    gradNorms = GradientNorm.PerImage(ckpt.Model, images.Images, labels);
                    task.Value = 1;
                });
            using var q = quality!;
            var gini = q.GiniMean;
            var grad = MeanEstimate.Of(gradNorms);
            Console.WriteLine($"Method: {attribution.Name}; images: {n}; accuracy: {q.Accuracy:P2} ({q.CorrectIndices.Length} correctly classified, scored)");
            Console.WriteLine($"Gini: {Fmt(gini.Mean)} ± {Fmt(gini.HalfWidth)} (95% CI)");
            Console.WriteLine($"Gradient norm: {Fmt(grad.Mean)} ± {Fmt(grad.HalfWidth)} (95% CI)");
            if (q.Road is { } r)
            {
                var table = new Table().AddColumn("ROAD").AddColumns(r.Percentages.Select(p => $"{p:0}%").Append("area").ToArray());
                table.AddRow(new[] { "MoRF" }.Concat(r.MorfAccuracy.Select(a => Fmt(a, 3))).Append(Fmt(r.MorfArea, 3)).ToArray());
                table.AddRow(new[] { "LeRF" }.Concat(r.LerfAccuracy.Select(a => Fmt(a, 3))).Append(Fmt(r.LerfArea, 3)).ToArray());
                AnsiConsole.Write(table);
            }
            else Console.WriteLine("ROAD: no correctly classified image to evaluate.");

            if (parse.GetValue(outDir) is { } dir)
            {
                Directory.CreateDirectory(dir);
                AtomicFile.WriteAllLines(Path.Combine(dir, "summary.csv"),
                [
                    "method,images,accuracy,gini_mean,gini_ci_low,gini_ci_high,grad_norm_mean,grad_norm_ci_low,grad_norm_ci_high,morf_area,lerf_area",
                    string.Join(",", attribution.Name, n, Fmt(q.Accuracy), Fmt(gini.Mean), Fmt(gini.Lower), Fmt(gini.Upper), Fmt(grad.Mean), Fmt(grad.Lower), Fmt(grad.Upper),
                        q.Road is null ? "" : Fmt(q.Road.MorfArea), q.Road is null ? "" : Fmt(q.Road.LerfArea)),
                ]);
                AtomicFile.WriteAllLines(Path.Combine(dir, "gini.csv"), q.Gini.Select((g, k) => $"{q.CorrectIndices[k]},{Fmt(g)}").Prepend("image,gini"));
                AtomicFile.WriteAllLines(Path.Combine(dir, "grad-norm.csv"), gradNorms.Select((g, k) => $"{k},{Fmt(g)}").Prepend("image,grad_norm"));
                if (q.Road is not null) RoadCsv.Write(q.Road, Path.Combine(dir, "road-curve.csv"), Path.Combine(dir, "road-outcomes.csv"));
                Console.WriteLine($"Wrote summary.csv, gini.csv, grad-norm.csv{(q.Road is null ? "" : ", road-curve.csv, road-outcomes.csv")} to {dir}");
            }
            return 0;
        }));
        return command;
    }

    private static string Fmt(double v, int digits = 6) => double.IsNaN(v) ? "" : v.ToString("F" + digits, CultureInfo.InvariantCulture);

    private static double[] ParsePercentages(string text)
    {
        try
        {
            return text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(p => double.Parse(p, CultureInfo.InvariantCulture)).ToArray();
        }
        catch (FormatException)
        {
            throw new SalientException($"--percentages '{text}' is not a comma-separated list of numbers; write e.g. 10,20,30.");
        }
    }
}
