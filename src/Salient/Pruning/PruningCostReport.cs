using System.Globalization;
using System.Text;
using Salient.Models;
using static TorchSharp.torch;

namespace Salient.Pruning;

/// <summary>
/// What one model costs for one image. <see cref="Macs"/> are the multiply-accumulates its
/// convolutions and linear layers execute (a masked model still executes its zeros);
/// <see cref="NonZeroMacs"/> counts only those with a nonzero effective weight, the bound sparse
/// kernels could reach. <see cref="NonZeroParameters"/> is <see cref="Parameters"/> minus the
/// convolution and linear weights that are zero in the effective weight (biases counted as they are).
/// <see cref="BatchSecondsPerImage"/> is the time of one forward pass of a whole batch divided by its
/// images: what evaluating or explaining many images costs, where latency is what one image waits.
/// </summary>
public sealed record ModelCost(string Model, long Parameters, long NonZeroParameters, long Macs, long NonZeroMacs, double LatencyB1Seconds, double BatchSecondsPerImage);

/// <summary>Dense vs masked vs compacted (or any set of models), with a Markdown renderer.</summary>
public sealed record PruningCostReport(IReadOnlyList<ModelCost> Models, int Batch)
{
    /// <summary>The batch of the throughput column: the batch the paper trains with (SPEC.md).</summary>
    public const int DefaultBatch = 128;

    /// <summary>
    /// Parameters, multiply-adds, batch-1 latency and time per image in batches of <paramref name="batch"/>
    /// of every model, each timing taken of the models in turn (<see cref="LatenciesInTurn"/>) so that
    /// the speed-up columns compare the same moments.
    /// </summary>
    public static PruningCostReport Measure(IReadOnlyList<(string Label, SalientModel Model)> models, int latencyRepeats = 31, int warmup = 5,
        int batch = DefaultBatch, int batchRepeats = 7)
    {
        CheckBatch(batch);
        var list = models.Select(m => m.Model).ToList();
        var latencies = LatenciesInTurn(list, 1, latencyRepeats, warmup);
        var batches = LatenciesInTurn(list, batch, batchRepeats, 1);
        return new(models.Select((m, i) => Counted(m.Label, m.Model, latencies[i], batches[i] / batch)).ToList(), batch);
    }

    /// <summary>Stops with one sentence, before any work, on a batch of less than one image.</summary>
    public static void CheckBatch(int batch)
    {
        if (batch < 1) throw new SalientException($"The cost report's batch (--report-batch) must be at least 1 image, got {batch}.");
    }

    private static ModelCost Counted(string label, SalientModel model, double latency, double batchSecondsPerImage)
    {
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        using var frozen = EvalScope.Frozen(model);
        var image = rand(1, 3, model.Spec.InputSize, model.Spec.InputSize);
        var (macs, nonZeroMacs) = CountMacs(model, image);
        long parameters = model.parameters().Sum(p => p.numel());
        long maskedOut = model.MaskableLayers().Sum(l => l.Layer.EffectiveWeight().eq(0).sum().item<long>());
        return new ModelCost(label, parameters, parameters - maskedOut, macs, nonZeroMacs, latency, batchSecondsPerImage);
    }

    /// <summary>
    /// The median seconds of one forward pass of each model on the same random pixel-space images
    /// (of the first model's input size; evaluation mode, frozen parameters, as explanations and
    /// evaluation run a model; no gradients), the models timed in turn (<see cref="InTurnTiming"/>).
    /// </summary>
    public static double[] LatenciesInTurn(IReadOnlyList<SalientModel> models, int batch, int repeats, int warmup)
    {
        var scopes = models.Select(EvalScope.Frozen).ToList();
        try
        {
            using var _ = no_grad();
            using var images = rand(batch, 3, models[0].Spec.InputSize, models[0].Spec.InputSize);
            return InTurnTiming.MedianSeconds(models.Select(m => (Action)(() => m.forward(images))).ToList(), repeats, warmup);
        }
        finally
        {
            foreach (var scope in scopes) scope.Dispose();
        }
    }

    /// <summary>Runs one image and counts, per convolution and linear layer, weights × output positions.</summary>
    public static (long Macs, long NonZeroMacs) CountMacs(SalientModel model, Tensor image)
    {
        long macs = 0, nonZero = 0;
        var removers = new List<Action>();
        foreach (var (_, layer) in model.MaskableLayers())
        {
            var hook = layer.register_forward_hook((module, input, output) =>
            {
                var m = (MaskableModule)module;
                // A conv applies its whole kernel at every output position; a linear layer once per sample.
                long positions = m is MaskableConv2d ? output.shape[2] * output.shape[3] : 1;
                // Without a mask the effective weight is the parameter itself: never dispose it.
                var w = m.EffectiveWeight();
                using var nz = w.count_nonzero();
                macs += w.numel() * positions;
                nonZero += nz.item<long>() * positions;
                return output;
            });
            removers.Add(hook.remove);
        }
        try
        {
            using var _ = no_grad();
            model.forward(image[..1]).Dispose();
        }
        finally
        {
            foreach (var remove in removers) remove();
        }
        return (macs, nonZero);
    }

    public string ToMarkdown()
    {
        var inv = CultureInfo.InvariantCulture;
        var baseline = Models.Count > 0 ? Models[0] : null;
        var sb = new StringBuilder();
        sb.AppendLine(string.Create(inv, $"| model | parameters | nonzero parameters | MACs | nonzero MACs | latency b1 (ms) | speed-up | per image at b{Batch} (ms) | speed-up |"));
        sb.AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var m in Models)
        {
            double speedUp = baseline!.LatencyB1Seconds / m.LatencyB1Seconds;
            double batchSpeedUp = baseline.BatchSecondsPerImage / m.BatchSecondsPerImage;
            sb.AppendLine(string.Create(inv,
                $"| {m.Model} | {m.Parameters:N0} | {m.NonZeroParameters:N0} | {m.Macs:N0} | {m.NonZeroMacs:N0} | {m.LatencyB1Seconds * 1000:F3} | {speedUp:F2}× | {m.BatchSecondsPerImage * 1000:F3} | {batchSpeedUp:F2}× |"));
        }
        return sb.ToString();
    }
}
