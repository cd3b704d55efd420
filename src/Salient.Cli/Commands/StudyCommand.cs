using System.Runtime.InteropServices;
using System.CommandLine;
using Salient.Execution;
using Salient.Reporting;
using Salient.Studies;
using Spectre.Console;
using static TorchSharp.torch;

namespace Salient.Cli.Commands;

internal static class StudyCommand
{
    public static Command Create()
    {
        var preset = new Option<string>("--preset") { Description = $"Built-in settings: {string.Join(", ", StudySettings.PresetNames)} (quick: synthetic signs, width-0.25 VGG-16, all 11 models)", DefaultValueFactory = _ => "quick" };
        var settingsFile = new Option<string?>("--settings") { Description = "Study settings JSON (overrides --preset)" };
        var outDir = new Option<string?>("--out") { Description = "Study folder (default: studies/<name>); rerunning resumes it" };
        var writeSettings = new Option<string?>("--write-settings") { Description = "Write the chosen settings as JSON to this file and stop (a starting point for your own study)" };
        var dryRun = new Option<bool>("--dry-run") { Description = "List the cells, which are done in the study folder, what each needs and the estimated time and CPU time of those left on this machine, and stop" };
        var cellOption = new Option<string?>("--cell") { Description = "Run only this cell (its dependencies must be done; a cell already done with these settings is not run again), write its outcome file and stop; what workers and Slurm jobs run" };
        var worker = new Option<bool>("--worker") { Description = "Run the cells whose ids arrive on standard input, one per line, until it closes; what --jobs workers run", Hidden = true };
        var executorOption = new Option<string>("--executor") { Description = "Where cells run: local (this machine) or slurm (one Slurm job per cell, options from the settings' 'slurm' section)", DefaultValueFactory = _ => "local" };
        executorOption.AcceptOnlyFromAmong("local", "slurm");
        var jobsOption = new Option<int>("--jobs") { Description = "Local executor: cells at once, each in its own salient process (1: one after another in this process)", DefaultValueFactory = _ => 1 };
        var threadsOption = new Option<int?>("--threads") { Description = "Torch threads per cell (default: this machine's cores, divided among --jobs); Slurm jobs use 'slurm.cpusPerTask'" };
        var noWait = new Option<bool>("--no-wait") { Description = "Slurm executor: submit the jobs and return; a later study, results or report picks up what finished" };
        var command = new Command("study", "Run a whole study (train, prune, explain, evaluate every model of the grid) and write its report; resumable")
            { preset, settingsFile, outDir, writeSettings, dryRun, cellOption, worker, executorOption, jobsOption, threadsOption, noWait };
        command.SetAction(CommandRunner.Guard(parse =>
        {
            var settings = parse.GetValue(settingsFile) is { } file ? StudySettings.Load(file) : StudySettings.Preset(parse.GetValue(preset)!);
            var plan = StudyPlan.Build(settings);
            if (parse.GetValue(writeSettings) is { } target)
            {
                AtomicFile.WriteAllText(target, settings.ToJson());
                Console.WriteLine($"Wrote the '{settings.Name}' settings to {target}.");
                return 0;
            }
            var folder = parse.GetValue(outDir) ?? Path.Combine("studies", settings.Name);
            var (slurm, jobs, threads) = (parse.GetValue(executorOption) == "slurm", parse.GetValue(jobsOption), parse.GetValue(threadsOption));
            if (jobs < 1) throw new SalientException($"--jobs must be at least 1, got {jobs}.");
            if (threads is < 1) throw new SalientException($"--threads must be at least 1, got {threads}.");
            if (slurm && jobs != 1) throw new SalientException("--jobs is for the local executor; with --executor slurm every cell is its own job.");
            if (slurm && threads is not null) throw new SalientException("--threads is for local runs; Slurm jobs use 'slurm.cpusPerTask' threads (set it in the settings).");
            if (!slurm && parse.GetValue(noWait)) throw new SalientException("--no-wait is for --executor slurm; a local run always waits for its cells.");
            // Before any torch work: the thread count is fixed per process (and changes a result's last bits).
            if (threads is { } own && (jobs == 1 || parse.GetValue(cellOption) is not null || parse.GetValue(worker))) set_num_threads(own);
            if (parse.GetValue(cellOption) is { } cellId) return RunCell(plan, folder, cellId);
            if (parse.GetValue(worker)) return RunWorker(plan, folder);

            var dry = parse.GetValue(dryRun);
            ICellExecutor executor = dry ? new InProcessExecutor()
                : slurm ? new SlurmExecutor(settings.Slurm, wait: !parse.GetValue(noWait))
                : jobs > 1 ? new LocalProcessExecutor(ThisSalient(), jobs, threads ?? Math.Max(1, Environment.ProcessorCount / jobs))
                : new InProcessExecutor();
            Console.Error.WriteLine("Measuring this machine's speed on the study's model ...");
            var estimate = StudyEstimate.Measure(settings);
            if (dry)
            {
                PrintPlan(plan, estimate, StudyRunner.DoneCells(plan, folder));
                return 0;
            }
            using var stop = new CancellationTokenSource();
            ConsoleCancelEventHandler onCtrlC = (_, e) => { e.Cancel = true; stop.Cancel(); };
            Console.CancelKeyPress += onCtrlC;
            // A study in the background or in a batch job is stopped with SIGTERM (kill, scancel, a time
            // limit), where Ctrl+C cannot reach it: it stops the same way, keeping every finished cell.
            using var onTerminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; stop.Cancel(); });
            StudyOutcome outcome;
            try
            {
                outcome = RunWithProgress(settings, plan, folder, estimate, executor, stop.Token);
            }
            catch (OperationCanceledException)
            {
                Console.WriteLine(slurm
                    ? $"Stopped following the Slurm jobs; they keep running. Run the same command again to follow them, or 'salient results --study {folder}' to see what finished."
                    : $"Stopped. Finished cells are kept in {folder}; run the same command again to resume.");
                return 130;
            }
            finally
            {
                Console.CancelKeyPress -= onCtrlC;
            }
            if (outcome.Running.Count > 0)
            {
                Console.WriteLine($"Cells queued or running as Slurm jobs: {outcome.Running.Count}. Run the same command again to follow them " +
                                  $"(it resubmits only cells that are neither finished nor queued), or 'salient results --study {folder}' to see what finished.");
                return 0;
            }
            Console.WriteLine($"Cells computed: {outcome.Computed.Count}, reused: {outcome.Cached.Count}, failed or skipped: {outcome.Failed.Count}.");
            foreach (var (cell, error) in outcome.Failed) Console.WriteLine($"  {cell}: {error}");
            ResultsCommand.Print(folder);
            var report = StudyReport.Write(folder);
            Console.WriteLine($"Report: {report}");
            return outcome.Failed.Count == 0 ? 0 : 1;
        }));
        return command;
    }

    /// <summary>
    /// The command that started this process, to start workers the same way: the published or built
    /// <c>salient</c> program itself, or <c>dotnet</c> with this salient.dll.
    /// </summary>
    private static string[] ThisSalient()
    {
        var host = Environment.ProcessPath ?? throw new SalientException("Cannot tell which program runs salient here, so no worker can be started; use --jobs 1.");
        return Path.GetFileNameWithoutExtension(host) == "dotnet" ? [host, typeof(StudyCommand).Assembly.Location] : [host];
    }

    /// <summary>One cell in this process: the unit a worker process or a cluster job runs.</summary>
    private static int RunCell(StudyPlan plan, string folder, string cellId)
    {
        var cell = plan.Get(cellId);
        using var runner = new CellRunner(plan, folder, new SyncProgress<CellProgress>(p => Console.Error.WriteLine(CellCommand.ProgressLine(p))));
        if (runner.IsDone(cell))
        {
            Console.WriteLine($"{cell.Id}: already done with these settings; outcome in {Path.Combine(folder, cell.OutcomeFile)}. Nothing to run.");
            return 0;
        }
        var outcome = runner.Run(cell);
        Console.WriteLine(outcome.Status == CellOutcome.Done
            ? $"{cell.Id}: done in {outcome.Seconds:F1} s; outcome in {Path.Combine(folder, cell.OutcomeFile)}"
            : $"{cell.Id}: failed: {outcome.Error}");
        return outcome.Status == CellOutcome.Done ? 0 : 1;
    }

    /// <summary>
    /// Cells one after another as the coordinator hands them over (<see cref="LocalProcessExecutor"/>):
    /// one process start and one data load for many cells.
    /// </summary>
    private static int RunWorker(StudyPlan plan, string folder)
    {
        using var runner = new CellRunner(plan, folder, new SyncProgress<CellProgress>(p => Console.Error.WriteLine(CellCommand.ProgressLine(p))));
        while (Console.In.ReadLine() is { } id)
        {
            runner.Run(plan.Get(id.Trim()));
            Console.Out.WriteLine(CellCommand.FinishedLine(id.Trim()));
            Console.Out.Flush();
        }
        return 0;
    }

    private static void PrintPlan(StudyPlan plan, StudyEstimate estimate, IReadOnlySet<string> done)
    {
        // The measurement kept every torch thread busy: its CPU time is the wall time times the threads.
        int threads = get_num_threads();
        double Cpu(CellPlan c) => estimate.Seconds(c) * threads;
        var left = plan.Cells.Where(c => !done.Contains(c.Id)).ToList();
        TerminalTables.Write(new ReportTable("cells", $"The cells of study '{plan.Settings.Name}'", "",
            ["cell", "state", "needs", $"time ({threads} threads)", "CPU time"],
            plan.Cells.Select(c => done.Contains(c.Id)
                ? new[] { c.Id, "done", string.Join(" ", c.DependsOn), "", "" }
                : [c.Id, "to run", string.Join(" ", c.DependsOn), Duration(TimeSpan.FromSeconds(estimate.Seconds(c))), Duration(TimeSpan.FromSeconds(Cpu(c)))]).ToList()));
        if (left.Count == 0)
        {
            Console.WriteLine($"All {plan.Cells.Count} cells are done; a run would only write the report.");
            return;
        }
        TerminalTables.Write(new ReportTable("kinds", "Cells to run, by kind (one Slurm job each)", "", ["kind", "cells", "CPU time, all", "CPU time, longest cell"],
            left.GroupBy(c => c.Kind).Select(g => new[]
            {
                g.Key.ToString().ToLowerInvariant(), g.Count().ToString(), Duration(TimeSpan.FromSeconds(g.Sum(Cpu))),
                $"{Duration(TimeSpan.FromSeconds(g.Max(Cpu)))} ({g.MaxBy(Cpu)!.Id})",
            }).ToList()));
        var cells = done.Count == 0 ? $"{plan.Cells.Count} cells" : $"{plan.Cells.Count} cells, {done.Count} done, {left.Count} to run";
        Console.WriteLine($"{cells}; estimated {Duration(estimate.Total(left))} of computing on this machine with {threads} torch threads, " +
                          $"{Duration(TimeSpan.FromSeconds(left.Sum(Cpu)))} of CPU time ({estimate.SecondsPerPass * 1000:F2} ms per image of a training step, counted as one forward+backward pass).");
    }

    internal static string Duration(TimeSpan t) => t.TotalHours >= 1 ? $"{(int)t.TotalHours} h {t.Minutes:00} min" : t.TotalMinutes >= 1 ? $"{(int)t.TotalMinutes} min {t.Seconds:00} s" : $"{t.TotalSeconds:F0} s";

    private static StudyOutcome RunWithProgress(StudySettings settings, StudyPlan plan, string folder, StudyEstimate estimate, ICellExecutor executor, CancellationToken stop)
    {
        Console.WriteLine($"Study '{settings.Name}': {plan.Cells.Count} cells, estimated {Duration(estimate.Total(plan.Cells))} on this machine if none is done yet; folder {folder}.");
        StudyOutcome? outcome = null;
        AnsiConsole.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
            .Start(ctx =>
            {
                var whole = ctx.AddTask("study", maxValue: 1);
                var cell = ctx.AddTask("cell", maxValue: 1);
                var runner = new StudyRunner(settings, folder, new SyncProgress<StudyProgress>(p =>
                {
                    if (p.Message is { } message)
                    {
                        AnsiConsole.WriteLine(message);
                        return;
                    }
                    whole.MaxValue = Math.Max(1, p.CellsTotal);
                    whole.Value = p.CellsDone;
                    whole.Description = $"study {settings.Name}: {p.CellsDone}/{p.CellsTotal} cells" + (p.Remaining is { } left ? $", about {Duration(left)} left" : "");
                    cell.Value = Math.Clamp(p.CellFraction, 0, 1);
                    cell.Description = Markup.Escape(p.Activity ?? $"{p.Cell}: {p.Stage}");
                }), stop, executor, estimate);
                outcome = runner.Run();
                whole.Value = whole.MaxValue;
                cell.Value = 1;
            });
        return outcome!;
    }
}
