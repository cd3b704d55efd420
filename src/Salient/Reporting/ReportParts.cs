using System.Globalization;
using System.Net;
using System.Text;
using Salient.Evaluation;

namespace Salient.Reporting;

/// <summary>
/// A titled grid of cells, rendered as Markdown, CSV, HTML and in the terminal. A folded table (a long
/// listing, for reading in its CSV) is closed in the HTML page until clicked.
/// </summary>
public sealed record ReportTable(string File, string Title, string Note, string[] Header, List<string[]> Rows, bool Folded = false)
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
        var sb = new StringBuilder(Folded ? $"<details><summary><b>{WebUtility.HtmlEncode(Title)}</b> ({Rows.Count} rows)</summary>" : "")
            .Append($"<h2>{WebUtility.HtmlEncode(Title)}</h2><p>{WebUtility.HtmlEncode(Note)}</p><table><tr>");
        foreach (var h in Header) sb.Append("<th>").Append(WebUtility.HtmlEncode(h)).Append("</th>");
        sb.Append("</tr>");
        foreach (var r in Rows)
        {
            sb.Append("<tr>");
            foreach (var c in r) sb.Append("<td>").Append(WebUtility.HtmlEncode(c)).Append("</td>");
            sb.Append("</tr>");
        }
        return sb.Append(Folded ? "</table></details>" : "</table>").ToString();
    }
}

/// <summary>
/// A line plot: one series per model (the natural model drawn thicker). The palette's colours repeat
/// past its size (ten), so the lines after those are dashed: no two lines of a study's 11 or 12 models look alike.
/// </summary>
public sealed record LinePlot(string File, string Title, string XLabel, string YLabel, IReadOnlyList<(string Name, double[] X, double[] Y)> Series,
    string? Emphasis = null, (double Low, double High)? YRange = null)
{
    public byte[] Png(int width = 720, int height = 460)
    {
        var plot = new ScottPlot.Plot();
        int colours = plot.Add.Palette.Colors.Length, drawn = 0;
        foreach (var (name, x, y) in Series)
        {
            var line = plot.Add.Scatter(x, y);
            line.LegendText = name;
            if (name == Emphasis) line.LineWidth = 3;
            if (drawn++ >= colours) line.LinePattern = ScottPlot.LinePattern.Dashed;
        }
        plot.Title(Title);
        plot.XLabel(XLabel);
        plot.YLabel(YLabel);
        if (YRange is { } r) plot.Axes.SetLimitsY(r.Low, r.High);
        plot.ShowLegend(ScottPlot.Edge.Right);
        return plot.GetImageBytes(width, height, ScottPlot.ImageFormat.Png);
    }
}

/// <summary>Numbers as the tables print them: no more digits than the uncertainty supports.</summary>
public static class ReportNumbers
{
    public static string Plain(double v, int digits = 4) => double.IsNaN(v) ? "–" : v.ToString("F" + digits, CultureInfo.InvariantCulture);

    /// <summary>Digits after the point that show the half-width with two significant digits (1 to 6).</summary>
    public static int DigitsFor(double halfWidth) =>
        double.IsNaN(halfWidth) || halfWidth <= 0 ? 4 : Math.Clamp(1 - (int)Math.Floor(Math.Log10(halfWidth)), 1, 6);

    public static string MeanCi(double mean, double halfWidth) =>
        double.IsNaN(halfWidth) ? Plain(mean) : $"{Plain(mean, DigitsFor(halfWidth))} ± {Plain(halfWidth, DigitsFor(halfWidth))}";
}
