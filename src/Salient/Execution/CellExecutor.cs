using Salient.Studies;

namespace Salient.Execution;

/// <summary>
/// Where a study's cells run: in this process, in local worker processes, or as cluster jobs. An
/// executor starts cells once the cells they need are done, and tells the run as each one ends; the
/// run (one writer) imports outcomes into the store and decides what is skipped.
/// </summary>
public interface ICellExecutor
{
    /// <summary>Runs <see cref="StudyExecution.Pending"/> until every cell is done, failed or skipped, or a stop is requested.</summary>
    void Execute(StudyExecution run);
}

/// <summary>Runs cells one after another in this process, sharing the loaded data between them.</summary>
public sealed class InProcessExecutor : ICellExecutor
{
    public void Execute(StudyExecution run)
    {
        using var runner = new CellRunner(run.Plan, run.Folder, new SyncProgress<CellProgress>(run.ReportProgress), run.Cancellation);
        foreach (var cell in run.Pending)
        {
            if (run.BlockedBy(cell) is { } reason)
            {
                run.Skip(cell, reason);
                continue;
            }
            run.Started(cell);
            run.Finished(cell, runner.Run(cell));
        }
    }
}
