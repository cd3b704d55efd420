using System.CommandLine;
using Salient.Cli;
using Salient.Cli.Commands;

var root = new RootCommand("Salient: train traffic-sign classifiers naturally, adversarially or pruned, explain them with gradient saliency maps, and measure how sparse and faithful the maps are.");
foreach (var command in new System.CommandLine.Command[]
{
    DataCommand.Create(),
    TrainCommand.Create(),
    EvaluateCommand.Create(),
})
    root.Add(command);

return CommandRunner.Run(root, args);
