using System.CommandLine;
using Salient.Reporting;
using Salient.Studies;
using Spectre.Console;

namespace Salient.Cli.Commands;

internal static class StudyCommand
{
    public static Command Create()
    {
        var preset = new Option<string>("--preset") { Description = $"Built-in settings: {string.Join(", ", StudySettings.PresetNames)} (quick: synthetic signs, width-0.25 VGG-16, all 11 models, ~10 min)", DefaultValueFactory = _ => "quick" };
        var settingsFile = new Option<string?>("--settings") { Description = "Study settings JSON (overrides --preset)" };
        var outDir = new Option<string?>("--out") { Description = "Study folder (default: studies/<name>); rerunning resumes it" };
        var writeSettings = new Option<string?>("--write-settings") { Description = "Write the chosen settings as JSON to this file and stop (a starting point for your own study)" };
        var command = new Command("study", "Run a whole study (train, prune, explain, evaluate every model of the grid) and write its report; resumable") { preset, settingsFile, outDir, writeSettings };
        command.SetAction(CommandRunner.Guard(parse =>
        {
            var settings = parse.GetValue(settingsFile) is { } file ? StudySettings.Load(file) : StudySettings.Preset(parse.GetValue(preset)!);
            settings.Validate();
            if (parse.GetValue(writeSettings) is { } target)
            {
                AtomicFile.WriteAllText(target, settings.ToJson());
                Console.WriteLine($"Wrote the '{settings.Name}' settings to {target}.");
                return 0;
            }
            var folder = parse.GetValue(outDir) ?? Path.Combine("studies", settings.Name);
            using var stop = new CancellationTokenSource();
            ConsoleCancelEventHandler onCtrlC = (_, e) => { e.Cancel = true; stop.Cancel(); };
            Console.CancelKeyPress += onCtrlC;
            StudyOutcome outcome;
            try
            {
                outcome = RunWithProgress(settings, folder, stop.Token);
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
            Console.WriteLine($"Cells computed: {outcome.Computed.Count}, reused: {outcome.Cached.Count}, failed: {outcome.Failed.Count}.");
            foreach (var (cell, error) in outcome.Failed) Console.WriteLine($"  failed {cell}: {error}");
            ResultsCommand.Print(folder);
            var report = StudyReport.Write(folder);
            Console.WriteLine($"Report: {report}");
            return outcome.Failed.Count == 0 ? 0 : 1;
        }));
        return command;
    }

    private static StudyOutcome RunWithProgress(StudySettings settings, string folder, CancellationToken stop)
    {
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
                    whole.Description = $"study {settings.Name}: {p.CellsDone}/{p.CellsTotal} cells";
                    cell.Value = Math.Clamp(p.CellFraction, 0, 1);
                    cell.Description = Markup.Escape($"{p.Cell}: {p.Stage}");
                }), stop);
                outcome = runner.Run();
                whole.Value = whole.MaxValue;
                cell.Value = 1;
            });
        return outcome!;
    }
}
