using System.CommandLine;
using Salient.Reporting;
using Salient.Studies;
using Spectre.Console;

namespace Salient.Cli.Commands;

internal static class ResultsCommand
{
    public static Command Create()
    {
        var study = new Option<string>("--study") { Description = "Study folder", Required = true };
        var command = new Command("results", "Print a study's tables from its results store") { study };
        command.SetAction(CommandRunner.Guard(parse =>
        {
            Print(parse.GetValue(study)!);
            return 0;
        }));
        return command;
    }

    public static void Print(string folder)
    {
        var db = Path.Combine(folder, StudyRunner.DatabaseFile);
        if (!File.Exists(db)) throw new SalientException($"'{folder}' has no {StudyRunner.DatabaseFile}; run 'salient study --out {folder}' first.");
        using var store = new ResultStore(db);
        // Redirected output has no terminal width; 80 columns would fold the ROAD tables (one column per percentage).
        if (Console.IsOutputRedirected) AnsiConsole.Profile.Width = Math.Max(AnsiConsole.Profile.Width, 160);
        foreach (var t in StudyReport.Tables(store))
        {
            var table = new Table { Title = new TableTitle(Markup.Escape(t.Title)) };
            foreach (var h in t.Header) table.AddColumn(Markup.Escape(h));
            foreach (var r in t.Rows) table.AddRow(r.Select(Markup.Escape).ToArray());
            AnsiConsole.Write(table);
        }
    }
}
