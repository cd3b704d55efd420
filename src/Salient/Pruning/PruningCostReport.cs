using System.Diagnostics;
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
/// </summary>
public sealed record ModelCost(string Model, long Parameters, long NonZeroParameters, long Macs, long NonZeroMacs, double LatencyB1Seconds);

/// <summary>Dense vs masked vs compacted (or any set of models), with a Markdown renderer.</summary>
public sealed record PruningCostReport(IReadOnlyList<ModelCost> Models)
{
    /// <summary>Measures every model on one random pixel-space image (eval mode, frozen parameters, no gradients).</summary>
    public static PruningCostReport Measure(IEnumerable<(string Label, SalientModel Model)> models, int latencyRepeats = 20, int warmup = 3) =>
        new(models.Select(m => MeasureOne(m.Label, m.Model, latencyRepeats, warmup)).ToList());

    public static ModelCost MeasureOne(string label, SalientModel model, int latencyRepeats = 20, int warmup = 3)
    {
        if (latencyRepeats < 1) throw new ArgumentOutOfRangeException(nameof(latencyRepeats));
        // Frozen, as explanations and evaluation run a model: masked layers use their weight computed once.
        using (EvalScope.Frozen(model))
        {
            using var _ = no_grad();
            using var scope = NewDisposeScope();
            var image = rand(1, 3, model.Spec.InputSize, model.Spec.InputSize);
            var (macs, nonZeroMacs) = CountMacs(model, image);
            long parameters = model.parameters().Sum(p => p.numel());
            long maskedOut = model.MaskableLayers().Sum(l => l.Layer.EffectiveWeight().eq(0).sum().item<long>());
            for (int i = 0; i < warmup; i++) model.forward(image).Dispose();
            var times = new double[latencyRepeats];
            for (int i = 0; i < latencyRepeats; i++)
            {
                var watch = Stopwatch.StartNew();
                model.forward(image).Dispose();
                times[i] = watch.Elapsed.TotalSeconds;
            }
            Array.Sort(times);
            return new ModelCost(label, parameters, parameters - maskedOut, macs, nonZeroMacs, times[latencyRepeats / 2]);
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
        sb.AppendLine("| model | parameters | nonzero parameters | MACs | nonzero MACs | latency b1 (ms) | speed-up |");
        sb.AppendLine("|---|---:|---:|---:|---:|---:|---:|");
        foreach (var m in Models)
        {
            double speedUp = baseline!.LatencyB1Seconds / m.LatencyB1Seconds;
            sb.AppendLine(string.Create(inv,
                $"| {m.Model} | {m.Parameters:N0} | {m.NonZeroParameters:N0} | {m.Macs:N0} | {m.NonZeroMacs:N0} | {m.LatencyB1Seconds * 1000:F3} | {speedUp:F2}× |"));
        }
        return sb.ToString();
    }
}
