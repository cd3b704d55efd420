using Salient.Studies;

namespace Salient.Execution;

/// <summary>
/// Where a study's cells run: in this process (<see cref="InProcessExecutor"/>), in local worker
/// processes (<see cref="LocalProcessExecutor"/>), or as Slurm jobs (<see cref="SlurmExecutor"/>).
/// An executor starts cells once the cells they need are done, and tells the run as each one ends;
/// the run (the one writer of the results store) imports outcomes and decides what is skipped.
/// </summary>
public interface ICellExecutor
{
    /// <summary>Runs <see cref="StudyExecution.Pending"/> until every cell is done, failed or skipped, or a stop is requested.</summary>
    void Execute(StudyExecution run);
}
