using Salient.Cli;

namespace Salient.Tests.Cli;

[CollectionDefinition("Console", DisableParallelization = true)]
public sealed class ConsoleCollection;

/// <summary>Runs the salient command in-process, capturing what it prints.</summary>
public static class CliRunner
{
    private static readonly object Gate = new();

    public static (int Exit, string Out, string Err) Run(params string[] args)
    {
        lock (Gate)
        {
            var (oldOut, oldErr) = (Console.Out, Console.Error);
            var (o, e) = (new StringWriter(), new StringWriter());
            Console.SetOut(o);
            Console.SetError(e);
            try
            {
                int exit = CommandRunner.Run(SalientCli.BuildRoot(), args);
                return (exit, o.ToString(), e.ToString());
            }
            finally
            {
                Console.SetOut(oldOut);
                Console.SetError(oldErr);
            }
        }
    }
}
