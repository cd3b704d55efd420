using Salient.Evaluation;

namespace Salient.Tests.Evaluation;

public class BootstrapTests
{
    private static double[] Normal(Random random, int n, double mean, double sd) =>
        Enumerable.Range(0, n).Select(_ => mean + sd * Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble())).ToArray();

    [Fact]
    public void AConstantDifferenceHasAnIntervalOfZeroWidth()
    {
        var reference = Normal(new Random(1), 50, 0, 3);
        var model = reference.Select(v => v + 0.25).ToArray();
        var d = PairedBootstrap.Difference([model], [reference], new BootstrapSettings());
        Assert.Equal(0.25, d.Difference, 12);
        Assert.Equal(0.25, d.Lower, 12);
        Assert.Equal(0.25, d.Upper, 12);
        Assert.True(d.ExcludesZero);
    }

    [Fact]
    public void PairedDifferencesOfANormalSampleMatchTheAnalyticInterval()
    {
        // d_i = model_i − reference_i ~ N(0.1, 1²) on 400 images, while the scores themselves vary 10 times
        // more: only pairing by image gives the analytic mean(d) ± 1.96·s/√n.
        var random = new Random(2);
        var reference = Normal(random, 400, 5, 10);
        var differences = Normal(random, 400, 0.1, 1);
        var model = reference.Zip(differences, (r, d) => r + d).ToArray();
        var interval = PairedBootstrap.Difference([model], [reference], new BootstrapSettings { Resamples = 4000, Seed = 7 });

        double mean = differences.Average();
        double halfWidth = 1.959964 * Math.Sqrt(differences.Sum(d => (d - mean) * (d - mean)) / (differences.Length - 1) / differences.Length);
        Assert.Equal(mean, interval.Difference, 12);
        Assert.Equal(mean - halfWidth, interval.Lower, halfWidth * 0.1);
        Assert.Equal(mean + halfWidth, interval.Upper, halfWidth * 0.1);
    }

    [Fact]
    public void SeveralSeedsAreResampledToo()
    {
        // Within each seed the difference is constant (0.1 for seed 0, 0.3 for seed 1): all the spread is
        // between seeds. Resampling two seeds gives 0.1, 0.2 or 0.3 with chances ¼, ½, ¼: the interval is [0.1, 0.3].
        var reference = Normal(new Random(3), 30, 0, 1);
        var interval = PairedBootstrap.Difference(
            [reference.Select(v => v + 0.1).ToArray(), reference.Select(v => v + 0.3).ToArray()], [reference, reference], new BootstrapSettings());
        Assert.Equal(0.2, interval.Difference, 12);
        Assert.Equal(0.1, interval.Lower, 12);
        Assert.Equal(0.3, interval.Upper, 12);
    }

    [Fact]
    public void EachModelIsAveragedOverItsOwnScoredImages()
    {
        // The model scored images 0–2 (mean 2), the reference 1–3 (mean 6): the difference of plain means.
        var interval = PairedBootstrap.Difference([[1, 2, 3, double.NaN]], [[double.NaN, 4, 6, 8]], new BootstrapSettings());
        Assert.Equal(2 - 6, interval.Difference, 12);
        Assert.True(interval.Lower < interval.Difference && interval.Difference < interval.Upper);
    }

    [Fact]
    public void TheSameSeedGivesTheSameIntervalAndAnotherSeedAnother()
    {
        var random = new Random(4);
        var reference = Normal(random, 40, 0, 1);
        var model = Normal(random, 40, 0.2, 1);
        var a = PairedBootstrap.Difference([model], [reference], new BootstrapSettings { Seed = 1 });
        Assert.Equal(a, PairedBootstrap.Difference([model], [reference], new BootstrapSettings { Seed = 1 }));
        Assert.NotEqual(a.Lower, PairedBootstrap.Difference([model], [reference], new BootstrapSettings { Seed = 2 }).Lower);
    }
}
