using Salient.Evaluation;
using Salient.Evaluation.Metrics;
using Salient.Tests.Attribution;
using static TorchSharp.torch;

namespace Salient.Tests.Evaluation;

public class LocalisationTests
{
    /// <summary>A 4×4 mask with the 2×2 box at rows 1–2, columns 1–2.</summary>
    private static readonly float[] Box =
    [
        0, 0, 0, 0,
        0, 1, 1, 0,
        0, 1, 1, 0,
        0, 0, 0, 0,
    ];

    [Fact]
    public void AMapAllInsideTheBoxScoresOneOnEveryMeasure()
    {
        float[] map =
        [
            0, 0, 0, 0,
            0, 3, 1, 0,
            0, 2, 5, 0,
            0, 0, 0, 0,
        ];
        Assert.Equal(1, Localisation.MassAccuracy(map, Box));
        Assert.Equal(1, Localisation.RankAccuracy(map, Box));
        Assert.Equal(1, Localisation.PointingGame(map, Box));
    }

    [Fact]
    public void AMaximumOutsideTheBoxLosesThePointingGameAndASharedOneInsideWinsIt()
    {
        float[] outside =
        [
            9, 0, 0, 0,
            0, 3, 1, 0,
            0, 2, 5, 0,
            0, 0, 0, 0,
        ];
        Assert.Equal(0, Localisation.PointingGame(outside, Box));
        var shared = (float[])outside.Clone();
        shared[10] = 9; // row 2, column 2: inside, tied with the maximum outside
        Assert.Equal(1, Localisation.PointingGame(shared, Box));
    }

    [Fact]
    public void RankAccuracyMatchesTheHandComputation()
    {
        // K = 4. The four highest values are 9 (outside), 8, 7 (inside) and 6 (outside): 2 of 4 inside.
        float[] map =
        [
            9, 0, 0, 0,
            0, 8, 1, 0,
            0, 7, 2, 6,
            0, 0, 0, 0,
        ];
        Assert.Equal(0.5, Localisation.RankAccuracy(map, Box), 12);
        // Now 6 becomes 2: the fourth place is shared by three pixels at 2 (one inside), so it counts 1/3:
        // (8, 7 inside + 1/3) / 4.
        map[11] = 2;
        map[15] = 2;
        Assert.Equal((2 + 1.0 / 3) / 4, Localisation.RankAccuracy(map, Box), 12);
    }

    [Fact]
    public void MassAccuracyIsTheShareOfPositiveRelevanceInside()
    {
        // Positive relevance: 4 + 2 inside, 1 + 3 outside; the −5 inside and −7 outside do not count.
        float[] map =
        [
            1, 0, 0, -7,
            0, 4, 2, 0,
            0, -5, 0, 3,
            0, 0, 0, 0,
        ];
        Assert.Equal(6.0 / 10, Localisation.MassAccuracy(map, Box), 12);
        Assert.True(double.IsNaN(Localisation.MassAccuracy(new float[16].Select(_ => -1f).ToArray(), Box)));
    }

    [Fact]
    public void AnEmptyOrWholeImageMaskIsNotScored()
    {
        var map = Enumerable.Range(0, 16).Select(i => (float)i).ToArray();
        foreach (var mask in new[] { new float[16], Enumerable.Repeat(1f, 16).ToArray() })
        {
            Assert.True(double.IsNaN(Localisation.MassAccuracy(map, mask)));
            Assert.True(double.IsNaN(Localisation.RankAccuracy(map, mask)));
            Assert.True(double.IsNaN(Localisation.PointingGame(map, mask)));
        }
    }

    [Fact]
    public void TheMetricsScoreCorrectlyClassifiedImagesWithGroundTruthAndSkipTheRest()
    {
        random.manual_seed(3);
        using var model = new LinearModel(classes: 3, size: 4);
        using var scope = NewDisposeScope();
        // Image 0: a hit; image 1: misclassified; image 2: no ground truth (all-zero mask); image 3: maximum outside.
        var hit = tensor(Enumerable.Range(0, 16).Select(i => Box[i] * (i + 1f)).ToArray(), [4, 4]);
        var miss = tensor(Enumerable.Range(0, 16).Select(i => i == 0 ? 100f : Box[i]).ToArray(), [4, 4]);
        var maps = stack([hit, hit, hit, miss]);
        var box = tensor(Box, [4, 4]);
        var truth = stack([box, box, zeros(4, 4), box]);
        var input = new MetricInput
        {
            Model = model, Images = rand(4, 3, 4, 4), Labels = tensor(new long[] { 0, 1, 2, 0 }), Predictions = [0, 2, 2, 0],
            Maps = maps, GroundTruth = truth,
        };
        var pointing = ExplanationMetrics.Get("pointing-game").Evaluate(input, new NoSettings()).Values["pointing-game"];
        Assert.Equal(1, pointing[0]);
        Assert.True(double.IsNaN(pointing[1]));
        Assert.True(double.IsNaN(pointing[2]));
        Assert.Equal(0, pointing[3]);
        Assert.Equal(1, ExplanationMetrics.Get("mass-accuracy").Evaluate(input, new NoSettings()).Values["mass-accuracy"][0]);
        Assert.Equal(1, ExplanationMetrics.Get("rank-accuracy").Evaluate(input, new NoSettings()).Values["rank-accuracy"][0]);

        // Data without masks (LISA's crops): nothing is scored, nothing fails.
        var withoutTruth = new MetricInput { Model = model, Images = input.Images, Labels = input.Labels, Predictions = input.Predictions, Maps = maps };
        foreach (var name in new[] { "mass-accuracy", "rank-accuracy", "pointing-game" })
            Assert.All(ExplanationMetrics.Get(name).Evaluate(withoutTruth, new NoSettings()).Values[name], v => Assert.True(double.IsNaN(v)));
    }
}
