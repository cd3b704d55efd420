using Salient.Models;
using static TorchSharp.torch;

namespace Salient.Pruning;

/// <summary>
/// Prunes a model in place: a method computes masks (<see cref="PruningMasks"/>), and the one mask
/// mechanism of <see cref="MaskableModule"/> applies them, combined with any earlier mask.
/// </summary>
public static class Pruner
{
    public static SparsityReport Prune(SalientModel model, PruningSettings settings)
    {
        ScriptedModel.Refuse(model, "prune");
        settings.Validate();
        var layers = SelectLayers(model, settings);
        using (no_grad())
        using (NewDisposeScope())
        {
            switch (settings.Method)
            {
                case PruningMethod.L1Unstructured:
                    foreach (var (_, layer) in layers)
                        layer.SetMask(PruningMasks.L1Unstructured(layer.EffectiveWeight(), layer.WeightMask, AmountFor(layer, settings)));
                    break;
                case PruningMethod.GlobalUnstructured:
                    var masks = PruningMasks.GlobalUnstructured(layers.Select(l => (l.Layer.EffectiveWeight(), l.Layer.WeightMask)).ToList(), settings.Amount);
                    for (int i = 0; i < layers.Count; i++) layers[i].Layer.SetMask(masks[i]);
                    break;
                case PruningMethod.LayeredStructured:
                    foreach (var (_, layer) in layers)
                        layer.SetMask(PruningMasks.LnStructured(layer.EffectiveWeight(), layer.WeightMask, AmountFor(layer, settings), settings.StructuredNorm));
                    break;
                default:
                    throw new ArgumentOutOfRangeException(nameof(settings), settings.Method, "Unknown pruning method.");
            }
        }
        return SparsityReport.Measure(model);
    }

    private static double AmountFor(MaskableModule layer, PruningSettings settings) =>
        layer is MaskableLinear ? settings.LinearAmount : settings.Amount;

    /// <summary>The layers a setting names, or the method's default selection, in forward order.</summary>
    public static IReadOnlyList<(string Name, MaskableModule Layer)> SelectLayers(SalientModel model, PruningSettings settings)
    {
        var all = model.MaskableLayers().ToList();
        if (settings.Layers is null)
            return settings.Method == PruningMethod.LayeredStructured
                ? all.Where(l => l.Name != model.OutputLayerName).ToList()
                : all;
        var known = all.Select(l => l.Name).ToHashSet();
        var unknown = settings.Layers.Where(n => !known.Contains(n)).ToList();
        if (unknown.Count > 0)
        {
            var examples = string.Join(", ", all.Take(3).Select(l => l.Name).Append(model.OutputLayerName));
            throw new SalientException(
                $"Pruning setting Layers names '{unknown[0]}'{(unknown.Count > 1 ? $" (and {unknown.Count - 1} more)" : "")}, which is not a convolution or linear layer of this {model.Spec.Architecture} (its layers are named like {examples}); fix the name or use settings written for this architecture.");
        }
        var wanted = settings.Layers.ToHashSet();
        return all.Where(l => wanted.Contains(l.Name)).ToList();
    }
}
