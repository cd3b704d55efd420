using Salient.Models;
using Salient.Pruning;
using static TorchSharp.torch;

namespace Salient.Bench;

/// <summary>
/// Inference latency of the paper's VGG-16 before and after layered pruning (10% of the channels of
/// every layer but the output), masked and physically compacted, at batch 1 and 128, in evaluation
/// mode with frozen parameters (as explanations and evaluation run a model); and the compacted /
/// dense ratio of the paper's ResNet-18 (ImageNet stem, 32 px), whose blocks' inner channels go.
/// </summary>
public static class PruningBench
{
    private sealed record Models(SalientModel Dense, SalientModel Masked, SalientModel Compacted);

    private static readonly Lazy<Models> models = new(() => Warmed(PaperVgg(), LayeredPrunedVgg()));
    private static readonly Lazy<Models> resnets = new(() =>
    {
        var spec = new ModelSpec { Architecture = "resnet18" };
        random.manual_seed(0);
        var dense = ModelFactory.Create(spec);
        random.manual_seed(0);
        var masked = ModelFactory.Create(spec);
        Pruner.Prune(masked, PruningSettings.Paper(PruningMethod.LayeredStructured));
        return Warmed(dense, masked);
    });

    private static Models Warmed(SalientModel dense, SalientModel masked)
    {
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
    }

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

    public static double ResNetCompactedVsDenseB1() => Latencies(resnets, 1).Compacted / Latencies(resnets, 1).Dense;
    public static double ResNetCompactedVsDenseB128() => Latencies(resnets, 128).Compacted / Latencies(resnets, 128).Dense;

    public static double DenseLatency() => Latencies(1).Dense;
    public static double MaskedLatency() => Latencies(1).Masked;
    public static double CompactedLatency() => Latencies(1).Compacted;
    public static double DenseB128() => Latencies(128).Dense;
    public static double MaskedB128() => Latencies(128).Masked;
    public static double CompactedB128() => Latencies(128).Compacted;

    private sealed record Medians(double Dense, double Masked, double Compacted);
    private static readonly Dictionary<(Lazy<Models>, int), Medians> measured = [];

    private static Medians Latencies(int batch) => Latencies(models, batch);

    /// <summary>The three models' median latencies, timed in turn as <c>salient prune --report</c> times them.</summary>
    private static Medians Latencies(Lazy<Models> which, int batch)
    {
        if (measured.TryGetValue((which, batch), out var known)) return known;
        var models = which.Value;
        var t = PruningCostReport.LatenciesInTurn([models.Dense, models.Masked, models.Compacted], batch, batch == 1 ? 31 : 7, batch == 1 ? 5 : 1);
        return measured[(which, batch)] = new Medians(t[0], t[1], t[2]);
    }
}
