using System.Text.Json.Nodes;
using Salient.Evaluation.Metrics;
using Salient.Reporting;
using Salient.Studies;

namespace Salient.Tests.Reporting;

public class NewMetricsStudyTests
{
    [Fact]
    public void ATinyStudyScoresLocalisationSanityChecksAndRobustnessAndReportsThemWithIntervals()
    {
        using var temp = new TempFolder();
        var tiny = StudySettings.Preset("tiny");
        string[] names = ["mass-accuracy", "rank-accuracy", "pointing-game", "mprt", "random-logit", "max-sensitivity"];
        var metrics = names.ToDictionary(n => n, n => tiny.Metrics[n]);
        // Every explained image is a candidate, so the scored ones are the correctly classified ones as for the cheap metrics.
        metrics["mprt"] = ExplanationMetrics.WriteSettings(new ModelRandomisationSettings { Images = 8 });
        metrics["max-sensitivity"] = ExplanationMetrics.WriteSettings(new MaxSensitivitySettings { Images = 8, Samples = 3 });
        var settings = tiny with { PruningMethods = [], Explanations = tiny.Explanations with { Methods = ["vg"] }, Metrics = metrics };

        var outcome = new StudyRunner(settings, temp.Path).Run();
        Assert.Empty(outcome.Failed);
        Assert.Equal(1 + 2 * (1 + 1 + names.Length), outcome.Computed.Count); // data; per model: train, explain, one cell per metric

        var report = Path.GetDirectoryName(StudyReport.Write(temp.Path))!;
        var tables = StudyReport.Read(temp.Path).Tables;
        foreach (var key in new[] { "mass-accuracy", "rank-accuracy", "pointing-game", "mprt-spearman", "mprt-ssim", "random-logit", "max-sensitivity" })
        {
            var summary = tables.Single(t => t.File == key);
            Assert.NotEqual("–", summary.Rows.Single(r => r[0] == "Nat")[1]);
            var difference = tables.Single(t => t.File == $"{key}-difference-vg");
            Assert.Matches(@"^-?\d+\.\d+ \[-?\d+\.\d+, -?\d+\.\d+\]\*?$", difference.Rows.Single(r => r[0] == "Adv")[1]);
            Assert.True(File.Exists(Path.Combine(report, $"{key}-difference-vg.csv")), key);
        }
        var mprt = tables.Single(t => t.File == "mprt-vg");
        Assert.Equal(["model", "similarity", "k=1"], mprt.Header[..3]);
        Assert.Equal(["k=16", "check"], mprt.Header[^2..]);
        Assert.Contains(mprt.Rows.Single(r => r[0] == "Nat" && r[1] == "Spearman ρ")[^1], new[] { "passes", "fails" });
        Assert.True(new FileInfo(Path.Combine(report, "mprt-vg.png")).Length > 1000);
        Assert.True(new FileInfo(Path.Combine(report, "mprt-ssim-vg.png")).Length > 1000);
    }
}
