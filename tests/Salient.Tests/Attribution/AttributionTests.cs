using Salient.Attribution;
using Salient.Models;
using static TorchSharp.torch;

namespace Salient.Tests.Attribution;

public class AttributionTests
{
    private static Tensor ModelSpace(SalientModel model, Tensor pixels) => model.Normalization.forward(pixels);

    private static void AssertClose(Tensor expected, Tensor actual, double rtol = 1e-5, double atol = 1e-6)
    {
        Assert.Equal(expected.shape, actual.shape);
        double worst = (expected - actual).abs().max().item<float>();
        Assert.True(actual.allclose(expected, rtol, atol), $"largest difference {worst}");
    }

    [Fact]
    public void VanillaGradientOnALinearModelIsTheAbsoluteWeights()
    {
        random.manual_seed(1);
        using var model = new LinearModel(classes: 4, size: 8);
        var pixels = rand(5, 3, 8, 8);
        var targets = tensor(new long[] { 0, 3, 1, 1, 2 });
        var attributions = new VanillaGradient().Attribute(model, pixels, targets);
        for (int i = 0; i < 5; i++)
            AssertClose(model.WeightImage(targets[i].item<long>()).abs(), attributions[i]);
    }

    [Theory]
    [InlineData(QuadratureRule.GaussLegendre, BaselineKind.Black)]
    [InlineData(QuadratureRule.GaussLegendre, BaselineKind.ModelSpaceZero)]
    [InlineData(QuadratureRule.RiemannLeft, BaselineKind.Black)]
    [InlineData(QuadratureRule.RiemannTrapezoid, BaselineKind.ModelSpaceZero)]
    public void IntegratedGradientsOnALinearModelIsDifferenceTimesWeights(QuadratureRule rule, BaselineKind baseline)
    {
        random.manual_seed(2);
        using var model = new LinearModel(classes: 4, size: 8);
        var pixels = rand(3, 3, 8, 8);
        var targets = tensor(new long[] { 2, 0, 3 });
        var ig = new IntegratedGradients(new IntegratedGradientsSettings { Steps = 7, Rule = rule, Baseline = baseline }, batchSize: 5);
        var attributions = ig.Attribute(model, pixels, targets);
        var baselineModelSpace = baseline == BaselineKind.Black
            ? ModelSpace(model, zeros(1, 3, 8, 8))
            : zeros(1, 3, 8, 8);
        var difference = ModelSpace(model, pixels) - baselineModelSpace;
        for (int i = 0; i < 3; i++)
            AssertClose(difference[i] * model.WeightImage(targets[i].item<long>()), attributions[i]);
    }

    [Fact]
    public void IntegratedGradientsUsesAGivenPixelBaseline()
    {
        random.manual_seed(3);
        using var model = new LinearModel(classes: 3, size: 8);
        var pixels = rand(2, 3, 8, 8);
        var grey = full(new long[] { 3, 8, 8 }, 0.5f);
        var targets = tensor(new long[] { 1, 2 });
        var attributions = new IntegratedGradients(new IntegratedGradientsSettings { Steps = 3 }, baselinePixels: grey).Attribute(model, pixels, targets);
        var difference = ModelSpace(model, pixels) - ModelSpace(model, grey.unsqueeze(0));
        for (int i = 0; i < 2; i++)
            AssertClose(difference[i] * model.WeightImage(targets[i].item<long>()), attributions[i]);
    }

    [Fact]
    public void SmoothGradOnALinearModelIsTheAbsoluteWeights()
    {
        random.manual_seed(4);
        using var model = new LinearModel(classes: 4, size: 8);
        var pixels = rand(3, 3, 8, 8);
        var targets = tensor(new long[] { 3, 3, 0 });
        using var sg = new SmoothGrad(new VanillaGradient(), new SmoothGradSettings { Sigma = 0.5, Samples = 6 }, batchSize: 10);
        var attributions = sg.Attribute(model, pixels, targets);
        for (int i = 0; i < 3; i++)
            AssertClose(model.WeightImage(targets[i].item<long>()).abs(), attributions[i]);
    }

    [Fact]
    public void IntegratedGradientsIsCompleteOnATrainedCnn()
    {
        var (model, pixels, labels) = TinyCnn.Trained();
        using var _ = model;
        var images = pixels.slice(0, 0, 12, 1);
        var targets = labels.slice(0, 0, 12, 1);
        var attributions = new IntegratedGradients().Attribute(model, images, targets);
        Tensor logits, baselineLogits;
        using (no_grad())
        {
            logits = model.forward(images).gather(1, targets.view(-1, 1)).squeeze(1);
            baselineLogits = model.forward(zeros_like(images)).gather(1, targets.view(-1, 1)).squeeze(1);
        }
        var sums = attributions.to(float64).sum([1, 2, 3]);
        var gaps = (logits - baselineLogits).to(float64);
        for (int i = 0; i < 12; i++)
        {
            double gap = gaps[i].item<double>(), sum = sums[i].item<double>();
            Assert.True(Math.Abs(gap) > 0.1, $"image {i}: the logit gap {gap} is too small for a meaningful relative check");
            Assert.True(Math.Abs(sum - gap) / Math.Abs(gap) < 0.01, $"image {i}: Σ attributions {sum} vs f(x) − f(x′) {gap}");
        }
    }

    [Fact]
    public void SmoothGradWithoutNoiseIsVanillaGradient()
    {
        var (model, pixels, labels) = TinyCnn.Trained(steps: 5);
        using var _ = model;
        using var sg = new SmoothGrad(new VanillaGradient(batchSize: 16), new SmoothGradSettings { Sigma = 0, Samples = 4 }, batchSize: 16);
        var images = pixels.slice(0, 0, 10, 1);
        var targets = labels.slice(0, 0, 10, 1);
        AssertClose(new VanillaGradient().Attribute(model, images, targets), sg.Attribute(model, images, targets));
    }

    [Fact]
    public void SmoothGradAveragesTheInnerMethodOverNoise()
    {
        var (model, pixels, labels) = TinyCnn.Trained(steps: 5);
        using var _ = model;
        var images = pixels.slice(0, 0, 3, 1);
        var targets = labels.slice(0, 0, 3, 1);
        using var sg = new SmoothGrad(new VanillaGradient(), new SmoothGradSettings { Sigma = 0.3, Samples = 5, Seed = 11 });
        var attributions = sg.Attribute(model, images, targets);
        // The same noise drawn independently: one group, copies in image-major order.
        using var generator = new Generator(11, CPU);
        var noisy = ModelSpace(model, images).repeat_interleave(5, 0) + randn(new long[] { 15, 3, 8, 8 }, generator: generator) * 0.3;
        var noisyPixels = model.Normalization.Inverse(noisy);
        var expected = new VanillaGradient().Attribute(model, noisyPixels, targets.repeat_interleave(5, 0)).view(3, 5, 3, 8, 8).mean([1]);
        AssertClose(expected, attributions, rtol: 1e-4, atol: 1e-5);
        Assert.False(attributions.allclose(new VanillaGradient().Attribute(model, images, targets), 1e-3, 1e-4));
        Assert.Equal("sg", sg.Name);
        using var sgOfIg = new SmoothGrad(new IntegratedGradients());
        Assert.Equal("sg-ig", sgOfIg.Name);
    }

    [Theory]
    [InlineData("vg")]
    [InlineData("ig")]
    public void BatchedEqualsOneByOne(string name)
    {
        var (model, pixels, labels) = TinyCnn.Trained(steps: 10);
        using var _ = model;
        var images = pixels.slice(0, 0, 6, 1);
        var targets = labels.slice(0, 0, 6, 1);
        var settings = new AttributionSettings { IntegratedGradients = new() { Steps = 9 } };
        var batched = AttributionMethods.Create(name, settings with { BatchSize = 1000 }).Attribute(model, images, targets);
        var ragged = AttributionMethods.Create(name, settings with { BatchSize = 7 }).Attribute(model, images, targets);
        var single = AttributionMethods.Create(name, settings with { BatchSize = 1 });
        var oneByOne = cat(Enumerable.Range(0, 6).Select(i => single.Attribute(model, images.slice(0, i, i + 1, 1), targets.slice(0, i, i + 1, 1))).ToList(), 0);
        AssertClose(oneByOne, batched);
        AssertClose(oneByOne, ragged);
    }

    [Fact]
    public void ExplainingFreezesParametersAndRestoresTheModelState()
    {
        var (model, pixels, labels) = TinyCnn.Trained(steps: 2);
        using var _ = model;
        model.train();
        var parameters = model.parameters().ToList();
        parameters[0].requires_grad = false;
        foreach (var p in parameters) p.grad = null;
        var vg = new VanillaGradient();
        vg.Attribute(model, pixels.slice(0, 0, 4, 1), labels.slice(0, 0, 4, 1));
        Assert.True(model.training);
        Assert.False(parameters[0].requires_grad);
        Assert.All(parameters.Skip(1), p => Assert.True(p.requires_grad));
        Assert.All(parameters, p => Assert.Null(p.grad));
        // Evaluation mode while explaining: dropout-free, so repeated calls agree exactly.
        AssertClose(vg.Attribute(model, pixels.slice(0, 0, 4, 1), labels.slice(0, 0, 4, 1)),
                    vg.Attribute(model, pixels.slice(0, 0, 4, 1), labels.slice(0, 0, 4, 1)), 0, 0);
    }

    [Theory]
    [InlineData("vg")]
    [InlineData("ig")]
    [InlineData("sg")]
    public void ExplainingLeavesNoTensorsBehind(string name)
    {
        var (model, pixels, labels) = TinyCnn.Trained(steps: 2);
        using var _ = model;
        var method = AttributionMethods.Create(name, new AttributionSettings
        {
            BatchSize = 8,
            IntegratedGradients = new() { Steps = 5 },
            SmoothGrad = new() { Samples = 3 },
        });
        var images = pixels.slice(0, 0, 6, 1);
        var targets = labels.slice(0, 0, 6, 1);
        method.Attribute(model, images, targets).Dispose();
        long before = TorchSharp.DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        for (int round = 0; round < 3; round++)
            method.Attribute(model, images, targets).Dispose();
        // Native memory is invisible to the garbage collector: every intermediate must be freed by the call itself.
        Assert.Equal(before, TorchSharp.DisposeScopeManager.Statistics.ThreadTotalLiveCount);
    }

    [Fact]
    public void MapsSumChannelsAndClipOnlyWhenAsked()
    {
        var attributions = tensor(new float[] { 1, -2, 3, -4, -5, 1, 0.5f, -1 }).view(1, 2, 2, 2);
        Assert.Equal(new float[] { -4, -1, 3.5f, -5 }, SaliencyMap.Reduce(attributions).data<float>().ToArray());
        Assert.Equal(new float[] { 0, 0, 3.5f, 0 }, SaliencyMap.ForDisplay(SaliencyMap.Reduce(attributions)).data<float>().ToArray());
        Assert.Equal(new long[] { 1, 2, 2 }, SaliencyMap.Reduce(attributions).shape);
    }

    [Fact]
    public void TargetsComeFromLabelsPredictionsOrAGivenList()
    {
        var (model, pixels, labels) = TinyCnn.Trained(steps: 30);
        using var _ = model;
        using (no_grad())
            Assert.Equal(model.forward(pixels).argmax(1).data<long>().ToArray(), Targets.Predicted(model, pixels, batchSize: 7).data<long>().ToArray());
        Assert.Equal(labels.data<long>().ToArray(), Targets.For(TargetChoice.True, model, pixels, labels).data<long>().ToArray());
        Assert.Equal(new long[] { 2, 0 }, Targets.Given(model, [2, 0]).data<long>().ToArray());
        Assert.Equal(ScalarType.Int64, Targets.True(model, labels.to(int32)).dtype);
    }

    [Fact]
    public void ATargetOutOfRangeIsAClearError()
    {
        using var model = new LinearModel(classes: 4, size: 8);
        var error = Assert.Throws<SalientException>(() => new VanillaGradient().Attribute(model, rand(2, 3, 8, 8), tensor(new long[] { 1, 4 })));
        Assert.Equal("Target class 4 is out of range: the model has 4 classes (0 to 3); check the labels or the given target.", error.Message);
        Assert.Contains("Target class -1", Assert.Throws<SalientException>(() => Targets.Given(model, [-1])).Message);
        Assert.Contains("one target class per image", Assert.Throws<SalientException>(() => new VanillaGradient().Attribute(model, rand(2, 3, 8, 8), tensor(new long[] { 1 }))).Message);
    }

    [Fact]
    public void ImagesOfAnotherSizeOrChannelCountAreAClearError()
    {
        using var model = new LinearModel(classes: 4, size: 8);
        var targets = tensor(new long[] { 0 });
        var size = Assert.Throws<SalientException>(() => new IntegratedGradients().Attribute(model, rand(1, 3, 16, 16), targets));
        Assert.Equal("The model takes 8×8 images, got 16×16; resize the images to the model's input size.", size.Message);
        var channels = Assert.Throws<SalientException>(() => new VanillaGradient().Attribute(model, rand(1, 1, 8, 8), targets));
        Assert.Equal("The model takes 3-channel colour images, got 1 channel(s); convert the images to RGB.", channels.Message);
        Assert.Contains("add the batch dimension", Assert.Throws<SalientException>(() => new VanillaGradient().Attribute(model, rand(3, 8, 8), targets)).Message);
        var baseline = Assert.Throws<SalientException>(() => new IntegratedGradients(baselinePixels: zeros(3, 4, 4)).Attribute(model, rand(1, 3, 8, 8), targets));
        Assert.Contains("baseline", baseline.Message);
    }

    [Fact]
    public void AnUnknownMethodNameIsAClearError()
    {
        var error = Assert.Throws<SalientException>(() => AttributionMethods.Create("gradcam"));
        Assert.Equal("Unknown attribution method 'gradcam'; use one of: vg, ig, sg.", error.Message);
        Assert.Equal(AttributionMethods.Names, AttributionMethods.Names.Select(n => AttributionMethods.Create(n).Name));
    }

    [Fact]
    public void BadSettingsAreClearErrors()
    {
        Assert.Contains("batch size", Assert.Throws<SalientException>(() => new VanillaGradient(0)).Message);
        Assert.Contains("noise sample", Assert.Throws<SalientException>(() => new SmoothGrad(new VanillaGradient(), new SmoothGradSettings { Samples = 0 })).Message);
        Assert.Contains("σ", Assert.Throws<SalientException>(() => new SmoothGrad(new VanillaGradient(), new SmoothGradSettings { Sigma = -1 })).Message);
    }
}
