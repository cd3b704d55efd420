using System.CommandLine;
using Salient.Reporting;

namespace Salient.Cli.Commands;

internal static class ResultsCommand
{
    public static Command Create()
    {
        var study = new Option<string>("--study") { Description = "Study folder", Required = true };
        var command = new Command("results", "Print a study's tables from its results store (cells of its current settings only)") { study };
        command.SetAction(CommandRunner.Guard(parse =>
        {
            Print(parse.GetValue(study)!);
            return 0;
        }));
        return command;
    }

    public static void Print(string folder)
    {
        var contents = StudyReport.Read(folder);
        foreach (var table in contents.Tables) TerminalTables.Write(table);
        if (contents.Missing.Count > 0)
        {
            Console.WriteLine($"{contents.Missing.Count} of {contents.Plan.Cells.Count} cells are not in these tables:");
            foreach (var (cell, status, error) in contents.Missing)
                Console.WriteLine($"  {cell.Id}: {status}{(error is null ? "" : ": " + error)}");
        }
    }
}
