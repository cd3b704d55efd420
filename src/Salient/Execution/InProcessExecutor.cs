using Salient.Studies;

namespace Salient.Execution;

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
