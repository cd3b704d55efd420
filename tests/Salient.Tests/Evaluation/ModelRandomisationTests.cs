using Salient.Attribution;
using Salient.Evaluation;
using Salient.Evaluation.Metrics;
using Salient.Models;
using static TorchSharp.torch;

namespace Salient.Tests.Evaluation;

public class ModelRandomisationTests
{
    private static SalientModel Tiny(string architecture = "vgg16", bool batchNorm = false, double width = 0.0625)
    {
        random.manual_seed(11);
        return ModelFactory.Create(new ModelSpec { Architecture = architecture, Width = width, BatchNorm = batchNorm, NumClasses = 3, InputSize = 32, Stem = "cifar" });
    }

    /// <summary>An "explanation" that is the image itself: it cannot depend on the model.</summary>
    private sealed class ImageItself : IAttributionMethod
    {
        public string Name => "image";
        public Tensor Attribute(SalientModel model, Tensor pixels, Tensor targets) => pixels.clone();
    }

    [Theory]
    [InlineData("vgg16", false, "classifier.6", "features.0")]
    [InlineData("vgg16", true, "classifier.6", "features.0")]
    [InlineData("resnet18", false, "fc", "conv1")]
    public void LayersRunFromTheOutputBackwardsWithTheirBatchNorms(string architecture, bool batchNorm, string first, string last)
    {
        using var model = Tiny(architecture, batchNorm);
        var layers = ModelRandomisation.Layers(model);
        Assert.Equal(ModelRandomisation.LayerCount(architecture), layers.Count);
        Assert.Equal(first, layers[0].Name);
        Assert.Equal(last, layers[^1].Name);
        bool norms = architecture == "resnet18" || batchNorm;
        Assert.All(layers.Where(l => l.Layer is MaskableConv2d), l => Assert.Equal(norms, l.Norm is not null));
        Assert.All(layers.Where(l => l.Layer is MaskableLinear), l => Assert.Null(l.Norm));
    }

    [Fact]
    public void TheCascadeChangesExactlyTheLayersRandomisedSoFarOnACopy()
    {
        using var model = Tiny(batchNorm: true);
        var before = model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.clone());
        using var copy = ModelRandomisation.Copy(model);
        var layers = ModelRandomisation.Layers(copy);
        using var generator = new Generator(5);
        const int randomisedLayers = 5; // the three linear layers and the last two convolutions with their BatchNorms
        foreach (var layer in layers.Take(randomisedLayers)) ModelRandomisation.Randomise(layer, generator);

        var norms = copy.named_modules().Where(m => layers.Take(randomisedLayers).Any(l => l.Norm == m.module)).Select(m => m.name);
        var touched = layers.Take(randomisedLayers).Select(l => l.Name).Concat(norms).ToHashSet();
        Assert.Equal(randomisedLayers + 2, touched.Count);
        foreach (var (key, value) in copy.state_dict())
        {
            string module = key[..key.LastIndexOf('.')];
            if (!touched.Contains(module)) Assert.True(value.eq(before[key]).all().item<bool>(), $"{key} changed");
            else if (layers.Any(l => l.Name == module) && key.EndsWith(".weight")) Assert.False(value.eq(before[key]).all().item<bool>(), $"{key} kept its trained values");
        }
        foreach (var (key, value) in model.state_dict()) Assert.True(value.eq(before[key]).all().item<bool>(), $"the caller's model changed at {key}");
    }

    [Fact]
    public void ReinitialisationDrawsAsTheModelsOwnInitialisation()
    {
        using var model = Tiny(batchNorm: true, width: 0.5);
        var layers = ModelRandomisation.Layers(model);
        using var generator = new Generator(9);
        foreach (var layer in layers) ModelRandomisation.Randomise(layer, generator);

        // features.14 (the first 256-channel convolution: 64 → 128 channels at width ½): N(0, √(2/(9·128))), zero bias; its BatchNorm reset.
        var conv = layers.First(l => l.Name == "features.14");
        var c = Assert.IsType<MaskableConv2d>(conv.Layer);
        Assert.Equal((64L, 128L), (c.InChannels, c.OutChannels));
        double std = c.Weight.std().item<float>(), expected = Math.Sqrt(2.0 / (9 * c.OutChannels));
        Assert.InRange(std / expected, 0.97, 1.03);
        Assert.Equal(0, c.Bias!.abs().max().item<float>());
        Assert.Equal(1, conv.Norm!.weight!.min().item<float>());
        Assert.Equal(0, conv.Norm.running_mean!.abs().max().item<float>());
        Assert.Equal(1, conv.Norm.running_var!.min().item<float>());
        // classifier.4 (256 → 256): U(±1/16) for weight and bias, spread over the whole range.
        var linear = Assert.IsType<MaskableLinear>(layers.First(l => l.Name == "classifier.4").Layer);
        double bound = 1 / Math.Sqrt(linear.InFeatures);
        Assert.InRange(linear.Weight.abs().max().item<float>(), 0.99 * bound, bound);
        Assert.InRange(linear.Weight.std().item<float>() / (bound / Math.Sqrt(3)), 0.97, 1.03);
    }

    private static MetricInput Input(SalientModel model, IAttributionMethod method, int images)
    {
        random.manual_seed(2);
        var pixels = rand(images, 3, 32, 32);
        var labels = tensor(Enumerable.Range(0, images).Select(i => (long)(i % 3)).ToArray());
        return new MetricInput
        {
            Model = model, Images = pixels, Labels = labels, Predictions = labels.data<long>().ToArray(),
            Maps = SaliencyMap.Reduce(method.Attribute(model, pixels, labels)), Method = method, Seed = 4,
        };
    }

    [Fact]
    public void AMapThatTheModelDoesNotShapeStaysIdenticalAndFailsTheCheck()
    {
        using var model = Tiny();
        var metric = new ModelRandomisationMetric();
        var settings = new ModelRandomisationSettings { Images = 3 };
        var scores = metric.Evaluate(Input(model, new ImageItself(), images: 3), settings);
        Assert.All(scores.Values[ModelRandomisationMetric.SpearmanKey], v => Assert.Equal(1, v, 6));
        Assert.All(scores.Values[ModelRandomisationMetric.SsimKey], v => Assert.Equal(1, v, 6));
        Assert.Equal(16 * 3 * 2, scores.Details.Count);

        var details = scores.Details.GroupBy(d => d.Key).Select(g => new DetailMean("Nat", "image", g.Key, g.Average(d => d.Value))).ToList();
        var table = metric.Tables(new MetricViewInput(["Nat"], ["image"], details, "Nat", settings)).Single();
        Assert.Equal("fails", table.Rows[0][^1]);
        Assert.Equal(["model", "similarity", "k=1"], table.Header[..3]);
        Assert.Equal("k=16", table.Header[^2]);
    }

    [Fact]
    public void MeasuringEveryFewLayersStillEndsWithTheWholeModelRandomised()
    {
        using var model = Tiny();
        var scores = new ModelRandomisationMetric().Evaluate(Input(model, new ImageItself(), images: 2), new ModelRandomisationSettings { Images = 2, Every = 5 });
        Assert.Equal(["spearman@10", "spearman@15", "spearman@16", "spearman@5"], scores.Details.Where(d => d.Image == 0 && d.Key.StartsWith("spearman")).Select(d => d.Key).Order());
        Assert.Equal(2 * 4 * 2, scores.Details.Count);
        Assert.Equal(1, scores.Values[ModelRandomisationMetric.SpearmanKey][1], 6);
    }

    [Fact]
    public void VanillaGradientMapsChangeOnceTheOutputLayerIsRandomAndTheCallersModelDoesNot()
    {
        using var model = Tiny();
        var before = model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.clone());
        var scores = new ModelRandomisationMetric().Evaluate(Input(model, new VanillaGradient(), images: 3), new ModelRandomisationSettings { Images = 3 });
        var afterOutputLayer = scores.Details.Where(d => d.Key == "spearman@1").ToList();
        Assert.Equal(3, afterOutputLayer.Count);
        Assert.All(afterOutputLayer, d => Assert.True(d.Value < 0.999, $"image {d.Image}: ρ = {d.Value}"));
        foreach (var (key, value) in model.state_dict()) Assert.True(value.eq(before[key]).all().item<bool>(), key);
    }

    [Fact]
    public void OnlyTheChosenImagesThatAreCorrectlyClassifiedAreScored()
    {
        using var model = Tiny();
        var input = Input(model, new ImageItself(), images: 6);
        // Two of six images, spread evenly: 0 and 3; image 3 is misclassified.
        input = new MetricInput { Model = model, Images = input.Images, Labels = input.Labels, Predictions = [0, 1, 2, 1, 1, 2], Maps = input.Maps, Method = input.Method, Seed = 4 };
        var spearman = new ModelRandomisationMetric().Evaluate(input, new ModelRandomisationSettings { Images = 2 }).Values[ModelRandomisationMetric.SpearmanKey];
        Assert.Equal(1, spearman[0], 6);
        Assert.All(spearman.Skip(1), v => Assert.True(double.IsNaN(v)));
    }
}
