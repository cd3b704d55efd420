using System.Diagnostics;
using Salient.Studies;
using static Salient.Tests.Execution.StudyGrids;

namespace Salient.Tests.Execution;

/// <summary>A study run in the background or as a batch job is stopped by SIGTERM, not Ctrl+C.</summary>
public class StopSignalTests
{
    [Fact]
    public async Task SigtermStopsAStudyLikeCtrlCAndItResumes()
    {
        using var folder = new TempFolder();
        var settings = StudySettings.Preset("tiny");
        File.WriteAllText(folder["settings.json"], settings.ToJson());
        var start = new ProcessStartInfo(SalientProgram[0]) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "study", "--settings", folder["settings.json"], "--out", folder["study"] }) start.ArgumentList.Add(a);
        using var study = Process.Start(start)!;
        var output = study.StandardOutput.ReadToEndAsync();
        var errors = study.StandardError.ReadToEndAsync();

        // Once a few cells are done, stop it as kill, scancel or a time limit would.
        var outcomes = Path.Combine(folder["study"], StudyPlan.CellsFolder);
        var waited = Stopwatch.StartNew();
        while ((!Directory.Exists(outcomes) || Directory.GetFiles(outcomes, "*.json").Length < 3) && !study.HasExited && waited.Elapsed < TimeSpan.FromMinutes(3))
            await Task.Delay(50);
        // (A message built from the output would wait for the process to end: read it only after.)
        if (study.HasExited) Assert.Fail("the study ended before it could be stopped: " + await output + await errors);
        Assert.Equal(0, Kill(study.Id, Sigterm));
        Assert.True(study.WaitForExit(TimeSpan.FromMinutes(2)), "the study did not stop");

        var (printed, complained) = (await output, await errors);
        Assert.True(study.ExitCode == 130, $"exit code {study.ExitCode}: " + printed + complained);
        Assert.Contains("Stopped. Finished cells are kept", printed);
        Assert.False(File.Exists(Path.Combine(folder["study"], "report", "index.html")));
        int done = Directory.GetFiles(outcomes, "*.json").Length;
        Assert.InRange(done, 3, TinyCellCount - 1);
        var resumed = new StudyRunner(settings, folder["study"]).Run();
        Assert.Empty(resumed.Failed);
        Assert.Equal(done, resumed.Cached.Count);
    }

    private const int Sigterm = 15;

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);

    private static int TinyCellCount => StudyPlan.Build(StudySettings.Preset("tiny")).Cells.Count;
}
