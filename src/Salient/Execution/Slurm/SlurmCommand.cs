using System.ComponentModel;
using System.Diagnostics;

namespace Salient.Execution.Slurm;

/// <summary>
/// Runs one Slurm command (sbatch, squeue, sacct, scancel) as a process with an argument list, so
/// no shell ever re-parses a path or a job's arguments.
/// </summary>
internal static class SlurmCommand
{
    /// <summary>Slurm's commands retry an unreachable controller for a while; past this, give up.</summary>
    private static readonly TimeSpan Patience = TimeSpan.FromMinutes(2);

    internal sealed record Result(int ExitCode, string Output, string Error);

    /// <summary>Runs the command and returns its standard output; a non-zero exit is a <see cref="SalientException"/> with its stderr.</summary>
    public static string Output(string program, IReadOnlyList<string> arguments, string? input = null)
    {
        var result = Run(program, arguments, input);
        if (result.ExitCode != 0) throw Failure(program, arguments, result);
        return result.Output;
    }

    public static Result Run(string program, IReadOnlyList<string> arguments, string? input = null)
    {
        var start = new ProcessStartInfo(program)
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var argument in arguments) start.ArgumentList.Add(argument);
        Process process;
        try
        {
            process = Process.Start(start)!;
        }
        catch (Win32Exception e)
        {
            throw new SalientException($"'{program}' was not found: Slurm's commands must be on the PATH of the machine that submits the jobs (a cluster's login node).", e);
        }
        using (process)
        {
            var output = process.StandardOutput.ReadToEndAsync();
            var error = process.StandardError.ReadToEndAsync();
            try
            {
                if (input is not null) process.StandardInput.Write(input);
                process.StandardInput.Close();
            }
            catch (IOException)
            {
                // The command ended before reading its input (e.g. sbatch refusing an option): its stderr says why.
            }
            if (!process.WaitForExit(Patience))
            {
                process.Kill(entireProcessTree: true);
                process.WaitForExit();
                throw new SalientException($"'{Display(program, arguments)}' did not finish within {Patience.TotalSeconds:0} s; check that the Slurm controller is reachable ('scontrol ping').");
            }
            return new Result(process.ExitCode, output.Result, error.Result);
        }
    }

    public static SalientException Failure(string program, IReadOnlyList<string> arguments, Result result)
    {
        var stderr = string.Join(" ", result.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        if (stderr.Length == 0) stderr = "no message";
        return new SalientException($"'{Display(program, arguments)}' failed (exit code {result.ExitCode}): {stderr}");
    }

    /// <summary>The command as a person would type it, for messages only (it is never run through a shell).</summary>
    private static string Display(string program, IReadOnlyList<string> arguments) =>
        string.Join(" ", arguments.Prepend(program).Select(a =>
            a.Length > 0 && a.All(c => char.IsAsciiLetterOrDigit(c) || "-_=:,./@%+".Contains(c)) ? a : "'" + a.Replace("'", "'\\''") + "'"));
}
