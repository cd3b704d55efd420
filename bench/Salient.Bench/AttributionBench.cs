using Salient.Attribution;
using Salient.Models;
using static TorchSharp.torch;

namespace Salient.Bench;

/// <summary>
/// Seconds per image for VG, IG-50 and SG-50 on the paper's VGG-16 (32×32, 43 classes, untrained),
/// on one batch of 32 images. SALIENT_ATTR_BATCH overrides the internal batch size, for tuning it.
/// </summary>
public static class AttributionBench
{
    private const int Images = 32;

    /// <param name="masked">Explain the layered-pruned (masked) model instead of the dense one.</param>
    public static double PerImage(string method, bool masked = false)
    {
        using var model = masked ? PruningBench.LayeredPrunedVgg() : PruningBench.PaperVgg();
        random.manual_seed(0);
        var pixels = rand(Images, 3, 32, 32);
        var targets = randint(0, 43, [Images], dtype: int64);
        int batchSize = int.TryParse(Environment.GetEnvironmentVariable("SALIENT_ATTR_BATCH"), out var b) ? b : AttributionSettings.DefaultBatchSize;
        var explainer = AttributionMethods.Create(method, new AttributionSettings { BatchSize = batchSize });
        int repeats = method == "vg" ? 7 : 3;
        return Benchmarks.Median(() => explainer.Attribute(model, pixels, targets), repeats) / Images;
    }
}
