using Salient.Cli;
using Salient.Reporting;
using Spectre.Console;

namespace Salient.Tests.Cli;

public class TerminalTablesTests
{
    [Theory]
    [InlineData(80)]
    [InlineData(50)]
    [InlineData(200)]
    public void AWideTableFitsTheTerminalAndNoNumberIsSplit(int width)
    {
        var percentages = Enumerable.Range(1, 9).Select(p => $"{p * 10}% removed").ToArray();
        var rows = new[] { "Nat", "Layered-Post-noFT" }.SelectMany(m => new[] { "VG", "IG", "SG" }.Select(x =>
            new[] { m, x }.Concat(Enumerable.Range(1, 9).Select(p => $"0.{p}2{p}")).Append("0.528 ± 0.013").ToArray())).ToList();
        var table = new ReportTable("road-morf", "ROAD MoRF", "", ["model", "method", .. percentages, "area"], rows);

        var output = new StringWriter();
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(output), Ansi = AnsiSupport.No, ColorSystem = ColorSystemSupport.NoColors });
        console.Profile.Width = width;
        TerminalTables.Write(table, console);
        var lines = output.ToString().Split('\n');

        Assert.All(lines, l => Assert.True(l.TrimEnd('\r').Length <= width, $"line of {l.Length} characters: {l}"));
        foreach (var cell in rows.SelectMany(r => r).Concat(percentages))
            Assert.Contains(cell, output.ToString());
        // Every part repeats the label columns, so each value can be read against its model and method.
        int parts = lines.Count(l => l.Contains("│ model"));
        Assert.Equal(parts, lines.Count(l => l.Contains("│ method") || l.Contains("│ model             │ method")));
        Assert.True(width >= 200 ? parts == 1 : parts > 1);
    }

    [Fact]
    public void AFoldedTableIsNamedNotPrinted()
    {
        var rows = Enumerable.Range(1, 200).Select(e => new[] { "Nat", "0", "train", $"{e}", "0.1234" }).ToList();
        var table = new ReportTable("training", "Training per epoch", "", ["model", "seed", "phase", "epoch", "loss"], rows, Folded: true);
        var output = new StringWriter();
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(output), Ansi = AnsiSupport.No, ColorSystem = ColorSystemSupport.NoColors });
        console.Profile.Width = 200;
        TerminalTables.Write(table, console);
        Assert.Equal("Training per epoch: 200 rows in the report's training.csv ('salient report' writes it).", output.ToString().Trim());
    }
}
