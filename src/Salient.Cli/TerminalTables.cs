using Salient.Reporting;
using Spectre.Console;

namespace Salient.Cli;

/// <summary>
/// Prints report tables in the terminal so that no number is ever split across lines: columns never
/// wrap, and a table wider than the terminal is printed in parts, each repeating the label columns.
/// </summary>
public static class TerminalTables
{
    public static void Write(ReportTable table, IAnsiConsole? console = null)
    {
        console ??= AnsiConsole.Console;
        if (table.Folded)
        {
            // A long listing is for its CSV, not for the terminal.
            console.WriteLine($"{table.Title}: {table.Rows.Count} rows in the report's {table.File}.csv ('salient report' writes it).");
            console.WriteLine();
            return;
        }
        // Redirected output (a file, a pipe) has no terminal width: lay tables out for 160 columns.
        if (console == AnsiConsole.Console && Console.IsOutputRedirected && console.Profile.Width < 160) console.Profile.Width = 160;
        int available = Math.Max(40, console.Profile.Width);
        // Numbers never wrap; a column of long text (a reason, a path) wraps at this width instead.
        const int textWidth = 40;
        bool[] text = Enumerable.Range(0, table.Header.Length)
            .Select(c => table.Rows.Any(r => c < r.Length && r[c].Length > textWidth && r[c].Contains(' ') && !LooksNumeric(r[c]))).ToArray();
        int[] widths = Enumerable.Range(0, table.Header.Length)
            .Select(c => text[c] ? textWidth : table.Rows.Select(r => c < r.Length ? r[c].Length : 0).Append(table.Header[c].Length).Max()).ToArray();
        // Label columns: the leading columns that are not numbers (model, method, ...), repeated in every part.
        int labels = 0;
        while (labels < table.Header.Length - 1 && table.Rows.All(r => !LooksNumeric(r[labels]))) labels++;
        labels = Math.Max(1, labels);
        const int border = 3; // "│ " before a cell and the space after it
        var parts = new List<List<int>>();
        var part = new List<int>();
        int used = widths.Take(labels).Sum(w => w + border) + 1;
        for (int c = labels; c < widths.Length; c++)
        {
            if (part.Count > 0 && used + widths[c] + border > available)
            {
                parts.Add(part);
                part = [];
                used = widths.Take(labels).Sum(w => w + border) + 1;
            }
            part.Add(c);
            used += widths[c] + border;
        }
        parts.Add(part);

        for (int p = 0; p < parts.Count; p++)
        {
            var columns = Enumerable.Range(0, labels).Concat(parts[p]).ToList();
            var title = parts.Count > 1 ? $"{table.Title} ({p + 1}/{parts.Count})" : table.Title;
            var t = new Table { Title = new TableTitle(Markup.Escape(title)) };
            foreach (var c in columns)
            {
                var column = new TableColumn(Markup.Escape(table.Header[c]));
                t.AddColumn(text[c] ? column.Width(textWidth) : column.NoWrap());
            }
            foreach (var r in table.Rows) t.AddRow(columns.Select(c => Markup.Escape(c < r.Length ? r[c] : "")).ToArray());
            console.Write(t);
        }
    }

    private static bool LooksNumeric(string cell) =>
        cell.Length > 0 && (char.IsDigit(cell[0]) || (cell[0] is '-' or '–' or '+' && (cell.Length == 1 || char.IsDigit(cell[1]))));
}
