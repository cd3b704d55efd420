using System.ComponentModel;
using System.Diagnostics;
using Salient.Execution.Slurm;

namespace Salient.Tests.Execution;

/// <summary>
/// A test that needs the one-node Slurm of .ci/slurm-up; elsewhere (a laptop without Slurm) it is
/// skipped with one sentence saying why and how to start it.
/// </summary>
public sealed class SlurmFactAttribute : FactAttribute
{
    public SlurmFactAttribute()
    {
        if (TestCluster.Unavailable is { } why) Skip = why;
    }
}

/// <summary>The one-node Slurm that .ci/slurm-up starts: cluster "salient-test", node "localhost", partition "debug".</summary>
public static class TestCluster
{
    public const string Node = "localhost";
    public const string ClusterName = "salient-test";
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    /// <summary>Small jobs that fit the test node (2 CPUs, 4 GB); the comment shows extra arguments reach sbatch.</summary>
    public static readonly SlurmSettings Settings = new()
    {
        Partition = "debug",
        TimeLimit = "5",
        CpusPerTask = 1,
        Memory = "100M",
        ExtraArguments = ["--comment=salient-test"],
    };

    private static readonly Lazy<string?> WhyUnavailable = new(Probe);

    /// <summary>Null when the test cluster is up with its node idle; else why not, as one sentence.</summary>
    public static string? Unavailable => WhyUnavailable.Value;

    private static string? Probe()
    {
        const string start = "run .ci/slurm-up (as root) to start a one-node Slurm on this machine";
        var sinfo = Run("sinfo", "--noheader", "--format=%N %t");
        if (sinfo is null) return $"Slurm is not running here (sinfo not found); {start}.";
        if (sinfo.Value.Exit != 0)
            return $"Slurm is not running here (sinfo: {sinfo.Value.Err.Split('\n')[0].Trim()}); {start}.";
        if (!sinfo.Value.Out.Split('\n').Any(line => line.Trim() == $"{Node} idle"))
            return $"Slurm is not running here (no idle node '{Node}'); {start}.";
        var config = Run("scontrol", "show", "config");
        var name = config?.Out.Split('\n').FirstOrDefault(l => l.StartsWith("ClusterName"))?.Split('=').Last().Trim();
        if (name != ClusterName)
            return $"This machine's Slurm is cluster '{name}', not the test cluster of .ci/slurm-up; the Slurm tests run only there, as they take its node down.";
        return null;
    }

    /// <summary>Runs a command with an argument list; null when it is not installed. Answers within 10 s or counts as failed.</summary>
    public static (int Exit, string Out, string Err)? Run(string program, params string[] arguments)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in arguments) start.ArgumentList.Add(a);
        try
        {
            using var process = Process.Start(start)!;
            var output = process.StandardOutput.ReadToEndAsync();
            var error = process.StandardError.ReadToEndAsync();
            if (!process.WaitForExit(TimeSpan.FromSeconds(10)))
            {
                process.Kill(entireProcessTree: true);
                process.WaitForExit();
                return (-1, "", $"{program} got no answer within 10 s");
            }
            return (process.ExitCode, output.Result, error.Result);
        }
        catch (Win32Exception)
        {
            return null;
        }
    }

    /// <summary>Runs a Slurm admin command on the test cluster and insists that it succeeds.</summary>
    public static string Admin(string program, params string[] arguments)
    {
        var result = Run(program, arguments) ?? throw new InvalidOperationException($"{program} is not installed.");
        Assert.True(result.Exit == 0, $"{program} {string.Join(" ", arguments)}: {result.Err}");
        return result.Out;
    }

    /// <summary>Polls the job until the condition holds; fails with the job's last status after a minute.</summary>
    public static SlurmJobStatus WaitFor(SlurmClient client, string jobId, Func<SlurmJobStatus, bool> condition)
    {
        var watch = Stopwatch.StartNew();
        while (true)
        {
            var status = client.Query([jobId])[jobId];
            if (condition(status)) return status;
            if (watch.Elapsed > Patience) Assert.Fail($"Waited {Patience.TotalSeconds:0} s in vain: {status.Describe()} ({status})");
            Thread.Sleep(300);
        }
    }

    public static SlurmJobStatus WaitUntilFinished(SlurmClient client, string jobId) => WaitFor(client, jobId, s => s.IsFinished);

    public static string NodeState() => Admin("sinfo", "--noheader", $"--nodes={Node}", "--format=%t").Trim();
}
