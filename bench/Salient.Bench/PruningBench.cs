using Salient.Models;
using Salient.Pruning;
using static TorchSharp.torch;

namespace Salient.Bench;

/// <summary>
/// Inference latency (batch 1) of the paper's VGG-16 before and after layered pruning (10% of the
/// channels of every layer but the output), masked and physically compacted.
/// </summary>
public static class PruningBench
{
    private sealed record Models(SalientModel Dense, SalientModel Masked, SalientModel Compacted);

    private static readonly Lazy<Models> models = new(() =>
    {
        random.manual_seed(0);
        var dense = ModelFactory.Create(new ModelSpec());
        random.manual_seed(0);
        var masked = ModelFactory.Create(new ModelSpec());
        Pruner.Prune(masked, PruningSettings.Paper(PruningMethod.LayeredStructured));
        var compacted = Compaction.Compact(masked);
        using var image = rand(1, 3, 32, 32);
        using (no_grad())
            foreach (var m in new[] { dense, masked, compacted })
            {
                m.eval();
                // libtorch's first calls allocate and pick kernels; warm every model before any is timed,
                // so the key measured first is not penalised.
                for (int i = 0; i < 5; i++) m.forward(image).Dispose();
            }
        return new Models(dense, masked, compacted);
    });

    public static double DenseLatency() => Latency(models.Value.Dense);
    public static double MaskedLatency() => Latency(models.Value.Masked);
    public static double CompactedLatency() => Latency(models.Value.Compacted);

    private static double Latency(SalientModel model)
    {
        using var image = rand(1, 3, model.Spec.InputSize, model.Spec.InputSize);
        using var _ = no_grad();
        return Benchmarks.Median(() => model.forward(image).Dispose(), repeats: 31, warmup: 5);
    }
}
