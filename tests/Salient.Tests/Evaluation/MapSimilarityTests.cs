using Salient.Evaluation;
using static TorchSharp.torch;

namespace Salient.Tests.Evaluation;

public class MapSimilarityTests
{
    private static float[] RandomMap(int seed, int pixels)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, pixels).Select(_ => (float)random.NextDouble()).ToArray();
    }

    [Fact]
    public void SsimOfIdenticalMapsIsOne()
    {
        var map = RandomMap(1, 12 * 10);
        Assert.Equal(1, MapSimilarity.Ssim(map, map, 12, 10), 12);
        var constant = Enumerable.Repeat(0.3f, 64).ToArray();
        Assert.Equal(1, MapSimilarity.Ssim(constant, constant, 8, 8));
    }

    [Fact]
    public void SsimOfAMirroredWindowMatchesTheClosedForm()
    {
        // One 7×7 window; b = 2μ − a has the same mean and variance and covariance −σ², so
        // SSIM = (C2 − 2σ²) / (C2 + 2σ²) with σ² the sample variance and C2 = (0.03·range)².
        var a = RandomMap(2, 49);
        double mean = a.Average(v => (double)v);
        var b = a.Select(v => (float)(2 * mean - v)).ToArray();
        double variance = a.Sum(v => (v - mean) * (v - mean)) / 48;
        double range = Math.Max(a.Max(), b.Max()) - Math.Min(a.Min(), b.Min());
        double c2 = Math.Pow(0.03 * range, 2);
        Assert.Equal((c2 - 2 * variance) / (c2 + 2 * variance), MapSimilarity.Ssim(a, b, 7, 7), 5);
    }

    [Fact]
    public void SpearmanUsesMeanRanksForTies()
    {
        // Ranks (1, 2.5, 2.5, 4) and (1, 3, 2, 4): Σdadb = 4.5, Σda² = 4.5, Σdb² = 5.
        Assert.Equal(4.5 / Math.Sqrt(4.5 * 5), MapSimilarity.Spearman([1, 2, 2, 3], [1, 3, 2, 4]), 12);
        var map = RandomMap(3, 50);
        Assert.Equal(1, MapSimilarity.Spearman(map, map.Select(v => v * v * 7).ToArray()), 12);
        Assert.Equal(-1, MapSimilarity.Spearman(map, map.Select(v => -v).ToArray()), 12);
        Assert.True(double.IsNaN(MapSimilarity.Spearman(map, new float[50])));
    }

    [Fact]
    public void NormalisingByTheMaximumKeepsTheSignUnlessAbsolute()
    {
        Assert.Equal([0.5f, -1f, 0f], MapSimilarity.NormalisedByMax([1, -2, 0], absolute: false));
        Assert.Equal([0.5f, 1f, 0f], MapSimilarity.NormalisedByMax([1, -2, 0], absolute: true));
        Assert.Equal([0f, 0f], MapSimilarity.NormalisedByMax([0, 0], absolute: true));
    }
}
