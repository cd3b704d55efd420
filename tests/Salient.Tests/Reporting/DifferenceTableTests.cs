using Salient.Evaluation;
using Salient.Evaluation.Metrics;
using Salient.Reporting;
using Salient.Studies;

namespace Salient.Tests.Reporting;

public class DifferenceTableTests
{
    private static readonly IReadOnlyList<ModelPlan> Models = StudyGrid.Models(StudySettings.Preset("tiny") with { PruningMethods = ["l1"], PruningFlows = ["pre"] });

    [Fact]
    public void DifferencesCarryBootstrapIntervalsAndAreMarkedWhenTheyExcludeZero()
    {
        var random = new Random(5);
        // Images 2j and 2j+1 score alike, so the model that scores only even images has Nat's mean.
        var natural = Enumerable.Range(0, 40).Select(i => i % 2 == 0 ? random.NextDouble() : 0).ToArray();
        for (int i = 1; i < 40; i += 2) natural[i] = natural[i - 1];
        var scores = new List<ImageScore>();
        for (int i = 0; i < 40; i++)
        {
            scores.Add(new ImageScore("Nat", 0, i, natural[i]));
            scores.Add(new ImageScore("Adv", 0, i, natural[i] + 0.5));                  // a constant shift: a zero-width interval at 0.5
            if (i % 2 == 0) scores.Add(new ImageScore("L1-Pre", 0, i, natural[i] + (i % 4 == 0 ? 0.01 : -0.01))); // no shift, 20 images
        }
        var table = StudyReport.DifferenceTable(new MetricSummary("gini", "Gini index", MetricDirection.HigherIsBetter), "vg", scores, Models, [0], new BootstrapSettings());

        Assert.Equal("gini-difference-vg", table.File);
        Assert.Equal(["", "Pre", "Post-FT", "Post-noFT"], table.Header);
        Assert.Equal(["Adv", "0.5000 [0.5000, 0.5000]*", "–", "–"], table.Rows[0]);
        Assert.Equal("L1", table.Rows[1][0]);
        Assert.DoesNotContain("*", table.Rows[1][1]);
        Assert.Equal(0, double.Parse(table.Rows[1][1].Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture), 12);
        var interval = table.Rows[1][1][(table.Rows[1][1].IndexOf('[') + 1)..^1].Split(", ").Select(v => double.Parse(v, System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        Assert.True(interval[0] < 0 && interval[1] > 0, table.Rows[1][1]);
        Assert.Contains("paired bootstrap over the 40 test images any model was scored on (one seed)", table.Note);
        Assert.Contains("1000 resamples (seed 0)", table.Note);
        Assert.Contains("Images scored per model and seed: Nat 40, Adv 40, L1-Pre 20.", table.Note);
        Assert.Contains("* = the interval excludes 0", table.Note);
    }

    [Fact]
    public void WithSeveralSeedsTheNoteSaysSoAndAModelWithoutScoresShowsADash()
    {
        var scores = new List<ImageScore>();
        for (long seed = 0; seed < 3; seed++)
            for (int i = 0; i < 10; i++)
                scores.Add(new ImageScore("Nat", seed, i, i + seed));
        var table = StudyReport.DifferenceTable(new MetricSummary("grad-norm", "Gradient norm", MetricDirection.LowerIsBetter), null, scores, Models, [0, 1, 2], new BootstrapSettings());
        Assert.Equal("grad-norm-difference", table.File);
        Assert.All(table.Rows, r => Assert.All(r.Skip(1), c => Assert.Equal("–", c)));
        Assert.Contains("and over the 3 seeds", table.Note);
        Assert.Contains("Nat = 5.5000", table.Note);
    }
}
