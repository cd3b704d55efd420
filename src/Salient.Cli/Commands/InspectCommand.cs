using System.CommandLine;
using Salient.Reporting;
using Salient.Workflows;

namespace Salient.Cli.Commands;

/// <summary>`salient inspect`: what a checkpoint holds and how it was made.</summary>
internal static class InspectCommand
{
    public static Command Create()
    {
        var checkpoint = new Option<string>("--checkpoint") { Description = "Checkpoint (.safetensors) to describe", Required = true };
        var command = new Command("inspect", "Describe a checkpoint: model, classes, normalisation, training and pruning records, weights, whether training can resume") { checkpoint };
        command.SetAction(CommandRunner.Guard(parse =>
        {
            var rows = CheckpointDescription.Describe(parse.GetValue(checkpoint)!);
            TerminalTables.Write(new ReportTable("checkpoint", "Checkpoint", "", ["", "what it holds"], rows.Select(r => new[] { r.What, r.Value }).ToList()));
            return 0;
        }));
        return command;
    }
}
