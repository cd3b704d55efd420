using Salient.Execution.Slurm;

namespace Salient.Tests.Execution;

/// <summary>What the user reads about states the one-node test cluster does not produce (no memory limits, no day-long jobs).</summary>
public class SlurmJobStatusTests
{
    [Fact]
    public void EndedJobsNameTheSettingToChangeAndTheirLog()
    {
        var timeout = new SlurmJobStatus("7", SlurmJobState.Timeout, "TIMEOUT", "TimeLimit", 0, 15, "/s/logs/a.out");
        Assert.True(timeout.IsFinished);
        Assert.Equal("Slurm job 7 reached its time limit (setting 'slurm.timeLimit'); its log is /s/logs/a.out.", timeout.Describe());
        var memory = new SlurmJobStatus("8", SlurmJobState.OutOfMemory, "OUT_OF_MEMORY", null, 0, 9, null);
        Assert.Equal("Slurm job 8 ran out of memory (setting 'slurm.memory').", memory.Describe());
        var killed = new SlurmJobStatus("9", SlurmJobState.Failed, "FAILED", "NonZeroExitCode", 0, 9, "/s/b.out");
        Assert.Equal("Slurm job 9 failed: killed by signal 9; its log is /s/b.out.", killed.Describe());
    }

    [Fact]
    public void PendingOnAFailedDependencyWaitsForEverOnClustersThatKeepSuchJobs()
    {
        var stuck = new SlurmJobStatus("10", SlurmJobState.Pending, "PENDING", "DependencyNeverSatisfied", null, null, null);
        Assert.True(stuck.WaitsForever);
        Assert.False(stuck.IsFinished);
        Assert.Equal("Slurm job 10 waits for a job that did not complete; it will never start.", stuck.Describe());
        Assert.False((stuck with { Reason = "Dependency" }).WaitsForever);
    }
}
