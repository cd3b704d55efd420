using Salient.Reporting;
using Salient.Studies;

namespace Salient.Tests.Studies;

public class StudyTests
{
    private static readonly StudySettings Tiny = StudySettings.Preset("tiny");

    [Fact]
    public void TinyStudyRunsEndToEndAndReportsEveryTableAndFigure()
    {
        using var temp = new TempFolder();
        var outcome = new StudyRunner(Tiny, temp.Path).Run();
        Assert.Empty(outcome.Failed);
        // 11 models × (train + gradient norms + 3 methods).
        Assert.Equal(11 * 5, outcome.Computed.Count);

        var index = StudyReport.Write(temp.Path);
        var report = Path.GetDirectoryName(index)!;
        foreach (var file in new[] { "accuracy", "gini", "gini-difference-vg", "gini-difference-ig", "gini-difference-sg", "road-morf", "road-lerf" })
        {
            Assert.True(File.Exists(Path.Combine(report, file + ".md")), file);
            Assert.True(File.Exists(Path.Combine(report, file + ".csv")), file);
        }
        foreach (var method in new[] { "vg", "ig", "sg" })
            foreach (var order in new[] { "morf", "lerf" })
                Assert.True(new FileInfo(Path.Combine(report, $"road-{order}-{method}.png")).Length > 1000);
        Assert.True(File.Exists(Path.Combine(report, "saliency-0.png")));

        var accuracy = File.ReadAllLines(Path.Combine(report, "accuracy.csv"));
        Assert.Equal(1 + 11, accuracy.Length);
        Assert.StartsWith("Nat,Nat,–,", accuracy[1]);
        var html = File.ReadAllText(index);
        Assert.Contains("Gini difference to the natural model", html);
        Assert.Equal(6 + 2, html.Split("data:image/png;base64,").Length - 1); // 6 ROAD plots + 2 saliency grids
        var ginis = File.ReadAllLines(Path.Combine(report, "gini-difference-vg.csv"));
        Assert.Equal([",Pre,Post-FT,Post-noFT", "Adv,"], [ginis[0], ginis[1][..4]]);
    }

    [Fact]
    public void AStoppedStudyResumesWithoutRecomputingFinishedCells()
    {
        using var temp = new TempFolder();
        using var stop = new CancellationTokenSource();
        var finished = new HashSet<string>();
        var runner = new StudyRunner(Tiny, temp.Path, new Progress(p => { if (p.CellsDone >= 4) stop.Cancel(); }), stop.Token);
        Assert.Throws<OperationCanceledException>(() => runner.Run());

        var outcome = new StudyRunner(Tiny, temp.Path).Run();
        Assert.Empty(outcome.Failed);
        Assert.Equal(4, outcome.Cached.Count);
        Assert.Equal(["train/Nat/s0", "train/Adv/s0", "train/L1-Pre/s0", "train/L1-Post-noFT/s0"], outcome.Cached);
        Assert.Equal(11 * 5 - 4, outcome.Computed.Count);
    }

    [Fact]
    public void ChangingAMetricSettingRerunsOnlyTheExplanationCells()
    {
        using var temp = new TempFolder();
        new StudyRunner(Tiny, temp.Path).Run();
        var changed = Tiny with { Metrics = Tiny.Metrics with { RoadPercentages = [20, 60] } };
        var outcome = new StudyRunner(changed, temp.Path).Run();
        Assert.Empty(outcome.Failed);
        Assert.All(outcome.Computed, c => Assert.StartsWith("explain/", c));
        Assert.Equal(11 * 3, outcome.Computed.Count);
        Assert.Equal(11 * 2, outcome.Cached.Count);
        using var store = new ResultStore(Path.Combine(temp.Path, StudyRunner.DatabaseFile));
        var percentages = store.Query("SELECT DISTINCT percentage FROM road ORDER BY percentage", r => r.GetDouble(0));
        Assert.Equal([20.0, 60.0], percentages);
    }

    [Fact]
    public void SettingsRoundTripThroughJsonAndBadSettingsAreNamed()
    {
        using var temp = new TempFolder();
        File.WriteAllText(temp["s.json"], Tiny.ToJson());
        var loaded = StudySettings.Load(temp["s.json"]);
        Assert.Equal(Tiny.ToJson(), loaded.ToJson());
        File.WriteAllText(temp["bad.json"], Tiny.ToJson().Replace("\"vg\"", "\"lime\""));
        var e = Assert.Throws<SalientException>(() => StudySettings.Load(temp["bad.json"]));
        Assert.Contains("'lime'", e.Message);
        var missing = Assert.Throws<SalientException>(() => StudySettings.Load(temp["none.json"]));
        Assert.Contains("--write-settings", missing.Message);
    }

    [Fact]
    public void SeveralSeedsGiveAnIntervalOverSeeds()
    {
        using var temp = new TempFolder();
        var settings = Tiny with { Seeds = [0, 1], Strategies = ["natural"], PruningMethods = [], Explanations = Tiny.Explanations with { Methods = ["vg"] } };
        var outcome = new StudyRunner(settings, temp.Path).Run();
        Assert.Empty(outcome.Failed);
        Assert.Equal(2 * 3, outcome.Computed.Count); // per seed: train, gradient norms, VG
        using var store = new ResultStore(Path.Combine(temp.Path, StudyRunner.DatabaseFile));
        var accuracy = StudyReport.Tables(store).Single(t => t.File == "accuracy");
        var cell = accuracy.Rows.Single()[3];
        var perSeed = store.Query("SELECT accuracy FROM accuracy ORDER BY seed", r => r.GetDouble(0));
        Assert.Equal(2, perSeed.Count);
        // Mean of the two seeds' accuracies, ± the t-interval half-width over 2 values (t = 12.706).
        double mean = perSeed.Average(), half = 12.706204736 * Math.Abs(perSeed[0] - perSeed[1]) / 2;
        Assert.Equal($"{mean:F4} ± {half:F4}".Replace(",", "."), cell);
    }

    private sealed class Progress(Action<StudyProgress> report) : IProgress<StudyProgress>
    {
        public void Report(StudyProgress value) => report(value);
    }
}
