using Salient.Attribution;
using Salient.Evaluation.Metrics;
using Salient.Models;
using Salient.Tests.Attribution;
using static TorchSharp.torch;

namespace Salient.Tests.Evaluation;

public class SanityAndRobustnessTests
{
    private static MetricInput Input(SalientModel model, IAttributionMethod method, int images, long seed = 1)
    {
        random.manual_seed(8);
        var pixels = rand(images, 3, 8, 8);
        var labels = tensor(Enumerable.Range(0, images).Select(i => (long)(i % 2)).ToArray());
        return new MetricInput
        {
            Model = model, Images = pixels, Labels = labels, Predictions = labels.data<long>().ToArray(),
            Maps = SaliencyMap.Reduce(method.Attribute(model, pixels, labels)), Method = method, Seed = seed,
        };
    }

    [Fact]
    public void TheRandomOtherClassIsNeverTheTrueOneAndIsSpreadOverTheRest()
    {
        var draws = Enumerable.Range(0, 2000).Select(i => RandomLogitMetric.OtherClass(seed: 3, i, label: 2, classes: 5)).ToList();
        Assert.DoesNotContain(2L, draws);
        Assert.All(new long[] { 0, 1, 3, 4 }, c => Assert.InRange(draws.Count(d => d == c), 400, 600));
        Assert.Equal(draws, Enumerable.Range(0, 2000).Select(i => RandomLogitMetric.OtherClass(3, i, 2, 5)));
        Assert.NotEqual(draws, Enumerable.Range(0, 2000).Select(i => RandomLogitMetric.OtherClass(4, i, 2, 5)));
    }

    [Fact]
    public void RandomLogitIsOneWhenEveryClassHasTheSameMapAndLessOtherwise()
    {
        random.manual_seed(6);
        using var model = new LinearModel(classes: 4, size: 8);
        var metric = new RandomLogitMetric();
        var distinct = metric.Evaluate(Input(model, new VanillaGradient(), 6), new RandomLogitSettings { Images = 6 }).Values["random-logit"];
        Assert.All(distinct, v => Assert.InRange(v, -1, 0.99));

        // VG of a linear model is Σ_c |W_class| whatever the image: equal weight rows give equal maps.
        using (no_grad())
            for (int c = 1; c < 4; c++) model.WeightImage(c).copy_(model.WeightImage(0));
        var same = metric.Evaluate(Input(model, new VanillaGradient(), 6), new RandomLogitSettings { Images = 6 }).Values["random-logit"];
        Assert.All(same, v => Assert.Equal(1, v, 6));
    }

    [Fact]
    public void MaxSensitivityIsZeroForGradientsThatDoNotDependOnTheInput()
    {
        random.manual_seed(6);
        using var model = new LinearModel(classes: 2, size: 8);
        var scores = new MaxSensitivityMetric().Evaluate(Input(model, new VanillaGradient(), 4), new MaxSensitivitySettings { Images = 4, Samples = 5 }).Values["max-sensitivity"];
        Assert.All(scores, v => Assert.Equal(0, v, 6));
    }

    [Fact]
    public void MaxSensitivityOfIntegratedGradientsOnALinearModelGrowsInProportionToTheRadius()
    {
        // IG of f(z) = Wz is (z − z′) ⊙ W: the change under δ is δ ⊙ W, linear in δ, and δ = r·u with the
        // same draws u for every radius, so the largest relative change is proportional to r.
        random.manual_seed(6);
        using var model = new LinearModel(classes: 2, size: 8);
        var ig = new IntegratedGradients(new IntegratedGradientsSettings { Steps = 4 });
        var metric = new MaxSensitivityMetric();
        var small = metric.Evaluate(Input(model, ig, 3), new MaxSensitivitySettings { Images = 3, Samples = 6, Radius = 0.1 }).Values["max-sensitivity"];
        var large = metric.Evaluate(Input(model, ig, 3), new MaxSensitivitySettings { Images = 3, Samples = 6, Radius = 0.2 }).Values["max-sensitivity"];
        for (int i = 0; i < 3; i++)
        {
            Assert.True(small[i] > 0.01, $"image {i}: {small[i]}");
            Assert.Equal(2, large[i] / small[i], 3);
        }
    }
}
