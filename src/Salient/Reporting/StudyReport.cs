using Salient.Data;
using System.Globalization;
using System.Net;
using System.Runtime.InteropServices;
using System.Text;
using Salient.Pruning;
using Salient.Attribution;
using Salient.Evaluation;
using Salient.Evaluation.Metrics;
using Salient.Studies;
using static TorchSharp.torch;

namespace Salient.Reporting;

/// <summary>One stored per-image score of one model (the method and summary are implied by where it is used).</summary>
public readonly record struct ImageScore(string Model, long Seed, long Image, double Value);

/// <summary>
/// A study's tables (Markdown, CSV), plots and saliency grids (PNG) and one self-contained HTML page,
/// made from the results store alone — for the cells of the study's current settings only — so it can
/// be regenerated at any time without recomputing.
/// </summary>
public static class StudyReport
{
    public const string Folder = "report";

    /// <summary>Everything the report shows, read for the study's current settings.</summary>
    public sealed record Contents(StudyPlan Plan, IReadOnlyList<ReportTable> Tables, IReadOnlyList<LinePlot> Plots,
        IReadOnlyList<(CellPlan Cell, string Status, string? Error)> Missing);

    /// <summary>Reads a study folder: its settings, then the store's rows of the cells those settings plan.</summary>
    public static Contents Read(string studyFolder)
    {
        var settingsPath = Path.Combine(studyFolder, StudyRunner.SettingsFile);
        if (!File.Exists(settingsPath))
            throw new SalientException($"'{studyFolder}' is not a study folder (it has no {StudyRunner.SettingsFile}); run 'salient study --out {studyFolder}' first.");
        var plan = StudyPlan.Build(StudySettings.Load(settingsPath));
        using var store = new ResultStore(studyFolder);
        store.Sync();
        var missing = store.Current(plan);
        return new Contents(plan, Tables(store, plan), Plots(store, plan), missing);
    }

    public static string Write(string studyFolder)
    {
        var contents = Read(studyFolder);
        var outDir = Path.Combine(studyFolder, Folder);
        var html = new StringBuilder();
        html.Append("<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>Salient study report</title><style>")
            .Append("body{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222}table{border-collapse:collapse;margin:1em 0}")
            .Append("td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}th{background:#f3f3f3}td:first-child{text-align:left}img{max-width:100%}")
            .Append($"</style></head><body><h1>Salient study report: {WebUtility.HtmlEncode(contents.Plan.Settings.Name)}</h1>")
            .Append("<details><summary>Study settings</summary><pre>").Append(WebUtility.HtmlEncode(contents.Plan.Settings.ToJson())).Append("</pre></details>");
        if (contents.Missing.Count > 0)
        {
            html.Append($"<h2>Cells not in this report ({contents.Missing.Count} of {contents.Plan.Cells.Count})</h2><ul>");
            foreach (var (cell, status, error) in contents.Missing)
                html.Append($"<li>{WebUtility.HtmlEncode(cell.Id)}: {WebUtility.HtmlEncode(status)}{(error is null ? "" : ": " + WebUtility.HtmlEncode(error))}</li>");
            html.Append("</ul>");
        }
        foreach (var table in contents.Tables)
        {
            AtomicFile.WriteAllText(Path.Combine(outDir, table.File + ".md"), table.ToMarkdown());
            AtomicFile.WriteAllText(Path.Combine(outDir, table.File + ".csv"), table.ToCsv());
            html.Append(table.ToHtml());
        }
        foreach (var plot in contents.Plots)
        {
            var png = plot.Png();
            AtomicFile.WriteAllBytes(Path.Combine(outDir, plot.File + ".png"), png);
            html.Append($"<h2>{WebUtility.HtmlEncode(plot.Title)}</h2><img src=\"data:image/png;base64,{Convert.ToBase64String(png)}\">");
        }
        using (var store = new ResultStore(studyFolder))
        {
            store.Current(contents.Plan);
            foreach (var (file, title) in SaliencyGrids(store, contents.Plan, outDir))
                html.Append($"<h2>{WebUtility.HtmlEncode(title)}</h2><img src=\"data:image/png;base64,{Convert.ToBase64String(File.ReadAllBytes(file))}\">");
        }
        html.Append("</body></html>");
        var index = Path.Combine(outDir, "index.html");
        AtomicFile.WriteAllText(index, html.ToString());
        return index;
    }

    /// <summary>Mean ± half-width of the 95% interval: over seeds when there are several, else over images.</summary>
    private static string MeanCi(IEnumerable<(long Seed, double Value)> values)
    {
        var list = values.ToList();
        if (list.Count == 0) return "–";
        var bySeed = list.GroupBy(v => v.Seed).Select(g => g.Average(x => x.Value)).ToList();
        var estimate = MeanEstimate.Of(bySeed.Count > 1 ? bySeed : list.Select(v => v.Value).ToList());
        return ReportNumbers.MeanCi(estimate.Mean, estimate.HalfWidth);
    }

    /// <summary>The mean over images per seed, then over seeds.</summary>
    private static double Mean(IEnumerable<(long Seed, double Value)> values)
    {
        var bySeed = values.GroupBy(v => v.Seed).Select(g => g.Average(x => x.Value)).ToList();
        return bySeed.Count == 0 ? double.NaN : bySeed.Average();
    }

    private static readonly string[] Flows = [PruningRecord.Pre, PruningRecord.PostFineTuned, PruningRecord.PostNotFineTuned];

    /// <summary>The report's tables; the store must have been restricted to the plan (<see cref="ResultStore.Current"/>).</summary>
    public static List<ReportTable> Tables(ResultStore store, StudyPlan plan)
    {
        var seeds = plan.Settings.Seeds.Length;
        var accuracy = store.Query("SELECT model, seed, accuracy, sparsity, correct, total FROM accuracy JOIN current USING(cell)",
            r => (Model: r.GetString(0), Seed: r.GetInt64(1), Acc: r.GetDouble(2), Sparsity: r.GetDouble(3), Correct: r.GetInt64(4), Total: r.GetInt64(5)));
        // With one seed the interval is over the test images: each image is a 0/1 outcome.
        IEnumerable<(long, double)> Outcomes(string model) => seeds > 1
            ? accuracy.Where(a => a.Model == model).Select(a => (a.Seed, a.Acc))
            : accuracy.Where(a => a.Model == model).SelectMany(a => Enumerable.Range(0, (int)a.Total).Select(i => (a.Seed, i < a.Correct ? 1.0 : 0.0)));
        var models = plan.Models.Where(m => accuracy.Any(a => a.Model == m.Name)).ToList();
        // Epochs each model's own training ran, per seed: fewer than the recipe's means the collapse guard stopped it.
        var epochsRun = store.Query("SELECT model, seed, MAX(epoch) FROM epochs JOIN current USING(cell) WHERE phase = 'train' GROUP BY model, seed",
            r => (Model: r.GetString(0), Seed: r.GetInt64(1), Epochs: r.GetInt64(2)));
        string Training(ModelPlan m)
        {
            var recipe = StudyPlan.RecipeFor(plan.Settings, m, 0);
            var how = recipe.Strategy == "adversarial" ? $"adversarial, {recipe.Attack.Describe()}" : "natural";
            if (m.Upstream is not null) return how + (m.Flow == PruningFlow.PostFineTune ? $"; fine-tuned {recipe.Epochs} epoch{(recipe.Epochs == 1 ? "" : "s")}" : "");
            var stopped = epochsRun.Where(e => e.Model == m.Name && e.Epochs < recipe.Epochs).ToList();
            return stopped.Count == 0 ? how
                : how + $"; stopped early (robust accuracy collapsed) after {string.Join(", ", stopped.Select(e => $"{e.Epochs} of {recipe.Epochs} epochs (seed {e.Seed})"))}";
        }
        var tables = new List<ReportTable>
        {
            new("accuracy", "Test accuracy", $"Accuracy on the test split (Tables 1, 2, 6 of the paper), mean ± 95% CI over {(seeds > 1 ? $"{seeds} seeds" : "the test images (one seed)")}; sparsity = share of zero weights in conv and linear layers; training = how the model was trained (the attack of the adversarial model).",
                ["model", "strategy / pruning", "flow", "accuracy", "weight sparsity", "training"],
                models.Select(m => new[]
                {
                    m.Name, m.MethodLabel, m.FlowLabel ?? "–",
                    MeanCi(Outcomes(m.Name)),
                    ReportNumbers.Plain(Mean(accuracy.Where(a => a.Model == m.Name).Select(a => (a.Seed, a.Sparsity))), 3),
                    Training(m),
                }).ToList()),
        };

        // Wall times stay in the results store: the report holds only what the same study computes again.
        var epochs = store.Query("SELECT model, seed, phase, epoch, loss, train_accuracy, test_accuracy, robust_accuracy FROM epochs JOIN current USING(cell) ORDER BY seed, epoch",
            r => new[]
            {
                r.GetString(0), r.GetInt64(1).ToString(CultureInfo.InvariantCulture), r.GetString(2), r.GetInt64(3).ToString(CultureInfo.InvariantCulture),
                ReportNumbers.Plain(r.GetDouble(4)), ReportNumbers.Plain(r.GetDouble(5)), ReportNumbers.Plain(r.GetDouble(6)),
                r.IsDBNull(7) ? "–" : ReportNumbers.Plain(r.GetDouble(7)),
            });
        tables.Add(new ReportTable("training", "Training per epoch",
            "Every epoch of every model's training (phase train) or fine-tuning: mean loss and accuracy on the training images as trained (augmented, attacked for the adversarial model), accuracy on the test split, and robust accuracy under the adversarial model's per-epoch check. The curves of training-loss.png and training-accuracy.png.",
            ["model", "seed", "phase", "epoch", "loss", "train accuracy", "test accuracy", "robust accuracy"],
            models.SelectMany(m => epochs.Where(e => e[0] == m.Name)).ToList(), Folded: true));

        var deviations = plan.Settings.DifferencesFromPaper();
        tables.Add(new ReportTable("deviations", "Deviations from the paper's protocol",
            deviations.Count == 0 ? "None: every setting is SPEC.md's." : "Every setting whose value differs from SPEC.md (the paper preset), with the reason the study gives.",
            ["setting", "paper", "this study", "why"], deviations.Select(d => new[] { d.Setting, d.Paper, d.Study, d.Why }).ToList()));

        var methods = plan.Settings.Explanations.Methods;
        foreach (var choice in plan.Settings.MetricChoices())
        {
            var metric = choice.Metric;
            var rows = store.Query("SELECT model, method, seed, key, value, image FROM scores JOIN current USING(cell) WHERE metric = $m",
                r => (Model: r.GetString(0), Method: r.IsDBNull(1) ? null : r.GetString(1), Seed: r.GetInt64(2), Key: r.GetString(3), Value: r.GetDouble(4), Image: r.GetInt64(5)), ("$m", metric.Name));
            if (rows.Count == 0) continue;
            string?[] columns = metric.Scope == MetricScope.Maps ? [.. methods] : [null];
            foreach (var summary in metric.Summaries)
            {
                var values = rows.Where(r => r.Key == summary.Key).ToList();
                var images = values.GroupBy(v => (v.Model, v.Method, v.Seed)).Select(g => g.Count()).DefaultIfEmpty(0).ToList();
                string better = summary.Direction == MetricDirection.HigherIsBetter ? "higher" : "lower";
                tables.Add(new ReportTable(summary.Key, summary.Title,
                    $"{metric.Description} Mean ± 95% CI over {(seeds > 1 ? $"{seeds} seeds" : "the scored images")}; {images.Min()}–{images.Max()} images per model{(metric.Scope == MetricScope.Maps ? " and method" : "")} and seed.",
                    ["model", .. columns.Select(c => c?.ToUpperInvariant() ?? summary.Title)],
                    models.Select(m => new[] { m.Name }.Concat(columns.Select(c => MeanCi(values.Where(v => v.Model == m.Name && v.Method == c).Select(v => (v.Seed, v.Value))))).ToArray()).ToList()));

                foreach (var method in columns)
                    tables.Add(DifferenceTable(summary, method, values.Where(v => v.Method == method).Select(v => new ImageScore(v.Model, v.Seed, v.Image, v.Value)).ToList(),
                        models, plan.Settings.Seeds.Select(s => (long)s).ToList(), plan.Settings.Report.Bootstrap));
            }
            if (metric is IMetricViews views) tables.AddRange(views.Tables(ViewInput(plan, models, rows.Select(r => (r.Model, r.Method, r.Seed, r.Key, r.Value)), metric)));
        }
        return tables;
    }

    /// <summary>
    /// The paper's Tables 3–5 and 7 for one summary and method: rows = strategy / pruning method,
    /// columns = flows, cells = score(model) − score(Nat) with a paired-bootstrap interval over the
    /// same test images (and seeds), marked * when the interval excludes 0.
    /// </summary>
    public static ReportTable DifferenceTable(MetricSummary summary, string? method, IReadOnlyList<ImageScore> scores, IReadOnlyList<ModelPlan> models,
        IReadOnlyList<long> seeds, BootstrapSettings bootstrap)
    {
        // One shared image index: the test images any model was scored on for this summary and method.
        var images = scores.Select(v => v.Image).Distinct().Order().Select((image, position) => (image, position)).ToDictionary(p => p.image, p => p.position);
        var seedIndex = seeds.Select((seed, position) => (seed, position)).ToDictionary(p => p.seed, p => p.position);
        double[][] PerSeed(string model)
        {
            var perSeed = seeds.Select(_ => Enumerable.Repeat(double.NaN, images.Count).ToArray()).ToArray();
            foreach (var v in scores.Where(v => v.Model == model))
                if (seedIndex.TryGetValue(v.Seed, out var s)) perSeed[s][images[v.Image]] = v.Value;
            return perSeed;
        }
        bool Scored(string model) => scores.Any(v => v.Model == model);
        var natural = PerSeed(StudyGrid.Natural);
        double naturalMean = Scored(StudyGrid.Natural) ? Mean(scores.Where(v => v.Model == StudyGrid.Natural).Select(v => (v.Seed, v.Value))) : double.NaN;
        string Diff(string model) => !Scored(model) || !Scored(StudyGrid.Natural) ? "–" : FormatDifference(PairedBootstrap.Difference(PerSeed(model), natural, bootstrap));

        var rows = new List<string[]>();
        foreach (var adversarial in models.Where(m => m.Strategy == "adversarial" && m.Flow is null))
            rows.Add([adversarial.Name, .. Flows.Select(f => f == "Pre" ? Diff(adversarial.Name) : "–")]);
        foreach (var label in models.Where(m => m.FlowLabel is not null).Select(m => m.MethodLabel).Distinct())
            rows.Add([label, .. Flows.Select(f => models.Any(m => m.MethodLabel == label && m.FlowLabel == f) ? Diff($"{label}-{f}") : "–")]);

        string better = summary.Direction == MetricDirection.HigherIsBetter ? "higher" : "lower";
        var perModel = models.Where(m => Scored(m.Name))
            .Select(m => $"{m.Name} {scores.Count(v => v.Model == m.Name) / (double)seeds.Count:0.#}");
        string level = (bootstrap.Level * 100).ToString("0.#", System.Globalization.CultureInfo.InvariantCulture);
        var note = $"{summary.Title}(model) − {summary.Title}(Nat), Nat = {ReportNumbers.Plain(naturalMean)}; {better} is better. An adversarial model has no flow; it is shown under Pre. " +
            $"In brackets: the {level}% interval of a paired bootstrap over the {images.Count} test images any model was scored on" +
            (seeds.Count > 1 ? $" and over the {seeds.Count} seeds" : " (one seed)") +
            $": each of {bootstrap.Resamples} resamples (seed {bootstrap.Seed}) draws the images{(seeds.Count > 1 ? " and the seeds" : "")} with replacement, one draw for every model, " +
            "and a model's score in it is the mean over its scored images among those drawn (per seed, then over seeds). " +
            $"* = the interval excludes 0. Images scored per model and seed: {string.Join(", ", perModel)}.";
        return new ReportTable(method is null ? $"{summary.Key}-difference" : $"{summary.Key}-difference-{method}",
            $"{(method is null ? "" : method.ToUpperInvariant() + ": ")}{summary.Title} difference to the natural model", note, ["", .. Flows], rows);
    }

    /// <summary>"d [low, high]", with a * when the interval excludes 0; digits follow the interval's width.</summary>
    private static string FormatDifference(DifferenceInterval d)
    {
        if (double.IsNaN(d.Difference)) return "–";
        if (double.IsNaN(d.Lower)) return ReportNumbers.Plain(d.Difference);
        // A constant difference resamples to itself up to rounding: no width.
        int digits = ReportNumbers.DigitsFor(d.HalfWidth < 1e-12 ? 0 : d.HalfWidth);
        return $"{ReportNumbers.Plain(d.Difference, digits)} [{ReportNumbers.Plain(d.Lower, digits)}, {ReportNumbers.Plain(d.Upper, digits)}]{(d.ExcludesZero ? "*" : "")}";
    }

    private static MetricViewInput ViewInput(StudyPlan plan, IReadOnlyList<ModelPlan> models, IEnumerable<(string Model, string? Method, long Seed, string Key, double Value)> rows, IExplanationMetric metric)
    {
        var summaryKeys = metric.Summaries.Select(s => s.Key).ToHashSet();
        var details = rows.Where(r => !summaryKeys.Contains(r.Key))
            .GroupBy(r => (r.Model, r.Method, r.Key))
            .Select(g => new DetailMean(g.Key.Model, g.Key.Method, g.Key.Key, Mean(g.Select(r => (r.Seed, r.Value))))).ToList();
        var settings = plan.Settings.MetricChoices().Single(c => c.Metric.Name == metric.Name).Settings;
        return new MetricViewInput(models.Select(m => m.Name).ToList(), plan.Settings.Explanations.Methods, details, StudyGrid.Natural, settings);
    }

    /// <summary>The metrics' own plots and each model's training curves.</summary>
    public static List<LinePlot> Plots(ResultStore store, StudyPlan plan)
    {
        var plots = new List<LinePlot>();
        var models = plan.Models;
        foreach (var choice in plan.Settings.MetricChoices().Where(c => c.Metric is IMetricViews))
        {
            var rows = store.Query("SELECT model, method, seed, key, value FROM scores JOIN current USING(cell) WHERE metric = $m",
                r => (Model: r.GetString(0), Method: r.IsDBNull(1) ? null : r.GetString(1), Seed: r.GetInt64(2), Key: r.GetString(3), Value: r.GetDouble(4)), ("$m", choice.Metric.Name));
            plots.AddRange(((IMetricViews)choice.Metric).Plots(ViewInput(plan, models, rows, choice.Metric)));
        }

        var epochs = store.Query("SELECT model, phase, epoch, AVG(loss), AVG(train_accuracy), AVG(test_accuracy) FROM epochs JOIN current USING(cell) GROUP BY model, phase, epoch ORDER BY epoch",
            r => (Model: r.GetString(0), Phase: r.GetString(1), Epoch: r.GetInt32(2), Loss: r.GetDouble(3), Train: r.GetDouble(4), Test: r.GetDouble(5)));
        var curves = models.SelectMany(m => epochs.Where(e => e.Model == m.Name).GroupBy(e => e.Phase)
            .Select(g => (Name: g.Key == "train" ? m.Name : $"{m.Name} ({g.Key})", Points: g.ToList()))).ToList();
        if (curves.Count > 0)
        {
            plots.Add(new LinePlot("training-loss", "Training loss per epoch", "epoch", "mean cross-entropy",
                curves.Select(c => (c.Name, c.Points.Select(p => (double)p.Epoch).ToArray(), c.Points.Select(p => p.Loss).ToArray())).ToList(), StudyGrid.Natural));
            plots.Add(new LinePlot("training-accuracy", "Test accuracy per epoch (training accuracy: training.csv)", "epoch", "test accuracy",
                curves.Select(c => (c.Name, c.Points.Select(p => (double)p.Epoch).ToArray(), c.Points.Select(p => p.Test).ToArray())).ToList(), StudyGrid.Natural, (0, 1.02)));
        }
        return plots;
    }

    /// <summary>One PNG per figure image: rows = models, columns = the input then each method's map (as figures show them).</summary>
    private static IEnumerable<(string File, string Title)> SaliencyGrids(ResultStore store, StudyPlan plan, string outDir)
    {
        var images = store.Query("SELECT image, class_name, height, width, pixels FROM figure_images JOIN current USING(cell) ORDER BY image",
            r => (Image: r.GetInt64(0), ClassName: r.GetString(1), H: r.GetInt32(2), W: r.GetInt32(3), Pixels: (byte[])r[4]));
        long seed = (long)plan.Settings.Seeds[0];
        // The test split's size (every model is evaluated on all of it) places an explained image in it.
        var testImages = store.Query("SELECT MAX(total) FROM accuracy JOIN current USING(cell)", r => r.IsDBNull(0) ? 0 : r.GetInt64(0)).Single();
        string Place(long image) => testImages == 0 ? $"explained image {image}"
            : $"test image {SignDataset.EvenlySpacedIndex((int)image, plan.Settings.Explanations.Images, (int)testImages)} (explained image {image})";
        var maps = store.Query("SELECT model, method, image, map FROM figure_maps JOIN current USING(cell) WHERE seed = $s",
            r => (Model: r.GetString(0), Method: r.GetString(1), Image: r.GetInt64(2), Map: (byte[])r[3]), ("$s", seed));
        var models = plan.Models.Select(m => m.Name).Where(m => maps.Any(x => x.Model == m)).ToList();
        var methods = plan.Settings.Explanations.Methods.Where(m => maps.Any(x => x.Method == m)).ToList();
        if (models.Count == 0) yield break;
        foreach (var img in images)
        {
            using var scope = NewDisposeScope();
            var pixels = tensor(MemoryMarshal.Cast<byte, float>(img.Pixels).ToArray(), [3, img.H, img.W]);
            var rows = models.Select(model => new SaliencyFigures.GridRow(model, pixels, methods.Select(method =>
            {
                var entry = maps.FirstOrDefault(m => m.Model == model && m.Method == method && m.Image == img.Image);
                return entry.Map is null ? null : SaliencyMap.ForDisplay(tensor(MemoryMarshal.Cast<byte, float>(entry.Map).ToArray(), [img.H, img.W]));
            }).ToList())).ToList();
            var file = Path.Combine(outDir, $"saliency-{img.Image}.png");
            SaliencyFigures.Grid(file, methods.Select(m => m.ToUpperInvariant()).ToList(), rows);
            yield return (file, $"Saliency maps of {Place(img.Image)}, {img.ClassName}, seed {seed}");
        }
    }
}
