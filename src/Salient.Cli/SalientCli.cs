using System.CommandLine;
using Salient.Cli.Commands;

namespace Salient.Cli;

public static class SalientCli
{
    /// <summary>The whole command tree; every verb lives in its own file under Commands/.</summary>
    public static RootCommand BuildRoot()
    {
        var root = new RootCommand("Salient: train traffic-sign classifiers naturally, adversarially or pruned, explain them with gradient saliency maps, and measure how sparse and faithful the maps are.");
        foreach (var command in new Command[]
        {
            DataCommand.Create(),
            TrainCommand.Create(),
            EvaluateCommand.Create(),
            PruneCommand.Create(),
            StudyCommand.Create(),
            ResultsCommand.Create(),
            ReportCommand.Create(),
            ExplainCommand.Create(),
            FigureCommand.Create(),
            EvaluateExplanationsCommand.Create(),
            ImportCommand.Create(),
            ExportCommand.Create(),
            InspectCommand.Create(),
        })
            root.Add(command);
        return root;
    }
}
