using Salient.Execution;

namespace Salient.Studies;

/// <summary>Where the whole study is and what it is doing now, with the time it expects still to need.</summary>
public readonly record struct StudyProgress(int CellsDone, int CellsTotal, string Cell, string Stage, double CellFraction, TimeSpan? Remaining = null);

/// <summary>What a run did: cells computed, reused from earlier runs, and failed or skipped (with the reason).</summary>
public sealed record StudyOutcome(IReadOnlyList<string> Computed, IReadOnlyList<string> Cached, IReadOnlyList<(string Cell, string Error)> Failed);

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
}

/// <summary>
/// The state of one run that executors drive: which cells are pending, which are blocked by a failed
/// dependency, and the bookkeeping when a cell starts and ends (import into the store, progress).
/// </summary>
public sealed class StudyExecution
{
    private readonly ResultStore store;
    private readonly IProgress<StudyProgress>? progress;
    private readonly List<string> computed = [], cached = [];
    private readonly List<(string, string)> failed = [];
    private readonly HashSet<string> done = [];
    private readonly Dictionary<string, string> notDone = []; // failed or skipped in this run → reason
    private readonly StudyEstimate? estimate;
    private readonly double totalPasses;
    private double passesDone, estimatedDone, actualDone;
    private readonly System.Diagnostics.Stopwatch cellClock = new();

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
            if (store.IsDone(cell) && (cell.Artefact is null || File.Exists(Path.Combine(folder, cell.Artefact))))
            {
                done.Add(cell.Id);
                cached.Add(cell.Id);
            }
        }
        Pending = plan.Cells.Where(c => !done.Contains(c.Id)).ToList();
        totalPasses = Pending.Sum(c => c.Passes);
    }

    public StudyPlan Plan { get; }
    public string Folder { get; }
    public CancellationToken Cancellation { get; }
    /// <summary>The cells to run, in an order where each comes after the cells it needs.</summary>
    public IReadOnlyList<CellPlan> Pending { get; }

    public bool IsDone(string cell) => done.Contains(cell);

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

    public void Started(CellPlan cell)
    {
        cellClock.Restart();
        ReportProgress(new CellProgress(cell.Id, "starting", 0));
    }

    /// <summary>Imports a cell's outcome (the one place the store is written during a run).</summary>
    public void Finished(CellPlan cell, CellOutcome outcome)
    {
        store.Import(outcome, cell);
        passesDone += cell.Passes;
        // Calibrate the estimate by how long finished cells really took (only cells that did work count).
        if (cell.Passes > 0)
        {
            estimatedDone += cell.Passes;
            actualDone += outcome.Seconds;
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

    /// <summary>Reports progress; also where a requested stop takes effect (between batches, never inside a write).</summary>
    public void ReportProgress(CellProgress p)
    {
        Cancellation.ThrowIfCancellationRequested();
        int finished = cached.Count + computed.Count + failed.Count;
        progress?.Report(new StudyProgress(finished, Plan.Cells.Count, p.Cell, p.Stage, p.Fraction, Remaining(p)));
    }

    /// <summary>
    /// The time the rest of the run should take: the passes still to do at the measured seconds per
    /// pass, scaled by how the finished cells compared with their estimate.
    /// </summary>
    private TimeSpan? Remaining(CellProgress p)
    {
        if (estimate is null) return null;
        double current = Plan.Contains(p.Cell) && p.Fraction < 1 ? Plan.Get(p.Cell).Passes * Math.Clamp(p.Fraction, 0, 1) : 0;
        double left = Math.Max(0, totalPasses - passesDone - current);
        double secondsPerPass = estimatedDone > 0 && actualDone > 0 ? actualDone / estimatedDone : estimate.SecondsPerPass;
        return TimeSpan.FromSeconds(left * secondsPerPass);
    }

    internal StudyOutcome Outcome() => new(computed, cached, failed);
}
