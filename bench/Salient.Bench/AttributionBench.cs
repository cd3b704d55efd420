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

    /// <summary>Methods whose masked-model time is a key too: dense and masked are then timed in turn.</summary>
    private static readonly string[] ComparedWithMasked = ["ig"];

    private static readonly Dictionary<(string Method, bool Masked), double> measured = [];

    /// <param name="masked">Explain the layered-pruned (masked) model instead of the dense one.</param>
    public static double PerImage(string method, bool masked = false)
    {
        if (!measured.ContainsKey((method, masked))) Measure(method, ComparedWithMasked.Contains(method) ? [false, true] : [masked]);
        return measured[(method, masked)];
    }

    /// <summary>Times the method on each model in turn (dense, masked, dense, …): the masked / dense ratio is a goal.</summary>
    private static void Measure(string method, bool[] maskedVariants)
    {
        var models = maskedVariants.Select(m => m ? PruningBench.LayeredPrunedVgg() : PruningBench.PaperVgg()).ToArray();
        try
        {
            random.manual_seed(0);
            using var pixels = rand(Images, 3, 32, 32);
            using var targets = randint(0, 43, [Images], dtype: int64);
            int batchSize = int.TryParse(Environment.GetEnvironmentVariable("SALIENT_ATTR_BATCH"), out var b) ? b : AttributionSettings.DefaultBatchSize;
            var explainer = AttributionMethods.Create(method, new AttributionSettings { BatchSize = batchSize });
            int repeats = method == "vg" ? 7 : 3;
            var medians = InTurnTiming.MedianSeconds(models.Select(m => (Action)(() => explainer.Attribute(m, pixels, targets))).ToList(), repeats, warmup: 1);
            for (int m = 0; m < models.Length; m++) measured[(method, maskedVariants[m])] = medians[m] / Images;
        }
        finally
        {
            foreach (var model in models) model.Dispose();
        }
    }
}
