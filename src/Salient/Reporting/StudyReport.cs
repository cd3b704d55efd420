using System.Globalization;
using System.Net;
using System.Runtime.InteropServices;
using System.Text;
using Salient.Evaluation;
using Salient.Studies;
using static TorchSharp.torch;

namespace Salient.Reporting;

/// <summary>
/// The study's tables (Markdown and CSV), ROAD curves and saliency grids (PNG) and one
/// self-contained HTML page, made from the results store alone, so it can be regenerated at any
/// time without recomputing.
/// </summary>
public static class StudyReport
{
    public const string Folder = "report";

    public static string Write(string studyFolder)
    {
        var db = Path.Combine(studyFolder, StudyRunner.DatabaseFile);
        if (!File.Exists(db))
            throw new SalientException($"'{studyFolder}' has no {StudyRunner.DatabaseFile}; run 'salient study' there first.");
        using var store = new ResultStore(db);
        var outDir = Path.Combine(studyFolder, Folder);
        Directory.CreateDirectory(outDir);
        var tables = Tables(store);
        var html = new StringBuilder();
        html.Append("<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>Salient study report</title><style>")
            .Append("body{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222}table{border-collapse:collapse;margin:1em 0}")
            .Append("td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}th{background:#f3f3f3}td:first-child{text-align:left}img{max-width:100%}")
            .Append("</style></head><body><h1>Salient study report</h1>");
        var settingsPath = Path.Combine(studyFolder, StudyRunner.SettingsFile);
        if (File.Exists(settingsPath))
            html.Append("<details><summary>Study settings</summary><pre>").Append(WebUtility.HtmlEncode(File.ReadAllText(settingsPath))).Append("</pre></details>");

        foreach (var table in tables)
        {
            AtomicFile.WriteAllText(Path.Combine(outDir, table.File + ".md"), table.ToMarkdown());
            AtomicFile.WriteAllText(Path.Combine(outDir, table.File + ".csv"), table.ToCsv());
            html.Append(table.ToHtml());
        }

        foreach (var (file, title) in RoadPlots(store, outDir))
            html.Append($"<h2>{WebUtility.HtmlEncode(title)}</h2><img src=\"data:image/png;base64,{Convert.ToBase64String(File.ReadAllBytes(file))}\">");
        foreach (var (file, title) in SaliencyGrids(store, outDir))
            html.Append($"<h2>{WebUtility.HtmlEncode(title)}</h2><img src=\"data:image/png;base64,{Convert.ToBase64String(File.ReadAllBytes(file))}\">");

        var failed = store.Cells().Where(c => c.Status != "done").ToList();
        if (failed.Count > 0)
        {
            html.Append("<h2>Failed cells</h2><ul>");
            foreach (var c in failed) html.Append($"<li>{WebUtility.HtmlEncode(c.Cell)}: {WebUtility.HtmlEncode(c.Error ?? "")}</li>");
            html.Append("</ul>");
        }
        html.Append("</body></html>");
        var index = Path.Combine(outDir, "index.html");
        AtomicFile.WriteAllText(index, html.ToString());
        return index;
    }

    /// <summary>A titled grid of cells, rendered as Markdown, CSV and HTML.</summary>
    public sealed record Table(string File, string Title, string Note, string[] Header, List<string[]> Rows)
    {
        public string ToMarkdown()
        {
            var sb = new StringBuilder($"## {Title}\n\n{Note}\n\n| {string.Join(" | ", Header)} |\n|{string.Concat(Header.Select(_ => "---|"))}\n");
            foreach (var r in Rows) sb.Append("| ").Append(string.Join(" | ", r)).Append(" |\n");
            return sb.ToString();
        }

        public string ToCsv() => string.Join("\n", new[] { Header }.Concat(Rows).Select(r => string.Join(",", r.Select(ClassificationReport.CsvQuote)))) + "\n";

        public string ToHtml()
        {
            var sb = new StringBuilder($"<h2>{WebUtility.HtmlEncode(Title)}</h2><p>{WebUtility.HtmlEncode(Note)}</p><table><tr>");
            foreach (var h in Header) sb.Append("<th>").Append(WebUtility.HtmlEncode(h)).Append("</th>");
            sb.Append("</tr>");
            foreach (var r in Rows)
            {
                sb.Append("<tr>");
                foreach (var c in r) sb.Append("<td>").Append(WebUtility.HtmlEncode(c)).Append("</td>");
                sb.Append("</tr>");
            }
            return sb.Append("</table>").ToString();
        }
    }

    private static string F(double v, int digits = 4) => double.IsNaN(v) ? "–" : v.ToString("F" + digits, CultureInfo.InvariantCulture);

    /// <summary>Mean ± half-width of the 95% interval: over seeds when there are several, else over images.</summary>
    private static string MeanCi(IEnumerable<(long Seed, double Value)> values, int digits = 4)
    {
        var list = values.ToList();
        if (list.Count == 0) return "–";
        var bySeed = list.GroupBy(v => v.Seed).Select(g => g.Average(x => x.Value)).ToList();
        var estimate = MeanEstimate.Of(bySeed.Count > 1 ? bySeed : list.Select(v => v.Value).ToList());
        return double.IsNaN(estimate.HalfWidth) ? F(estimate.Mean, digits) : $"{F(estimate.Mean, digits)} ± {F(estimate.HalfWidth, digits)}";
    }

    private static double Mean(IEnumerable<(long Seed, double Value)> values)
    {
        var bySeed = values.GroupBy(v => v.Seed).Select(g => g.Average(x => x.Value)).ToList();
        return bySeed.Count == 0 ? double.NaN : bySeed.Average();
    }

    public static List<Table> Tables(ResultStore store)
    {
        var models = store.Query("SELECT model, method_label, flow_label, MIN(rowid) FROM accuracy GROUP BY model ORDER BY MIN(rowid)",
            r => (Model: r.GetString(0), Method: r.GetString(1), Flow: r.IsDBNull(2) ? null : r.GetString(2)));
        var methods = store.Query("SELECT DISTINCT method FROM gini ORDER BY CASE method WHEN 'vg' THEN 0 WHEN 'ig' THEN 1 WHEN 'sg' THEN 2 ELSE 3 END", r => r.GetString(0));
        var accuracy = store.Query("SELECT model, seed, accuracy, sparsity FROM accuracy", r => (Model: r.GetString(0), Seed: r.GetInt64(1), Acc: r.GetDouble(2), Sparsity: r.GetDouble(3)));
        var gini = store.Query("SELECT model, method, seed, value FROM gini", r => (Model: r.GetString(0), Method: r.GetString(1), Seed: r.GetInt64(2), Value: r.GetDouble(3)));
        var gradNorm = store.Query("SELECT model, seed, value FROM grad_norm", r => (Model: r.GetString(0), Seed: r.GetInt64(1), Value: r.GetDouble(2)));
        var road = store.Query("SELECT model, method, seed, ordering, percentage, AVG(correct), COUNT(*) FROM road GROUP BY model, method, seed, ordering, percentage",
            r => (Model: r.GetString(0), Method: r.GetString(1), Seed: r.GetInt64(2), Order: r.GetString(3), Pct: r.GetDouble(4), Acc: r.GetDouble(5), N: r.GetInt64(6)));

        var tables = new List<Table>();
        tables.Add(new Table("accuracy", "Test accuracy", "Accuracy on the test split (Tables 1, 2, 6 of the paper); sparsity = share of zero weights in conv and linear layers.",
            ["model", "strategy / pruning", "flow", "accuracy", "weight sparsity", "gradient norm"],
            models.Select(m => new[]
            {
                m.Model, m.Method, m.Flow ?? "–",
                MeanCi(accuracy.Where(a => a.Model == m.Model).Select(a => (a.Seed, a.Acc))),
                F(Mean(accuracy.Where(a => a.Model == m.Model).Select(a => (a.Seed, a.Sparsity))), 3),
                MeanCi(gradNorm.Where(g => g.Model == m.Model).Select(g => (g.Seed, g.Value)), 3),
            }).ToList()));

        tables.Add(new Table("gini", "Gini index of the saliency maps", "Mean Gini over correctly classified explained test images ± 95% CI (higher = sparser).",
            ["model", .. methods.Select(m => m.ToUpperInvariant())],
            models.Select(m => new[] { m.Model }.Concat(methods.Select(x => MeanCi(gini.Where(g => g.Model == m.Model && g.Method == x).Select(g => (g.Seed, g.Value))))).ToArray()).ToList()));

        // Tables 3–5 and 7: one per method, rows = strategy/pruning method, columns = flows, cells = Gini − Gini(Nat).
        var flows = new[] { "Pre", "Post-FT", "Post-noFT" };
        foreach (var method in methods)
        {
            double natural = Mean(gini.Where(g => g.Model == StudyGrid.Natural && g.Method == method).Select(g => (g.Seed, g.Value)));
            var rows = new List<string[]>();
            if (models.Any(m => m.Model == StudyGrid.Adversarial))
                rows.Add(["Adv", .. flows.Select(f => f == "Pre" ? Diff(StudyGrid.Adversarial) : "–")]);
            foreach (var label in models.Where(m => m.Flow is not null).Select(m => m.Method).Distinct())
                rows.Add([label, .. flows.Select(f => models.Any(m => m.Method == label && m.Flow == f) ? Diff($"{label}-{f}") : "–")]);
            tables.Add(new Table($"gini-difference-{method}", $"{method.ToUpperInvariant()}: Gini difference to the natural model",
                $"Gini(model) − Gini(Nat) = {(double.IsNaN(natural) ? "–" : F(natural))}; positive = sparser than natural. The adversarial model has no flow; it is shown under Pre.",
                ["", .. flows], rows));

            string Diff(string model) => F(Mean(gini.Where(g => g.Model == model && g.Method == method).Select(g => (g.Seed, g.Value))) - natural);
        }

        var pcts = road.Select(r => r.Pct).Distinct().Order().ToArray();
        foreach (var order in new[] { "morf", "lerf" })
            tables.Add(new Table($"road-{order}", $"ROAD {order.ToUpperInvariant()}: accuracy after imputing pixels",
                order == "morf" ? "Most relevant pixels removed first: a faster drop (smaller area) = a more faithful map." : "Least relevant pixels removed first: a slower drop (larger area) = a more faithful map.",
                ["model", "method", .. pcts.Select(p => $"{p:0}%"), "area"],
                (from m in models from x in methods
                 let curve = pcts.Select(p => Mean(road.Where(r => r.Model == m.Model && r.Method == x && r.Order == order && r.Pct == p).Select(r => (r.Seed, r.Acc)))).ToArray()
                 where curve.Any(c => !double.IsNaN(c))
                 select new[] { m.Model, x.ToUpperInvariant() }.Concat(curve.Select(c => F(c, 3))).Append(F(curve.Average(), 3)).ToArray()).ToList()));
        return tables;
    }

    private static IEnumerable<(string File, string Title)> RoadPlots(ResultStore store, string outDir)
    {
        var road = store.Query("SELECT model, method, ordering, percentage, AVG(correct) FROM road GROUP BY model, method, ordering, percentage ORDER BY percentage",
            r => (Model: r.GetString(0), Method: r.GetString(1), Order: r.GetString(2), Pct: r.GetDouble(3), Acc: r.GetDouble(4)));
        var modelOrder = store.Query("SELECT model FROM accuracy GROUP BY model ORDER BY MIN(rowid)", r => r.GetString(0));
        foreach (var method in road.Select(r => r.Method).Distinct())
            foreach (var order in new[] { "morf", "lerf" })
            {
                var plot = new ScottPlot.Plot();
                foreach (var model in modelOrder)
                {
                    var points = road.Where(r => r.Method == method && r.Order == order && r.Model == model).ToList();
                    if (points.Count == 0) continue;
                    var line = plot.Add.Scatter(points.Select(p => p.Pct).ToArray(), points.Select(p => p.Acc).ToArray());
                    line.LegendText = model;
                    if (model == StudyGrid.Natural) line.LineWidth = 3;
                }
                var title = $"ROAD {order.ToUpperInvariant()}, {method.ToUpperInvariant()} maps";
                plot.Title(title);
                plot.XLabel(order == "morf" ? "% most relevant pixels removed" : "% least relevant pixels removed");
                plot.YLabel("accuracy");
                plot.Axes.SetLimitsY(0, 1.02);
                plot.ShowLegend(ScottPlot.Edge.Right);
                var file = Path.Combine(outDir, $"road-{order}-{method}.png");
                AtomicFile.WriteAllBytes(file, plot.GetImageBytes(720, 460, ScottPlot.ImageFormat.Png));
                yield return (file, title);
            }
    }

    /// <summary>One PNG per figure image: rows = models, columns = the input then each method's map.</summary>
    private static IEnumerable<(string File, string Title)> SaliencyGrids(ResultStore store, string outDir)
    {
        var images = store.Query("SELECT image, class_name, height, width, pixels FROM figure_images WHERE seed = 0 ORDER BY image",
            r => (Image: r.GetInt64(0), ClassName: r.GetString(1), H: r.GetInt32(2), W: r.GetInt32(3), Pixels: (byte[])r[4]));
        var seed = store.Query("SELECT MIN(seed) FROM figure_maps", r => r.IsDBNull(0) ? 0L : r.GetInt64(0)).FirstOrDefault();
        var maps = store.Query("SELECT model, method, image, map FROM figure_maps WHERE seed = $s", r => (Model: r.GetString(0), Method: r.GetString(1), Image: r.GetInt64(2), Map: (byte[])r[3]), ("$s", seed));
        var models = store.Query("SELECT model FROM accuracy GROUP BY model ORDER BY MIN(rowid)", r => r.GetString(0)).Where(m => maps.Any(x => x.Model == m)).ToList();
        var methods = maps.Select(m => m.Method).Distinct().OrderBy(m => Array.IndexOf(new[] { "vg", "ig", "sg" }, m)).ToList();
        if (models.Count == 0) yield break;
        foreach (var img in images)
        {
            using var scope = NewDisposeScope();
            var pixels = tensor(MemoryMarshal.Cast<byte, float>(img.Pixels).ToArray(), [3, img.H, img.W]);
            var rows = models.Select(model => new SaliencyFigures.GridRow(model, pixels, methods.Select(method =>
            {
                var entry = maps.FirstOrDefault(m => m.Model == model && m.Method == method && m.Image == img.Image);
                return entry.Map is null ? null : tensor(MemoryMarshal.Cast<byte, float>(entry.Map).ToArray(), [img.H, img.W]);
            }).ToList())).ToList();
            var file = Path.Combine(outDir, $"saliency-{img.Image}.png");
            SaliencyFigures.Grid(file, methods.Select(m => m.ToUpperInvariant()).ToList(), rows);
            yield return (file, $"Saliency maps of test image {img.Image} ({img.ClassName})");
        }
    }
}
