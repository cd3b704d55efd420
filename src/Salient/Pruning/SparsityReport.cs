using System.Globalization;
using System.Text;
using Salient.Models;
using static TorchSharp.torch;

namespace Salient.Pruning;

/// <summary>Zeros of one layer's effective weight (weight ⊙ mask), biases excluded.</summary>
public sealed record LayerSparsity(string Layer, string Kind, long Zeros, long Total)
{
    public double Sparsity => Total == 0 ? 0 : (double)Zeros / Total;
}

/// <summary>
/// Actual sparsity of every convolution and linear layer and overall (zeros of effective weights /
/// weights), measured from the tensors, not from the settings.
/// </summary>
public sealed record SparsityReport(IReadOnlyList<LayerSparsity> Layers)
{
    public long Zeros => Layers.Sum(l => l.Zeros);
    public long Total => Layers.Sum(l => l.Total);
    public double Overall => Total == 0 ? 0 : (double)Zeros / Total;

    public static SparsityReport Measure(SalientModel model)
    {
        using var _ = no_grad();
        var layers = new List<LayerSparsity>();
        foreach (var (name, layer) in model.MaskableLayers())
        {
            using var scope = NewDisposeScope();
            var w = layer.EffectiveWeight();
            long zeros = w.eq(0).sum().item<long>();
            layers.Add(new LayerSparsity(name, layer is MaskableLinear ? "linear" : "conv", zeros, w.numel()));
        }
        return new SparsityReport(layers);
    }

    public string ToMarkdown()
    {
        var inv = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        sb.AppendLine("| layer | kind | zeros | weights | sparsity |");
        sb.AppendLine("|---|---|---:|---:|---:|");
        foreach (var l in Layers)
            sb.AppendLine(string.Create(inv, $"| {l.Layer} | {l.Kind} | {l.Zeros} | {l.Total} | {l.Sparsity:P2} |"));
        sb.AppendLine(string.Create(inv, $"| **all** | | {Zeros} | {Total} | {Overall:P2} |"));
        return sb.ToString();
    }
}
