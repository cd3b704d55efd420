using Salient.Execution;

namespace Salient.Studies;

/// <summary>Where the whole study is and what it is doing now, with the time it expects still to need.</summary>
public readonly record struct StudyProgress(int CellsDone, int CellsTotal, string Cell, string Stage, double CellFraction, TimeSpan? Remaining = null)
{
    /// <summary>What the executor is doing besides the latest cell, e.g. "2 running, 5 pending (Dependency)"; null when it runs one cell at a time.</summary>
    public string? Activity { get; init; }

    /// <summary>A line to show the user once (a submitted job, a failed job with its log, jobs Slurm holds back); null in plain progress.</summary>
    public string? Message { get; init; }
}

/// <summary>
/// What a run did: cells computed, reused from earlier runs, failed or skipped (with the reason), and
/// left queued or running elsewhere when the run returned without waiting (cluster jobs).
/// </summary>
public sealed record StudyOutcome(IReadOnlyList<string> Computed, IReadOnlyList<string> Cached, IReadOnlyList<(string Cell, string Error)> Failed)
{
    public IReadOnlyList<string> Running { get; init; } = [];
}

/// <summary>
/// One run of a study in its folder: plans the cells from the settings, imports outcomes other
/// processes left, hands the cells that are not done to an executor, and imports each outcome as it
/// ends. A cell is reused when the store has it done with the same settings hash (and its file is
/// there); a killed run resumes (training even inside a cell, from its epoch checkpoint); a failed
/// cell is recorded and only the cells that need it are skipped.
/// </summary>
public sealed class StudyRunner(StudySettings settings, string folder, IProgress<StudyProgress>? progress = null,
    CancellationToken cancellation = default, ICellExecutor? executor = null, StudyEstimate? estimate = null)
{
    public const string SettingsFile = "settings.json";
    public const string DatabaseFile = ResultStore.FileName;

    public StudyOutcome Run()
    {
        var plan = StudyPlan.Build(settings);
        Directory.CreateDirectory(folder);
        AtomicFile.WriteAllText(Path.Combine(folder, SettingsFile), settings.ToJson());
        using var store = new ResultStore(folder);
        store.Sync();
        var run = new StudyExecution(plan, folder, store, progress, cancellation, estimate);
        if (run.Pending.Count > 0) (executor ?? new InProcessExecutor()).Execute(run);
        return run.Outcome();
    }

    /// <summary>
    /// The planned cells a run in <paramref name="folder"/> would reuse rather than compute, as
    /// <see cref="Run"/> decides it; for a dry run, so it creates nothing where no study ran yet.
    /// </summary>
    public static IReadOnlySet<string> DoneCells(StudyPlan plan, string folder)
    {
        if (!File.Exists(Path.Combine(folder, DatabaseFile)) && !Directory.Exists(Path.Combine(folder, StudyPlan.CellsFolder)))
            return new HashSet<string>();
        using var store = new ResultStore(folder);
        store.Sync();
        return plan.Cells.Where(c => StudyExecution.Reusable(store, folder, c)).Select(c => c.Id).ToHashSet();
    }
}

/// <summary>
/// The state of one run that executors drive: which cells are pending, which are blocked by a failed
/// dependency, and the bookkeeping when a cell starts and ends (import into the store, progress).
/// </summary>
public sealed class StudyExecution
{
    private readonly ResultStore store;
    private readonly IProgress<StudyProgress>? progress;
    private readonly List<string> computed = [], cached = [], running = [];
    private readonly List<(string, string)> failed = [];
    private readonly HashSet<string> done = [];
    private readonly Dictionary<string, string> notDone = []; // failed or skipped in this run → reason
    private readonly StudyEstimate? estimate;
    private readonly double totalPasses;
    private double passesDone, estimatedDone, actualDone;
    private readonly Dictionary<string, double> doneBefore = []; // resumed cells → the share an earlier run computed
    private readonly System.Diagnostics.Stopwatch cellClock = new();
    private string? activity;
    private CellProgress latest;

    internal StudyExecution(StudyPlan plan, string folder, ResultStore store, IProgress<StudyProgress>? progress, CancellationToken cancellation, StudyEstimate? estimate)
    {
        this.estimate = estimate;
        Plan = plan;
        Folder = folder;
        this.store = store;
        this.progress = progress;
        Cancellation = cancellation;
        foreach (var cell in plan.Cells)
        {
            if (Reusable(store, folder, cell))
            {
                done.Add(cell.Id);
                cached.Add(cell.Id);
            }
        }
        Pending = plan.Cells.Where(c => !done.Contains(c.Id)).ToList();
        totalPasses = Pending.Sum(c => c.Passes);
    }

    /// <summary>A cell finished with its planned hash (so with the same settings), and its artefact, if any, is still there.</summary>
    internal static bool Reusable(ResultStore store, string folder, CellPlan cell) =>
        store.IsDone(cell) && cell.HasArtefactIn(folder);

    public StudyPlan Plan { get; }
    public string Folder { get; }
    public CancellationToken Cancellation { get; }
    /// <summary>The cells to run, in an order where each comes after the cells it needs.</summary>
    public IReadOnlyList<CellPlan> Pending { get; }

    public bool IsDone(string cell) => done.Contains(cell);

    /// <summary>
    /// How many cells run at once, to turn the work left into time left; null when the executor cannot
    /// know (a cluster's queue), and then no time left is shown.
    /// </summary>
    public int? ParallelCells { get; set; } = 1;

    /// <summary>Why the cell cannot run (a cell it needs failed or was skipped), or null when nothing blocks it.</summary>
    public string? BlockedBy(CellPlan cell)
    {
        foreach (var need in cell.DependsOn)
            if (notDone.TryGetValue(need, out var why))
                return $"skipped: it needs {need}, which {(why.StartsWith("skipped") ? "was skipped" : "failed")}";
        return null;
    }

    /// <summary>True when every cell the cell needs is done (so it can start now).</summary>
    public bool Ready(CellPlan cell) => cell.DependsOn.All(done.Contains);

    /// <summary>
    /// Deletes the outcome file an earlier run of this pending cell left (failed, skipped, or for other
    /// settings) before the cell is handed to another process, so the file that appears next is that
    /// process's. The store keeps the old record until the new outcome is imported.
    /// </summary>
    public void ClearOutcome(CellPlan cell)
    {
        var file = Path.Combine(Folder, cell.OutcomeFile);
        if (File.Exists(file)) File.Delete(file);
    }

    public void Started(CellPlan cell)
    {
        cellClock.Restart();
        ReportProgress(new CellProgress(cell.Id, "starting", 0));
    }

    /// <summary>Imports a cell's outcome (the one place the store is written during a run).</summary>
    /// <param name="took">The cell's time as its executor saw it, when more than the outcome's (a worker process's start-up).</param>
    public void Finished(CellPlan cell, CellOutcome outcome, TimeSpan? took = null)
    {
        store.Import(outcome, cell);
        passesDone += cell.Passes;
        // Calibrate the estimate by how long finished cells really took (only cells that did work count),
        // counting of a resumed cell only the share this run computed.
        if (cell.Passes > 0)
        {
            estimatedDone += cell.Passes * (1 - doneBefore.GetValueOrDefault(cell.Id));
            actualDone += took?.TotalSeconds ?? outcome.Seconds;
        }
        if (outcome.Status == CellOutcome.Done)
        {
            done.Add(cell.Id);
            computed.Add(cell.Id);
        }
        else
        {
            notDone[cell.Id] = outcome.Error ?? "failed";
            failed.Add((cell.Id, outcome.Error ?? "failed"));
        }
        ReportProgress(new CellProgress(cell.Id, outcome.Status, 1));
    }

    public void Skip(CellPlan cell, string reason)
    {
        store.Skip(cell, reason);
        notDone[cell.Id] = reason;
        failed.Add((cell.Id, reason));
        passesDone += cell.Passes;
    }

    /// <summary>The cell runs on elsewhere (a cluster job) after this run returns; a later run or <c>results</c> imports its outcome.</summary>
    public void LeftRunning(CellPlan cell) => running.Add(cell.Id);

    /// <summary>Reports progress; also where a requested stop takes effect (between batches, never inside a write).</summary>
    public void ReportProgress(CellProgress p)
    {
        Cancellation.ThrowIfCancellationRequested();
        if (p.IsResume) doneBefore[p.Cell] = Math.Clamp(p.Fraction, 0, 0.99);
        latest = p;
        progress?.Report(Current() with { Activity = activity });
    }

    /// <summary>Shows what the executor is doing now, e.g. the cells running and the jobs queued.</summary>
    public void ReportActivity(string now)
    {
        activity = now;
        ReportProgress(latest);
    }

    /// <summary>Tells the user one thing that happened (shown once, not overwritten by the next progress).</summary>
    public void Tell(string message) => progress?.Report(Current() with { Activity = activity, Message = message });

    private StudyProgress Current()
    {
        int finished = cached.Count + computed.Count + failed.Count;
        return new StudyProgress(finished, Plan.Cells.Count, latest.Cell ?? "", latest.Stage ?? "", latest.Fraction, Remaining(latest));
    }

    /// <summary>
    /// The time the rest of the run should take: the passes still to do at the measured seconds per
    /// pass, scaled by how the finished cells compared with their estimate.
    /// </summary>
    private TimeSpan? Remaining(CellProgress p)
    {
        if (estimate is null || ParallelCells is not { } parallel) return null;
        double current = p.Cell is not null && Plan.Contains(p.Cell) && p.Fraction < 1 ? Plan.Get(p.Cell).Passes * Math.Clamp(p.Fraction, 0, 1) : 0;
        double left = Math.Max(0, totalPasses - passesDone - current);
        double secondsPerPass = estimatedDone > 0 && actualDone > 0 ? actualDone / estimatedDone : estimate.SecondsPerPass;
        return TimeSpan.FromSeconds(left * secondsPerPass / Math.Max(1, parallel));
    }

    internal StudyOutcome Outcome() => new(computed, cached, failed) { Running = running };
}
