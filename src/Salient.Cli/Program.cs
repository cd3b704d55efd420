using System.CommandLine;
using Salient.Cli;

var root = new RootCommand("Salient: train traffic-sign classifiers naturally, adversarially or pruned, explain them with gradient saliency maps, and measure how sparse and faithful the maps are.");
foreach (var command in new System.CommandLine.Command[]
{
    Salient.Cli.Commands.PruneCommand.Create(),
})
    root.Add(command);

return CommandRunner.Run(root, args);
