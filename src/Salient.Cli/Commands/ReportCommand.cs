using System.CommandLine;
using Salient.Reporting;
using Salient.Studies;

namespace Salient.Cli.Commands;

internal static class ReportCommand
{
    public static Command Create()
    {
        var study = new Option<string>("--study") { Description = "Study folder", Required = true };
        var command = new Command("report", "Regenerate a study's report (tables, plots, saliency grids, HTML) from its results store, without recomputing") { study };
        command.SetAction(CommandRunner.Guard(parse =>
        {
            Console.WriteLine($"Report: {StudyReport.Write(parse.GetValue(study)!)}");
            return 0;
        }));
        return command;
    }
}
