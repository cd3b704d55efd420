using System.CommandLine;
using Salient.Execution;
using Salient.Reporting;
using Salient.Studies;
using Spectre.Console;

namespace Salient.Cli.Commands;

internal static class StudyCommand
{
    public static Command Create()
    {
        var preset = new Option<string>("--preset") { Description = $"Built-in settings: {string.Join(", ", StudySettings.PresetNames)} (quick: synthetic signs, width-0.25 VGG-16, all 11 models)", DefaultValueFactory = _ => "quick" };
        var settingsFile = new Option<string?>("--settings") { Description = "Study settings JSON (overrides --preset)" };
        var outDir = new Option<string?>("--out") { Description = "Study folder (default: studies/<name>); rerunning resumes it" };
        var writeSettings = new Option<string?>("--write-settings") { Description = "Write the chosen settings as JSON to this file and stop (a starting point for your own study)" };
        var dryRun = new Option<bool>("--dry-run") { Description = "List the cells, what each needs and its estimated time on this machine, and stop" };
        var cellOption = new Option<string?>("--cell") { Description = "Run only this cell (its dependencies must be done), write its outcome file and stop; what executors run" };
        var executorOption = new Option<string>("--executor") { Description = "Where cells run: local (this process)", DefaultValueFactory = _ => "local" };
        executorOption.AcceptOnlyFromAmong("local");
        var command = new Command("study", "Run a whole study (train, prune, explain, evaluate every model of the grid) and write its report; resumable")
            { preset, settingsFile, outDir, writeSettings, dryRun, cellOption, executorOption };
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
            if (parse.GetValue(cellOption) is { } cellId) return RunCell(plan, folder, cellId);

            Console.Error.WriteLine("Measuring this machine's speed on the study's model ...");
            var estimate = StudyEstimate.Measure(settings);
            if (parse.GetValue(dryRun))
            {
                PrintPlan(plan, estimate);
                return 0;
            }
            using var stop = new CancellationTokenSource();
            ConsoleCancelEventHandler onCtrlC = (_, e) => { e.Cancel = true; stop.Cancel(); };
            Console.CancelKeyPress += onCtrlC;
            StudyOutcome outcome;
            try
            {
                outcome = RunWithProgress(settings, plan, folder, estimate, stop.Token);
            }
            catch (OperationCanceledException)
            {
                Console.WriteLine($"Stopped. Finished cells are kept in {folder}; run the same command again to resume.");
                return 130;
            }
            finally
            {
                Console.CancelKeyPress -= onCtrlC;
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

    /// <summary>One cell in this process: the unit a worker process or a cluster job runs.</summary>
    private static int RunCell(StudyPlan plan, string folder, string cellId)
    {
        var cell = plan.Get(cellId);
        using var runner = new CellRunner(plan, folder, new SyncProgress<CellProgress>(p => Console.Error.WriteLine($"{p.Cell}: {p.Stage} {p.Fraction:P0}")));
        var outcome = runner.Run(cell);
        Console.WriteLine(outcome.Status == CellOutcome.Done
            ? $"{cell.Id}: done in {outcome.Seconds:F1} s; outcome in {Path.Combine(folder, cell.OutcomeFile)}"
            : $"{cell.Id}: failed: {outcome.Error}");
        return outcome.Status == CellOutcome.Done ? 0 : 1;
    }

    private static void PrintPlan(StudyPlan plan, StudyEstimate estimate)
    {
        TerminalTables.Write(new ReportTable("cells", $"The cells of study '{plan.Settings.Name}'", "", ["cell", "estimated time", "needs"],
            plan.Cells.Select(c => new[] { c.Id, Duration(TimeSpan.FromSeconds(estimate.Seconds(c))), string.Join(" ", c.DependsOn) }).ToList()));
        Console.WriteLine($"{plan.Cells.Count} cells; estimated {Duration(estimate.Total(plan.Cells))} of computing on this machine ({estimate.SecondsPerPass * 1000:F2} ms per forward+backward pass of one image).");
    }

    internal static string Duration(TimeSpan t) => t.TotalHours >= 1 ? $"{(int)t.TotalHours} h {t.Minutes:00} min" : t.TotalMinutes >= 1 ? $"{(int)t.TotalMinutes} min {t.Seconds:00} s" : $"{t.TotalSeconds:F0} s";

    private static StudyOutcome RunWithProgress(StudySettings settings, StudyPlan plan, string folder, StudyEstimate estimate, CancellationToken stop)
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
                    whole.MaxValue = Math.Max(1, p.CellsTotal);
                    whole.Value = p.CellsDone;
                    whole.Description = $"study {settings.Name}: {p.CellsDone}/{p.CellsTotal} cells" + (p.Remaining is { } left ? $", about {Duration(left)} left" : "");
                    cell.Value = Math.Clamp(p.CellFraction, 0, 1);
                    cell.Description = Markup.Escape($"{p.Cell}: {p.Stage}");
                }), stop, new InProcessExecutor(), estimate);
                outcome = runner.Run();
                whole.Value = whole.MaxValue;
                cell.Value = 1;
            });
        return outcome!;
    }
}
