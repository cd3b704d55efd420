using System.ComponentModel;
using System.Diagnostics;
using System.Threading.Channels;
using Salient.Studies;

namespace Salient.Execution;

/// <summary>
/// Runs up to <see cref="Jobs"/> cells at once, each in its own salient process
/// (<see cref="CellCommand"/>) with <see cref="ThreadsPerCell"/> torch threads: for machines with
/// more cores than one cell keeps busy. A cell starts as soon as the cells it needs are done; each
/// outcome is imported by this process (the one writer of the store) as its worker ends.
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
                    }
                    else if (run.Ready(cell) && workers.Count < Jobs)
                    {
                        run.ClearOutcome(cell);
                        run.Started(cell);
                        workers.Add(Worker.Start(this, run, cell, events.Writer));
                        waiting.Remove(cell);
                    }
                }
                if (workers.Count == 0)
                {
                    if (waiting.Count == 0) return;
                    throw new InvalidOperationException($"No worker runs, yet {waiting[0].Id} waits for cells that are neither done nor failed.");
                }
                run.ReportActivity(Activity(workers));

                var next = events.Reader.ReadAsync(run.Cancellation).AsTask().GetAwaiter().GetResult();
                switch (next)
                {
                    case Progressed p:
                        p.Worker.Latest = p.Progress;
                        run.ReportProgress(p.Progress);
                        break;
                    case Exited e:
                        workers.Remove(e.Worker);
                        run.Finished(e.Worker.Cell, e.Worker.Outcome(run.Folder), e.Worker.Clock.Elapsed);
                        e.Worker.Dispose();
                        break;
                }
            }
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

    private string Activity(List<Worker> workers) =>
        $"{workers.Count} of {Jobs} workers: " + string.Join(", ", workers.Select(w => w.Latest is { } p ? CellCommand.ProgressLine(p) : w.Cell.Id + ": starting"));

    /// <summary>One salient process running one cell.</summary>
    private sealed class Worker : IDisposable
    {
        private readonly Process process;
        private readonly Queue<string> lastLines = new();

        private Worker(CellPlan cell, Process process)
        {
            Cell = cell;
            this.process = process;
        }

        public CellPlan Cell { get; }
        public CellProgress? Latest { get; set; }
        public Stopwatch Clock { get; } = Stopwatch.StartNew();

        public static Worker Start(LocalProcessExecutor executor, StudyExecution run, CellPlan cell, ChannelWriter<WorkerEvent> events)
        {
            var start = new ProcessStartInfo(executor.SalientCommand[0])
            {
                UseShellExecute = false,
                RedirectStandardInput = true,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };
            foreach (var argument in executor.SalientCommand.Skip(1).Concat(CellCommand.Arguments(run.Folder, cell, executor.ThreadsPerCell)))
                start.ArgumentList.Add(argument);
            var process = new Process { StartInfo = start };
            var worker = new Worker(cell, process);
            process.ErrorDataReceived += (_, e) =>
            {
                if (e.Data is null) return;
                if (CellCommand.TryParseProgress(e.Data, out var progress) && progress.Cell == cell.Id) events.TryWrite(new Progressed(worker, progress));
                else worker.Keep(e.Data);
            };
            process.OutputDataReceived += (_, e) =>
            {
                if (e.Data is not null) worker.Keep(e.Data);
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
            process.StandardInput.Close();
            process.BeginErrorReadLine();
            process.BeginOutputReadLine();
            // Waits for the process and for the end of its output, so every line is read before the exit is handled.
            process.WaitForExitAsync().ContinueWith(_ => events.TryWrite(new Exited(worker)), TaskScheduler.Default);
            return worker;
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
            var file = Path.Combine(folder, Cell.OutcomeFile);
            string problem;
            if (File.Exists(file))
            {
                try
                {
                    var written = CellOutcome.Read(file);
                    if (written.Cell == Cell.Id && written.Hash == Cell.Hash) return written;
                    problem = $"its outcome file {file} is for settings hash {written.Hash}, not {Cell.Hash} (the study's settings changed while it ran)";
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
                problem = $"its worker process ended with exit code {process.ExitCode} without writing an outcome" + (said.Length > 0 ? $"; it printed: {said}" : "");
            }
            var failed = new CellOutcome { Cell = Cell.Id, Kind = Cell.Kind, Hash = Cell.Hash, Status = CellOutcome.Failed, Error = problem };
            failed.Write(folder, Cell);
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
