using Salient.Attribution;
using Salient.Evaluation.Metrics;
using Salient.Models;
using static TorchSharp.torch;

namespace Salient.Bench;

/// <summary>
/// Seconds per scored image of the localisation metrics (all three), the model parameter
/// randomisation test and max-sensitivity (their default settings), on the paper's VGG-16 (32×32,
/// 43 classes, untrained) with Vanilla Gradient maps: with IG or SG multiply the explanation
/// metrics by the method's passes per map (steps or samples).
/// </summary>
public static class MetricsBench
{
    private static (SalientModel Model, MetricInput Input) Workload(IAttributionMethod method, int images)
    {
        random.manual_seed(0);
        var model = ModelFactory.Create(new ModelSpec());
        var pixels = rand(images, 3, 32, 32);
        var labels = randint(0, 43, [images], dtype: int64);
        var maps = SaliencyMap.Reduce(method.Attribute(model, pixels, labels));
        var masks = zeros(images, 32, 32);
        masks[TensorIndex.Colon, TensorIndex.Slice(8, 24), TensorIndex.Slice(8, 24)] = tensor(1f);
        var input = new MetricInput
        {
            Model = model, Images = pixels, Labels = labels, Predictions = labels.data<long>().ToArray(), // every image counts as correct
            Maps = maps, Method = method, GroundTruth = masks, Seed = 0,
        };
        return (model, input);
    }

    /// <summary>Mass accuracy, rank accuracy and the pointing game of one 32×32 map.</summary>
    public static double LocalisationPerImage()
    {
        const int images = 64;
        var (model, input) = Workload(new VanillaGradient(), images);
        using (model)
        {
            var metrics = new[] { "mass-accuracy", "rank-accuracy", "pointing-game" }.Select(ExplanationMetrics.Get).ToList();
            return Benchmarks.Median(() => { foreach (var m in metrics) m.Evaluate(input, new NoSettings()); }, repeats: 7) / images;
        }
    }

    /// <summary>The whole cascade (16 layers randomised, one VG map of each image after each) for one image.</summary>
    public static double ModelRandomisationVgg16PerImage()
    {
        const int images = 4;
        var (model, input) = Workload(new VanillaGradient(), images);
        using (model)
            return Benchmarks.Median(() => new ModelRandomisationMetric().Evaluate(input, new ModelRandomisationSettings { Images = images }), repeats: 3) / images;
    }

    /// <summary>Max-sensitivity of one image with Quantus' 200 samples (200 VG maps).</summary>
    public static double MaxSensitivityPerImage()
    {
        const int images = 2;
        var (model, input) = Workload(new VanillaGradient(), images);
        using (model)
            return Benchmarks.Median(() => new MaxSensitivityMetric().Evaluate(input, new MaxSensitivitySettings { Images = images }), repeats: 3) / images;
    }
}
