using System.Diagnostics;
using System.Text.Json;
using Salient.Execution.Slurm;
using Salient.Studies;

namespace Salient.Execution;

/// <summary>
/// Hands each pending cell to Slurm as one job (<see cref="CellCommand"/> run by the settings'
/// <c>slurm.salientCommand</c> on the shared study folder), with <c>afterok</c> dependencies on the
/// jobs of the cells it needs; then, unless told not to wait, follows the jobs and imports each
/// outcome as its cell ends. The job of each submitted cell is recorded beside its outcome
/// (<c>cells/ID.job</c>), so a rerun follows the cells still queued or running and resubmits only the
/// others.
/// </summary>
public sealed class SlurmExecutor : ICellExecutor
{
    public const string LogsFolder = "logs";

    /// <summary>How long a job that completed may take to show its outcome file (a network file system's caches).</summary>
    private static readonly TimeSpan OutcomePatience = TimeSpan.FromSeconds(60);

    /// <summary>Pending reasons that only mean "waiting its turn"; any other is told to the user.</summary>
    private static readonly HashSet<string> OrdinaryReasons = ["Dependency", "Priority", "Resources", "None"];

    /// <summary>Following polls Slurm every second while jobs change, and less often (up to this) while they do not.</summary>
    private static readonly TimeSpan LongestPoll = TimeSpan.FromSeconds(10);

    private readonly SlurmClient client;
    private readonly bool wait;
    private readonly TimeSpan? pollInterval;

    /// <summary>Checks the settings and that the program jobs run exists here, before anything is written or submitted.</summary>
    /// <param name="wait">Follow the jobs until every cell has ended; false: submit and return (<c>--no-wait</c>).</param>
    /// <param name="pollInterval">A fixed interval between looks at the queue; null: one second while jobs change, up to ten while they do not.</param>
    public SlurmExecutor(SlurmSettings settings, bool wait = true, TimeSpan? pollInterval = null)
    {
        settings.Validate();
        client = new SlurmClient(settings with { SalientCommand = [ProgramPath(settings.SalientCommand[0]), .. settings.SalientCommand.Skip(1)] });
        this.wait = wait;
        this.pollInterval = pollInterval;
    }

    /// <summary>The job of a submitted cell, as recorded in its <c>.job</c> file.</summary>
    public sealed record JobRecord(string JobId, string Hash, int Attempt, string Log);

    /// <summary>A cell whose job this run follows.</summary>
    private sealed class Tracked(CellPlan cell, JobRecord job)
    {
        public CellPlan Cell { get; } = cell;
        public JobRecord Job { get; } = job;
        public bool Running { get; set; }
        public Stopwatch? CompletedWithoutOutcome { get; set; }
    }

    public void Execute(StudyExecution run)
    {
        run.ParallelCells = null; // the cluster's queue decides
        var followed = Submit(run);
        if (wait)
        {
            Follow(run, followed);
            return;
        }
        if (followed.Count > 0) Observe(run, client.Query(followed.Select(t => t.Job.JobId)), followed, []);
        foreach (var tracked in followed) run.LeftRunning(tracked.Cell);
    }

    /// <summary>
    /// Submits every pending cell that is neither queued nor running already, in plan order (so a cell's
    /// dependencies have their jobs first); returns the cells to follow, in plan order.
    /// </summary>
    private List<Tracked> Submit(StudyExecution run)
    {
        var settings = client.Settings;
        var records = run.Pending.Select(c => (c.Id, Record: ReadRecord(run.Folder, c))).Where(r => r.Record is not null).ToDictionary(r => r.Id, r => r.Record!);
        var known = client.Query(records.Values.Select(r => r.JobId));
        var followed = new List<Tracked>();
        var jobOf = new Dictionary<string, string>(); // cell → the job that makes it
        int adopted = 0, submitted = 0;
        foreach (var cell in run.Pending)
        {
            var record = records.GetValueOrDefault(cell.Id);
            bool queued = record is not null && known[record.JobId].State is SlurmJobState.Pending or SlurmJobState.Running;
            if (run.BlockedBy(cell) is { } reason)
            {
                if (queued) client.Cancel([record!.JobId]);
                run.Skip(cell, reason);
                continue;
            }
            if (queued && record!.Hash == cell.Hash)
            {
                followed.Add(new Tracked(cell, record));
                jobOf[cell.Id] = record.JobId;
                adopted++;
                continue;
            }
            if (queued)
            {
                client.Cancel([record!.JobId]);
                run.Tell($"Cancelled Slurm job {record.JobId} of {cell.Id}: it was submitted for other settings.");
            }
            else if (record?.Hash == cell.Hash && NewOutcome(run.Folder, cell) is { Status: CellOutcome.Done } finished
                     && cell.HasArtefactIn(run.Folder))
            {
                // Its job ended since the store last read the outcome files.
                run.Finished(cell, finished);
                continue;
            }

            var after = cell.DependsOn.Where(d => !run.IsDone(d)).Select(d => jobOf.TryGetValue(d, out var job) ? job
                : throw new InvalidOperationException($"{cell.Id} needs {d}, which is neither done, failed nor submitted.")).ToList();
            run.ClearOutcome(cell);
            int attempt = (record?.Attempt ?? 0) + 1;
            var log = Path.GetFullPath(Path.Combine(run.Folder, LogsFolder, $"{Path.GetFileNameWithoutExtension(cell.OutcomeFile)}.{attempt}.log"));
            var jobId = client.Submit(new SlurmJobRequest
            {
                Name = $"{run.Plan.Settings.Name}/{cell.Id}",
                Command = settings.SalientInvocation(CellCommand.Arguments(run.Folder, cell, settings.CpusPerTask)),
                OutputLog = log,
                WorkingDirectory = run.Folder,
                AfterOk = after,
            });
            var submittedJob = new JobRecord(jobId, cell.Hash, attempt, log);
            AtomicFile.WriteAllText(JobFile(run.Folder, cell), JsonSerializer.Serialize(submittedJob, Json));
            followed.Add(new Tracked(cell, submittedJob));
            jobOf[cell.Id] = jobId;
            submitted++;
            run.Tell($"Slurm job {jobId}: {cell.Id}" + (after.Count > 0 ? $" (after {string.Join(", ", after)})" : ""));
        }
        if (submitted + adopted > 0)
            run.Tell($"Cells submitted to Slurm: {submitted}, already queued or running: {adopted}; job logs in {Path.GetFullPath(Path.Combine(run.Folder, LogsFolder))}.");
        return followed;
    }

    /// <summary>Looks at the queue until every followed cell has ended, importing each outcome as it comes.</summary>
    private void Follow(StudyExecution run, List<Tracked> followed)
    {
        var toldReasons = new HashSet<string>();
        var interval = TimeSpan.FromSeconds(1);
        string? lastStates = null;
        while (followed.Count > 0)
        {
            if (run.Cancellation.WaitHandle.WaitOne(pollInterval ?? interval)) run.Cancellation.ThrowIfCancellationRequested();
            var statuses = client.Query(followed.Select(t => t.Job.JobId));
            foreach (var tracked in followed.ToList())
                if (Settle(run, tracked, statuses[tracked.Job.JobId]))
                    followed.Remove(tracked);
            Observe(run, statuses, followed, toldReasons);
            var states = string.Join(",", statuses.Values.Select(s => s.SlurmState));
            interval = states == lastStates ? TimeSpan.FromSeconds(Math.Min(LongestPoll.TotalSeconds, interval.TotalSeconds + 1)) : TimeSpan.FromSeconds(1);
            lastStates = states;
        }
    }

    /// <summary>Imports the cell's outcome once its job has ended (or skips it if a cell it needs failed); true when the cell is settled.</summary>
    private bool Settle(StudyExecution run, Tracked tracked, SlurmJobStatus status)
    {
        var (cell, job) = (tracked.Cell, tracked.Job);
        if (run.BlockedBy(cell) is { } reason)
        {
            // Slurm cancels it too (--kill-on-invalid-dep); this does not rely on the cluster's version doing so.
            if (!status.IsFinished) client.Cancel([job.JobId]);
            run.Skip(cell, reason);
            return true;
        }
        if (status.State == SlurmJobState.Running && !tracked.Running)
        {
            tracked.Running = true;
            run.Started(cell);
        }
        if (NewOutcome(run.Folder, cell) is { } outcome)
        {
            run.Finished(cell, outcome);
            if (outcome.Status != CellOutcome.Done) run.Tell($"{cell.Id} failed in Slurm job {job.JobId} (log: {job.Log}): {outcome.Error}");
            return true;
        }
        if (!status.IsFinished && status.State != SlurmJobState.Unknown) return false;
        if (status.State is SlurmJobState.Completed or SlurmJobState.Unknown)
        {
            // The outcome may reach this machine's view of a network file system a little after the job ended.
            tracked.CompletedWithoutOutcome ??= Stopwatch.StartNew();
            if (tracked.CompletedWithoutOutcome.Elapsed < OutcomePatience) return false;
        }
        var error = status.State is SlurmJobState.Completed
            ? $"Slurm job {job.JobId} completed but left no outcome file {Path.Combine(run.Folder, cell.OutcomeFile)}; its log is {job.Log}."
            : (status with { OutputLog = job.Log }).Describe();
        var failed = new CellOutcome { Cell = cell.Id, Kind = cell.Kind, Hash = cell.Hash, Status = CellOutcome.Failed, Error = error };
        failed.Write(run.Folder, cell);
        run.Finished(cell, failed);
        run.Tell($"{cell.Id}: {error}");
        return true;
    }

    /// <summary>Shows what the followed jobs are doing, and tells once of each reason Slurm gives for holding jobs back that is more than waiting their turn (a node that is down).</summary>
    private static void Observe(StudyExecution run, IReadOnlyDictionary<string, SlurmJobStatus> statuses, List<Tracked> followed, HashSet<string> toldReasons)
    {
        var now = followed.Select(t => (t.Cell, Status: statuses[t.Job.JobId])).ToList();
        var running = now.Where(n => n.Status.State == SlurmJobState.Running).Select(n => n.Cell.Id).ToList();
        var pending = now.Where(n => n.Status.State == SlurmJobState.Pending).GroupBy(n => n.Status.Reason ?? "None").ToList();
        var parts = new List<string>();
        if (running.Count > 0) parts.Add($"{running.Count} running ({string.Join(", ", running)})");
        parts.AddRange(pending.Select(g => $"{g.Count()} pending ({g.Key})"));
        if (parts.Count > 0) run.ReportActivity("Slurm: " + string.Join(", ", parts));
        foreach (var group in pending.Where(g => !OrdinaryReasons.Contains(g.Key) && toldReasons.Add(g.Key)))
            run.Tell($"Slurm holds cells back because of: {group.Key} (Slurm's reason; 'sinfo' shows the nodes' state). " +
                     $"They start when Slurm can run them: {string.Join(", ", group.Select(g => g.Cell.Id))}.");
    }

    /// <summary>The outcome file of the cell if one was written for its current settings (a stale one was cleared before submitting).</summary>
    private static CellOutcome? NewOutcome(string folder, CellPlan cell)
    {
        var file = Path.Combine(folder, cell.OutcomeFile);
        if (!File.Exists(file)) return null;
        var outcome = CellOutcome.Read(file);
        return outcome.Cell == cell.Id && outcome.Hash == cell.Hash ? outcome : null;
    }

    public static string JobFile(string folder, CellPlan cell) => Path.Combine(folder, Path.ChangeExtension(cell.OutcomeFile, ".job"));

    /// <summary>The job recorded for a cell by an earlier submission; null if none (or an unreadable record, which is then replaced).</summary>
    public static JobRecord? ReadRecord(string folder, CellPlan cell)
    {
        var file = JobFile(folder, cell);
        if (!File.Exists(file)) return null;
        try
        {
            return JsonSerializer.Deserialize<JobRecord>(File.ReadAllText(file), Json);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.CamelCase, WriteIndented = true };

    /// <summary>
    /// The program of 'slurm.salientCommand' as jobs will start it: a path is made absolute (jobs start
    /// in the study folder); a bare name must be on this machine's PATH, as it must be on the nodes'.
    /// </summary>
    private static string ProgramPath(string program)
    {
        const string fix = "give the full path of salient on the file system the nodes share, e.g. [\"/shared/salient/salient\"] (a self-contained 'dotnet publish'; see README, \"Running on a Slurm cluster\")";
        if (program.Contains('/'))
        {
            var full = Path.GetFullPath(program);
            return File.Exists(full) ? full : throw new SalientException($"'slurm.salientCommand' names '{full}', which does not exist; {fix}.");
        }
        var onPath = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Any(dir => File.Exists(Path.Combine(dir, program)));
        return onPath ? program : throw new SalientException($"'slurm.salientCommand' starts with '{program}', which is not on this machine's PATH; {fix}.");
    }
}
