using Salient.Cli;

return CommandRunner.Run(SalientCli.BuildRoot(), args);
