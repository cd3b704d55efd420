using Salient.Models;
using Salient.Pruning;
using static TorchSharp.torch;

namespace Salient.Bench;

/// <summary>
/// Inference latency of the paper's VGG-16 before and after layered pruning (10% of the channels of
/// every layer but the output), masked and physically compacted, at batch 1 and 128, in evaluation
/// mode with frozen parameters (as explanations and evaluation run a model).
/// </summary>
public static class PruningBench
{
    private sealed record Models(SalientModel Dense, SalientModel Masked, SalientModel Compacted);

    private static readonly Lazy<Models> models = new(() =>
    {
        var dense = PaperVgg();
        var masked = LayeredPrunedVgg();
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

    public static SalientModel PaperVgg()
    {
        random.manual_seed(0);
        return ModelFactory.Create(new ModelSpec());
    }

    public static SalientModel LayeredPrunedVgg()
    {
        var masked = PaperVgg();
        Pruner.Prune(masked, PruningSettings.Paper(PruningMethod.LayeredStructured));
        return masked;
    }

    public static double DenseLatency() => Latency(models.Value.Dense, 1);
    public static double MaskedLatency() => Latency(models.Value.Masked, 1);
    public static double CompactedLatency() => Latency(models.Value.Compacted, 1);
    public static double DenseB128() => Latency(models.Value.Dense, 128);
    public static double MaskedB128() => Latency(models.Value.Masked, 128);
    public static double CompactedB128() => Latency(models.Value.Compacted, 128);

    private static double Latency(SalientModel model, int batch)
    {
        using var images = rand(batch, 3, model.Spec.InputSize, model.Spec.InputSize);
        using var frozen = EvalScope.Frozen(model);
        using var _ = no_grad();
        return batch == 1
            ? Benchmarks.Median(() => model.forward(images).Dispose(), repeats: 31, warmup: 5)
            : Benchmarks.Median(() => model.forward(images).Dispose(), repeats: 7, warmup: 1);
    }
}
