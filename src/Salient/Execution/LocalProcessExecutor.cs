using System.ComponentModel;
using System.Diagnostics;
using System.Threading.Channels;
using Salient.Studies;

namespace Salient.Execution;

/// <summary>
/// Runs up to <see cref="Jobs"/> cells at once in worker processes (<c>salient study --worker</c>),
/// each with <see cref="ThreadsPerCell"/> torch threads: for machines with more cores than one cell
/// keeps busy, and for small models, whose convolutions gain little from a second thread. A worker
/// runs cell after cell (one process start, data loaded once), so even second-long cells pay no
/// start-up. A cell starts as soon as the cells it needs are done; each outcome is imported by this
/// process (the one writer of the store) as its worker reports it finished.
/// </summary>
public sealed class LocalProcessExecutor : ICellExecutor
{
    /// <summary>Lines of a worker's output kept to explain a worker that ended without an outcome.</summary>
    private const int LinesKept = 8;

    /// <param name="salientCommand">The program (and leading arguments) that runs salient, e.g. ["dotnet", ".../salient.dll"] or [".../salient"].</param>
    public LocalProcessExecutor(IReadOnlyList<string> salientCommand, int jobs, int threadsPerCell)
    {
        if (salientCommand.Count == 0 || string.IsNullOrWhiteSpace(salientCommand[0]))
            throw new SalientException("The command that starts a salient worker is empty.");
        if (jobs < 1) throw new SalientException($"--jobs must be at least 1, got {jobs}.");
        if (threadsPerCell < 1) throw new SalientException($"--threads must be at least 1, got {threadsPerCell}.");
        SalientCommand = salientCommand;
        Jobs = jobs;
        ThreadsPerCell = threadsPerCell;
    }

    public IReadOnlyList<string> SalientCommand { get; }
    public int Jobs { get; }
    public int ThreadsPerCell { get; }

    /// <summary>What a worker's reader threads tell the coordinator; only the coordinator's thread touches the run.</summary>
    private abstract record WorkerEvent(Worker Worker);
    private sealed record Progressed(Worker Worker, CellProgress Progress) : WorkerEvent(Worker);
    private sealed record CellEnded(Worker Worker, string Cell) : WorkerEvent(Worker);
    private sealed record Exited(Worker Worker) : WorkerEvent(Worker);

    public void Execute(StudyExecution run)
    {
        run.ParallelCells = Jobs;
        var events = Channel.CreateUnbounded<WorkerEvent>();
        var waiting = run.Pending.ToList();
        var workers = new List<Worker>();
        try
        {
            while (true)
            {
                // In plan order, so a cell is looked at after the cells it needs.
                foreach (var cell in waiting.ToList())
                {
                    if (run.BlockedBy(cell) is { } reason)
                    {
                        run.Skip(cell, reason);
                        waiting.Remove(cell);
                        continue;
                    }
                    if (!run.Ready(cell)) continue;
                    var idle = workers.FirstOrDefault(w => w.Cell is null);
                    if (idle is null && workers.Count == Jobs) continue;
                    if (idle is null) workers.Add(idle = Worker.Start(this, run, events.Writer));
                    run.ClearOutcome(cell);
                    run.Started(cell);
                    idle.Run(cell);
                    waiting.Remove(cell);
                }
                if (workers.All(w => w.Cell is null))
                {
                    if (waiting.Count == 0) break;
                    throw new InvalidOperationException($"No worker runs a cell, yet {waiting[0].Id} waits for cells that are neither done nor failed.");
                }
                run.ReportActivity(Activity(workers));

                var next = events.Reader.ReadAsync(run.Cancellation).AsTask().GetAwaiter().GetResult();
                switch (next)
                {
                    case Progressed p when p.Worker.Cell?.Id == p.Progress.Cell:
                        p.Worker.Latest = p.Progress;
                        run.ReportProgress(p.Progress);
                        break;
                    case CellEnded e when e.Worker.Cell?.Id == e.Cell:
                        Finish(run, e.Worker);
                        break;
                    case Exited e:
                        // A worker ends by itself only when it crashed or was killed: its cell (if any) failed.
                        if (e.Worker.Cell is not null) Finish(run, e.Worker);
                        workers.Remove(e.Worker);
                        e.Worker.Dispose();
                        break;
                }
            }
            foreach (var worker in workers) worker.Close();
        }
        finally
        {
            // A stop request or an error: no worker outlives the run (training resumes from its last epoch).
            foreach (var worker in workers)
            {
                worker.Kill();
                worker.Dispose();
            }
        }
    }

    private static void Finish(StudyExecution run, Worker worker)
    {
        var cell = worker.Cell!;
        var took = worker.Clock.Elapsed;
        var outcome = worker.Outcome(run.Folder);
        worker.Cell = null;
        worker.Latest = null;
        run.Finished(cell, outcome, took);
    }

    private string Activity(List<Worker> workers)
    {
        var busy = workers.Where(w => w.Cell is not null).ToList();
        return $"{busy.Count} of {Jobs} workers: " + string.Join(", ", busy.Select(w => w.Latest is { } p ? CellCommand.ProgressLine(p) : w.Cell!.Id + ": starting"));
    }

    /// <summary>One salient process running the cells it is handed, one at a time.</summary>
    private sealed class Worker : IDisposable
    {
        private readonly Process process;
        private readonly Queue<string> lastLines = new();

        private Worker(Process process) => this.process = process;

        /// <summary>The cell this worker runs now; null while it waits for one.</summary>
        public CellPlan? Cell { get; set; }
        public CellProgress? Latest { get; set; }
        public Stopwatch Clock { get; } = new();

        public static Worker Start(LocalProcessExecutor executor, StudyExecution run, ChannelWriter<WorkerEvent> events)
        {
            var start = new ProcessStartInfo(executor.SalientCommand[0])
            {
                UseShellExecute = false,
                RedirectStandardInput = true,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };
            foreach (var argument in executor.SalientCommand.Skip(1).Concat(CellCommand.WorkerArguments(run.Folder, executor.ThreadsPerCell)))
                start.ArgumentList.Add(argument);
            var process = new Process { StartInfo = start };
            var worker = new Worker(process);
            process.ErrorDataReceived += (_, e) =>
            {
                if (e.Data is null) return;
                if (CellCommand.TryParseProgress(e.Data, out var progress)) events.TryWrite(new Progressed(worker, progress));
                else worker.Keep(e.Data);
            };
            process.OutputDataReceived += (_, e) =>
            {
                if (e.Data is null) return;
                if (CellCommand.TryParseFinished(e.Data, out var cell)) events.TryWrite(new CellEnded(worker, cell));
                else worker.Keep(e.Data);
            };
            try
            {
                process.Start();
            }
            catch (Win32Exception e)
            {
                process.Dispose();
                throw new SalientException($"Cannot start a salient worker with '{string.Join(" ", executor.SalientCommand)}': {e.Message}.", e);
            }
            process.BeginErrorReadLine();
            process.BeginOutputReadLine();
            // Waits for the process and for the end of its output, so every line is read before the exit is handled.
            process.WaitForExitAsync().ContinueWith(_ => events.TryWrite(new Exited(worker)), TaskScheduler.Default);
            return worker;
        }

        /// <summary>Hands the worker its next cell.</summary>
        public void Run(CellPlan cell)
        {
            Cell = cell;
            Clock.Restart();
            lock (lastLines) lastLines.Clear();
            try
            {
                process.StandardInput.WriteLine(cell.Id);
                process.StandardInput.Flush();
            }
            catch (IOException)
            {
                // It has already ended: its exit, on its way, fails the cell with what it printed.
            }
        }

        /// <summary>No more cells: the worker ends once its input closes.</summary>
        public void Close()
        {
            try
            {
                process.StandardInput.Close();
                process.WaitForExit();
            }
            catch (IOException)
            {
            }
        }

        private void Keep(string line)
        {
            if (line.Contains("NNPACK")) return; // libtorch's harmless note on this hardware
            lock (lastLines)
            {
                lastLines.Enqueue(line);
                if (lastLines.Count > LinesKept) lastLines.Dequeue();
            }
        }

        /// <summary>
        /// The outcome the worker wrote; if it wrote none (it crashed or was killed), a failed outcome
        /// with its exit code and last lines, written to the cell's file like any other.
        /// </summary>
        public CellOutcome Outcome(string folder)
        {
            var cell = Cell!;
            var file = Path.Combine(folder, cell.OutcomeFile);
            string problem;
            if (File.Exists(file))
            {
                try
                {
                    var written = CellOutcome.Read(file);
                    if (written.Cell == cell.Id && written.Hash == cell.Hash) return written;
                    problem = $"its outcome file {file} is for settings hash {written.Hash}, not {cell.Hash} (the study's settings changed while it ran)";
                }
                catch (SalientException e)
                {
                    problem = e.Message;
                }
            }
            else
            {
                string said;
                lock (lastLines) said = string.Join(" | ", lastLines);
                var ended = process.HasExited ? $"ended with exit code {process.ExitCode}" : "said it finished";
                problem = $"its worker process {ended} without writing an outcome" + (said.Length > 0 ? $"; it printed: {said}" : "");
            }
            var failed = new CellOutcome { Cell = cell.Id, Kind = cell.Kind, Hash = cell.Hash, Status = CellOutcome.Failed, Error = problem };
            failed.Write(folder, cell);
            return failed;
        }

        public void Kill()
        {
            try
            {
                process.Kill(entireProcessTree: true);
                process.WaitForExit();
            }
            catch (InvalidOperationException)
            {
                // It had already ended.
            }
        }

        public void Dispose() => process.Dispose();
    }
}
