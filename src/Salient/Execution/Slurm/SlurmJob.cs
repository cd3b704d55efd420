namespace Salient.Execution.Slurm;

/// <summary>One job to submit: what it runs, where its output goes, and which jobs must succeed first.</summary>
public sealed record SlurmJobRequest
{
    /// <summary>sbatch --job-name, shown by squeue.</summary>
    public required string Name { get; init; }

    /// <summary>
    /// The program and its arguments, run on the node exactly as given (no shell parses them),
    /// e.g. <see cref="SlurmSettings.SalientInvocation"/>'s list.
    /// </summary>
    public required IReadOnlyList<string> Command { get; init; }

    /// <summary>The job's standard output (sbatch --output); its folder is created at submission.</summary>
    public required string OutputLog { get; init; }

    /// <summary>The job's standard error; null: together with the output in <see cref="OutputLog"/>.</summary>
    public string? ErrorLog { get; init; }

    /// <summary>The folder the command starts in (sbatch --chdir); null: the submitting process's current folder.</summary>
    public string? WorkingDirectory { get; init; }

    /// <summary>
    /// Job ids that must complete successfully before this one starts (--dependency=afterok). If one
    /// fails or is cancelled, Slurm cancels this job (state CANCELLED, reason DependencyNeverSatisfied)
    /// instead of leaving it pending for ever.
    /// </summary>
    public IReadOnlyList<string> AfterOk { get; init; } = [];
}

/// <summary>Slurm's job states, folded to what a caller acts on.</summary>
public enum SlurmJobState
{
    /// <summary>Queued: waiting for resources, a dependency, a node (see the status's reason), or requeued.</summary>
    Pending,
    /// <summary>Started and not yet ended (also configuring, completing, suspended).</summary>
    Running,
    /// <summary>Ended with exit code 0.</summary>
    Completed,
    /// <summary>Ended with a non-zero exit code or a signal.</summary>
    Failed,
    /// <summary>Cancelled by scancel, an administrator, or a failed afterok dependency.</summary>
    Cancelled,
    /// <summary>Ended by its time limit.</summary>
    Timeout,
    /// <summary>Ended for using more memory than it asked for.</summary>
    OutOfMemory,
    /// <summary>Ended by Slurm for another reason: node failure, preemption, boot failure, deadline.</summary>
    Ended,
    /// <summary>Neither the queue nor accounting knows the id (forgotten, or never submitted here).</summary>
    Unknown,
}

/// <summary>What Slurm says about one job.</summary>
/// <param name="SlurmState">Slurm's own state name, e.g. "NODE_FAIL" behind <see cref="SlurmJobState.Ended"/>.</param>
/// <param name="Reason">Why a job is pending or ended, as Slurm words it; null when Slurm gives none.</param>
/// <param name="ExitCode">The exit code of a finished job; null while it has not finished.</param>
/// <param name="Signal">The signal that ended a finished job, 0 if none; null while it has not finished.</param>
/// <param name="OutputLog">The job's standard output file, while the controller still remembers the job; null after.</param>
public sealed record SlurmJobStatus(
    string JobId, SlurmJobState State, string SlurmState, string? Reason, int? ExitCode, int? Signal, string? OutputLog)
{
    public bool IsFinished => State is not (SlurmJobState.Pending or SlurmJobState.Running or SlurmJobState.Unknown);

    /// <summary>Pending on an afterok dependency that failed: Slurm will never start it (on clusters that keep such jobs).</summary>
    public bool WaitsForever => State == SlurmJobState.Pending && Reason == "DependencyNeverSatisfied";

    internal static SlurmJobState Fold(string slurmState) => slurmState switch
    {
        "PENDING" or "REQUEUED" or "REQUEUE_HOLD" or "REQUEUE_FED" or "RESV_DEL_HOLD" => SlurmJobState.Pending,
        "RUNNING" or "CONFIGURING" or "COMPLETING" or "SUSPENDED" or "STOPPED" or "SIGNALING" or "STAGE_OUT"
            or "RESIZING" => SlurmJobState.Running,
        "COMPLETED" => SlurmJobState.Completed,
        "FAILED" or "SPECIAL_EXIT" => SlurmJobState.Failed,
        "CANCELLED" or "REVOKED" => SlurmJobState.Cancelled,
        "TIMEOUT" => SlurmJobState.Timeout,
        "OUT_OF_MEMORY" => SlurmJobState.OutOfMemory,
        _ => SlurmJobState.Ended, // NODE_FAIL, PREEMPTED, BOOT_FAIL, DEADLINE
    };

    /// <summary>One sentence for the user, e.g. "Slurm job 12 failed with exit code 3; its log is /study/logs/x.out."</summary>
    public string Describe()
    {
        var log = OutputLog is null ? "" : $"; its log is {OutputLog}";
        return State switch
        {
            SlurmJobState.Pending when WaitsForever => $"Slurm job {JobId} waits for a job that did not complete; it will never start.",
            SlurmJobState.Pending => $"Slurm job {JobId} is pending" + (Reason is null ? "." : $": {Reason}."),
            SlurmJobState.Running => $"Slurm job {JobId} is running.",
            SlurmJobState.Completed => $"Slurm job {JobId} completed.",
            SlurmJobState.Failed when Signal is > 0 => $"Slurm job {JobId} failed: killed by signal {Signal}{log}.",
            SlurmJobState.Failed => $"Slurm job {JobId} failed with exit code {ExitCode}{log}.",
            SlurmJobState.Cancelled when Reason == "DependencyNeverSatisfied" => $"Slurm job {JobId} was cancelled because a job it depends on did not complete.",
            SlurmJobState.Cancelled => $"Slurm job {JobId} was cancelled{log}.",
            SlurmJobState.Timeout => $"Slurm job {JobId} reached its time limit (setting 'slurm.timeLimit'){log}.",
            SlurmJobState.OutOfMemory => $"Slurm job {JobId} ran out of memory (setting 'slurm.memory'){log}.",
            SlurmJobState.Ended => $"Slurm job {JobId} ended with state {SlurmState}" + (Reason is null ? "" : $" ({Reason})") + $"{log}.",
            _ => $"Slurm knows no job {JobId} any more (neither its queue nor its accounting).",
        };
    }
}
