using Salient.Models;
using Salient.Pruning;
using static TorchSharp.torch;

namespace Salient.Bench;

/// <summary>
/// The convolution peak as Salient reaches it, and the floor it puts under a training step. The
/// peak is one large 3×3 convolution through <see cref="Convolution.Conv2d"/> (channels-last, as
/// every convolution of the library runs): input 128×256×16×16, weights 256×256×3×3, the shape
/// ../shared/bench-peer/README.md gives for the reference's peak.
/// </summary>
public static class ConvPeakBench
{
    private const double PeakFlops = 2.0 * 128 * 256 * 16 * 16 * 256 * 9;

    public static double SalientConvPeakGflops()
    {
        random.manual_seed(0);
        using var x = Convolution.ChannelsLast(randn(128, 256, 16, 16));
        using var w = randn(256, 256, 3, 3);
        using var _ = no_grad();
        // A peak is the best the machine reaches: the fastest of ten runs, not a median, because this
        // machine's speed drifts by tens of percent over seconds (medians of 5 gave 119 and 261).
        return PeakFlops / Benchmarks.Fastest(() => Convolution.Conv2d(x, w, null, 1, 1).Dispose(), repeats: 10) / 1e9;
    }

    /// <summary>
    /// The convolution FLOPs of one training step of the paper's VGG-16 at batch 128: every
    /// convolution runs forward, input gradient and weight gradient (2 FLOPs per multiply-add each),
    /// except that nothing needs the first one's input gradient. Linear layers add 0.2%, left out.
    /// </summary>
    public static double TrainStepConvGflop()
    {
        using var model = ModelFactory.Create(new ModelSpec());
        using var image = rand(1, 3, 32, 32);
        var (macs, _) = PruningCostReport.CountMacs(model, image);
        long linearMacs = model.MaskableLayers().Where(l => l.Layer is MaskableLinear).Sum(l => l.Layer.Weight.numel());
        var first = (MaskableConv2d)model.MaskableLayers().First().Layer;
        long firstMacs = first.Weight.numel() * 32 * 32;
        return 2.0 * 128 * (3 * (macs - linearMacs) - firstMacs) / 1e9;
    }
}
