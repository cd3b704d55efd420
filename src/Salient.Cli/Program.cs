using Salient;
using Salient.Cli;
using Salient.Models;

try
{
    ComputeDevice.Configure();
}
catch (SalientException e)
{
    Console.Error.WriteLine($"error: {e.Message}");
    return CommandRunner.UserError;
}
return CommandRunner.Run(SalientCli.BuildRoot(), args);
