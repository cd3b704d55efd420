using Salient.Execution.Slurm;
using static Salient.Tests.Execution.TestCluster;

namespace Salient.Tests.Execution;

/// <summary>The Slurm client against the real one-node Slurm of .ci/slurm-up.</summary>
public sealed class SlurmClientTests : IDisposable
{
    private readonly SlurmClient client = new(TestCluster.Settings);
    private readonly List<string> submitted = [];

    private string Submit(SlurmJobRequest job)
    {
        var id = client.Submit(job);
        submitted.Add(id);
        return id;
    }

    // A test that failed midway leaves no job behind to hold the node.
    public void Dispose()
    {
        if (submitted.Count > 0) client.Cancel(submitted);
    }

    [SlurmFact]
    public void SubmittedJobRunsItsCommandVerbatimWithTheSettingsResources()
    {
        using var folder = new TempFolder();
        // Arguments a shell would split, expand or glob, and a log path with a space and a '%' (sbatch's pattern character).
        string[] arguments = ["a b", "$HOME", "it's", "*", "%j"];
        var log = folder["logs/out %j.log"];
        var id = Submit(new SlurmJobRequest
        {
            Name = "salient-test-echo",
            Command = ["/bin/sh", "-c", "echo hi > hi.txt; printf '%s\\n' \"$@\"", "sh", .. arguments],
            OutputLog = log,
            WorkingDirectory = folder.Path,
        });

        var status = WaitUntilFinished(client, id);
        Assert.Equal(SlurmJobState.Completed, status.State);
        Assert.Equal(0, status.ExitCode);
        Assert.Equal(0, status.Signal);
        Assert.Equal(log, status.OutputLog);
        Assert.Equal("hi\n", File.ReadAllText(folder["hi.txt"]));
        Assert.Equal(arguments, File.ReadAllLines(log));

        var job = Admin("scontrol", "show", "job", id);
        foreach (var field in new[] { "JobName=salient-test-echo", "Partition=debug", "TimeLimit=00:05:00", "NumCPUs=1", "mem=100M", "Comment=salient-test" })
            Assert.Contains(field, job);
    }

    [SlurmFact]
    public void FailingJobIsReportedFailedWithItsExitCodeAndLog()
    {
        using var folder = new TempFolder();
        var (output, error) = (folder["fail.out"], folder["fail.err"]);
        var id = Submit(new SlurmJobRequest
        {
            Name = "salient-test-fail",
            Command = ["/bin/sh", "-c", "echo boom >&2; exit 3"],
            OutputLog = output,
            ErrorLog = error,
        });

        var status = WaitUntilFinished(client, id);
        Assert.Equal(SlurmJobState.Failed, status.State);
        Assert.Equal(3, status.ExitCode);
        Assert.Equal(0, status.Signal);
        Assert.Equal(output, status.OutputLog);
        Assert.Equal("boom\n", File.ReadAllText(error));
        Assert.Equal($"Slurm job {id} failed with exit code 3; its log is {output}.", status.Describe());

        // Once the controller forgets the job, accounting (here the job completion log) answers the same.
        var accounted = client.QueryAccounting([id])[id];
        Assert.Equal((SlurmJobState.Failed, 3, 0), (accounted.State, accounted.ExitCode, accounted.Signal));
    }

    [SlurmFact]
    public void DependentJobStartsOnlyAfterItsDependencyCompleted()
    {
        using var folder = new TempFolder();
        var first = Submit(new SlurmJobRequest
        {
            Name = "salient-test-first",
            Command = ["/bin/sh", "-c", "sleep 1; echo first > first.txt"],
            OutputLog = folder["first.log"],
            WorkingDirectory = folder.Path,
        });
        // cat fails if the first job has not written its file yet.
        var second = Submit(new SlurmJobRequest
        {
            Name = "salient-test-second",
            Command = ["/bin/sh", "-c", "cat first.txt > second.txt"],
            OutputLog = folder["second.log"],
            WorkingDirectory = folder.Path,
            AfterOk = [first],
        });

        Assert.Equal(SlurmJobState.Pending, client.Query([second])[second].State);
        var status = WaitUntilFinished(client, second);
        Assert.Equal(SlurmJobState.Completed, status.State);
        Assert.Equal(SlurmJobState.Completed, client.Query([first])[first].State);
        Assert.Equal("first\n", File.ReadAllText(folder["second.txt"]));
    }

    [SlurmFact]
    public void DependentOfAFailedJobIsCancelledAndNeverRuns()
    {
        using var folder = new TempFolder();
        var first = Submit(new SlurmJobRequest
        {
            Name = "salient-test-fails-first",
            Command = ["/bin/sh", "-c", "exit 1"],
            OutputLog = folder["first.log"],
        });
        var second = Submit(new SlurmJobRequest
        {
            Name = "salient-test-never",
            Command = ["/bin/sh", "-c", "echo ran > ran.txt"],
            OutputLog = folder["second.log"],
            WorkingDirectory = folder.Path,
            AfterOk = [first],
        });

        var status = WaitUntilFinished(client, second);
        Assert.Equal(SlurmJobState.Cancelled, status.State);
        Assert.Equal("DependencyNeverSatisfied", status.Reason);
        Assert.Contains("a job it depends on did not complete", status.Describe());
        Assert.Equal(SlurmJobState.Failed, client.Query([first])[first].State);
        Assert.False(File.Exists(folder["ran.txt"]));
    }

    [SlurmFact]
    public void CancelledRunningJobIsReportedCancelled()
    {
        using var folder = new TempFolder();
        var id = Submit(new SlurmJobRequest
        {
            Name = "salient-test-cancel",
            // "&&": when scancel's signal reaches sleep before the shell, the shell would otherwise go on to
            // write ran.txt (seen once, under load) although the job was cancelled.
            Command = ["/bin/sh", "-c", "echo started > started.txt; sleep 60 && echo ran > ran.txt"],
            OutputLog = folder["cancel.log"],
            WorkingDirectory = folder.Path,
        });
        WaitFor(client, id, s => s.State == SlurmJobState.Running && File.Exists(folder["started.txt"]));

        client.Cancel([id]);

        var status = WaitUntilFinished(client, id);
        Assert.Equal(SlurmJobState.Cancelled, status.State);
        Assert.Equal($"Slurm job {id} was cancelled; its log is {folder["cancel.log"]}.", status.Describe());
        Assert.False(File.Exists(folder["ran.txt"]));
        client.Cancel([id]); // cancelling an ended job does nothing
    }

    [SlurmFact]
    public void JobStaysPendingWithTheReasonWhileTheNodeIsDown()
    {
        using var folder = new TempFolder();
        Admin("scontrol", "update", $"nodename={Node}", "state=down", "reason=salient-test");
        try
        {
            var id = Submit(new SlurmJobRequest
            {
                Name = "salient-test-down",
                Command = ["/bin/sh", "-c", "echo ran > ran.txt"],
                OutputLog = folder["down.log"],
                WorkingDirectory = folder.Path,
            });
            var pending = WaitFor(client, id, s => s.Reason is not null);
            Assert.Equal(SlurmJobState.Pending, pending.State);
            // Slurm words it "ReqNodeNotAvail, UnavailableNodes:localhost" or "Nodes required for job are DOWN, …".
            Assert.True(pending.Reason!.Contains($"UnavailableNodes:{Node}") || pending.Reason.Contains("DOWN"), pending.Reason);
            Assert.Equal($"Slurm job {id} is pending: {pending.Reason}.", pending.Describe());
            Thread.Sleep(1000);
            Assert.Equal(SlurmJobState.Pending, client.Query([id])[id].State);
            Assert.False(File.Exists(folder["ran.txt"]));

            Admin("scontrol", "update", $"nodename={Node}", "state=resume");
            Assert.Equal(SlurmJobState.Completed, WaitUntilFinished(client, id).State);
            Assert.Equal("ran\n", File.ReadAllText(folder["ran.txt"]));
        }
        finally
        {
            if (NodeState().StartsWith("down")) Admin("scontrol", "update", $"nodename={Node}", "state=resume");
        }
        Assert.Equal("idle", NodeState());
    }

    [SlurmFact]
    public void SlurmErrorsBecomeOneSentenceNamingTheCommandAndItsMessage()
    {
        using var folder = new TempFolder();
        var wrongPartition = new SlurmClient(TestCluster.Settings with { Partition = "nosuchpartition" });
        var e = Assert.Throws<SalientException>(() => wrongPartition.Submit(new SlurmJobRequest
        {
            Name = "salient-test-error",
            Command = ["/bin/true"],
            OutputLog = folder["error.log"],
        }));
        Assert.StartsWith("'sbatch --parsable --job-name=salient-test-error", e.Message);
        Assert.Contains("--partition=nosuchpartition", e.Message);
        Assert.EndsWith("sbatch: error: invalid partition specified: nosuchpartition sbatch: error: Batch job submission failed: Invalid partition name specified", e.Message);
    }

    [SlurmFact]
    public void UnknownExtraOptionIsSbatchsOwnMessage()
    {
        using var folder = new TempFolder();
        var bogus = new SlurmClient(TestCluster.Settings with { ExtraArguments = ["--no-such-option=1"] });
        var e = Assert.Throws<SalientException>(() => bogus.Submit(new SlurmJobRequest
        {
            Name = "salient-test-bogus",
            Command = ["/bin/true"],
            OutputLog = folder["bogus.log"],
        }));
        Assert.Contains("--no-such-option=1 /dev/stdin /bin/true' failed (exit code 255): sbatch: unrecognized option '--no-such-option=1'", e.Message);
    }

    [SlurmFact]
    public void JobSlurmDoesNotKnowIsUnknown()
    {
        const string neverSubmitted = "60000000";
        var status = client.Query([neverSubmitted])[neverSubmitted];
        Assert.Equal(SlurmJobState.Unknown, status.State);
        Assert.Equal("Slurm knows no job 60000000 any more (neither its queue nor its accounting).", status.Describe());
    }
}
