using System.CommandLine;
using Spectre.Console;

namespace Salient.Cli;

/// <summary>Runs a parsed command line; user errors print one sentence and exit 2, no stack trace.</summary>
public static class CommandRunner
{
    public const int UserError = 2;

    public static int Run(RootCommand root, string[] args)
    {
        try
        {
            return root.Parse(args).Invoke();
        }
        catch (SalientException e)
        {
            ReportError(e.Message);
            return UserError;
        }
    }

    /// <summary>Wraps a verb's body so a <see cref="SalientException"/> becomes a clean message and exit code.</summary>
    public static Func<ParseResult, int> Guard(Func<ParseResult, int> body) => parse =>
    {
        try
        {
            return body(parse);
        }
        catch (SalientException e)
        {
            ReportError(e.Message);
            return UserError;
        }
    };

    private static void ReportError(string message) =>
        Console.Error.WriteLine($"error: {message}");
}
