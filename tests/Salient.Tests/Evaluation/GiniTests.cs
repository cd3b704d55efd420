using Salient.Evaluation;
using static TorchSharp.torch;

namespace Salient.Tests.Evaluation;

public class GiniTests
{
    [Fact]
    public void AOneHotMapScoresNMinusOneOverN()
    {
        // Sorted magnitudes are ε,…,ε,1+ε; the rank weights sum to zero, leaving (n−1) / (n(1 + nε)).
        using var map = zeros(1, 8, 8);
        map[0, 3, 5] = tensor(2.5f);
        double n = 64;
        Assert.Equal((n - 1) / (n * (1 + n * Gini.Epsilon)), Gini.PerImage(map)[0], 12);
        Assert.True(Math.Abs(Gini.PerImage(map)[0] - (n - 1) / n) < 1e-5);
    }

    [Fact]
    public void ConstantAndAllZeroMapsScoreZero()
    {
        using var maps = stack([full(4, 4, 0.7f), zeros(4, 4), full(4, 4, -3f)]);
        Assert.All(Gini.PerImage(maps), g => Assert.Equal(0, g, 12));
    }

    [Fact]
    public void ScalingOrFlippingTheSignLeavesTheIndexUnchanged()
    {
        random.manual_seed(4);
        using var maps = randn(3, 16, 16);
        var original = Gini.PerImage(maps);
        using var scaled = maps * 1000;
        using var flipped = -maps * 0.001;
        var fromScaled = Gini.PerImage(scaled);
        var fromFlipped = Gini.PerImage(flipped);
        for (int i = 0; i < 3; i++)
        {
            Assert.Equal(original[i], fromScaled[i], 6);
            Assert.Equal(original[i], fromFlipped[i], 6);
        }
    }

    [Fact]
    public void AFourPixelMapMatchesTheHandComputation()
    {
        // |a| / max = 0, 0.5, 1, 0.25 → sorted 0, 0.25, 0.5, 1 with weights 2i−n−1 = −3, −1, 1, 3:
        // numerator −0.25 + 0.5 + 3 = 3.25 (the ε terms cancel), denominator 4 · (1.75 + 4ε).
        using var map = tensor(new float[] { 0, 2, -4, 1 }, [1, 2, 2]);
        Assert.Equal(3.25 / (4 * (1.75 + 4 * Gini.Epsilon)), Gini.PerImage(map)[0], 12);
    }

    [Fact]
    public void EachMapOfABatchIsScoredOnItsOwn()
    {
        random.manual_seed(5);
        using var maps = rand(5, 6, 7);
        var batched = Gini.PerImage(maps);
        for (int i = 0; i < 5; i++)
        {
            using var single = maps.narrow(0, i, 1);
            Assert.Equal(Gini.PerImage(single)[0], batched[i], 12);
        }
    }

    [Fact]
    public void MapsWithoutThreeDimensionsAreRejected()
    {
        using var maps = zeros(2, 3, 4, 4);
        var error = Assert.Throws<SalientException>(() => Gini.PerImage(maps));
        Assert.Contains("N×H×W", error.Message);
    }

    [Theory]
    [InlineData(1, 12.706204736174707)]
    [InlineData(2, 4.302652729749464)]
    [InlineData(4, 2.7764451051977934)]
    [InlineData(10, 2.2281388519862744)]
    [InlineData(1000, 1.9623390808264078)]
    public void StudentQuantilesMatchTables(int degreesOfFreedom, double expected)
    {
        Assert.Equal(expected, StudentT.Quantile(0.975, degreesOfFreedom), 9);
    }

    [Fact]
    public void TheMeanComesWithATBasedInterval()
    {
        // Mean 3, sample sd √2.5, standard error √0.5, t(0.975, 4) = 2.7764451…
        var estimate = MeanEstimate.Of([1.0, 2, 3, 4, 5]);
        double half = 2.7764451051977934 * Math.Sqrt(0.5);
        Assert.Equal(3, estimate.Mean, 12);
        Assert.Equal(3 - half, estimate.Lower, 9);
        Assert.Equal(3 + half, estimate.Upper, 9);
        Assert.Equal(5, estimate.Count);
        Assert.True(double.IsNaN(MeanEstimate.Of([0.4]).Lower));
        Assert.Throws<SalientException>(() => MeanEstimate.Of([1.0, 2], level: 1.5));
    }
}
