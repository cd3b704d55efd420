using Salient.Models;
using static TorchSharp.torch;

namespace Salient.Pruning;

/// <summary>
/// Turns a structurally pruned VGG-16 into a smaller dense one: every output channel or neuron whose
/// effective weight is entirely zero is physically removed, and the next layer's inputs are cut to
/// match. Such a unit is not silent: it still emits the fixed map ReLU(bias) (the mask covers the
/// weight, not the bias, as in torch). Its contribution to the next layer is therefore input
/// independent and is folded in exactly, into the bias of a linear layer or into a per-position
/// offset map of a convolution (zero padding makes it vary at the borders). In eval mode the
/// compacted model computes the same function as the masked one; in training mode dropout no longer
/// drops the removed neurons' constants.
/// </summary>
public static class Compaction
{
    public static Vgg16 Compact(SalientModel model)
    {
        if (model is not Vgg16 vgg)
            throw new SalientException(model.Spec.Architecture == "resnet18"
                ? "Compaction supports VGG-16 only: ResNet-18's residual additions tie the channels of every block to its shortcut, so pruned channels cannot be removed layer by layer; keep the masked ResNet-18."
                : $"Compaction supports VGG-16 only, not {model.Spec.Architecture}; keep the masked model.");
        if (vgg.Spec.BatchNorm)
            throw new SalientException("Compaction supports the plain VGG-16 only; with BatchNorm every removed channel's normalisation would have to be cut as well, so keep the masked model.");
        using var _ = no_grad();
        var plans = PlanLayers(vgg);
        try
        {
            // Built outside any dispose scope: the model's parameters must outlive this call.
            var widths = plans.Take(plans.Count - 1).Select(p => (int)p.KeptRows.shape[0]).ToArray();
            var compact = new Vgg16(vgg.Spec with { LayerWidths = widths });
            var target = compact.MaskableLayers().ToDictionary(l => l.Name, l => l.Layer);
            foreach (var p in plans)
            {
                using var scope = NewDisposeScope();
                var dst = target[p.Name];
                dst.Weight.copy_(p.Source.Weight.detach().index_select(0, p.KeptRows).index_select(1, p.KeptInputs));
                if (p.Source.WeightMask is { } mask) dst.SetMask(mask.index_select(0, p.KeptRows).index_select(1, p.KeptInputs));
                (dst is MaskableConv2d c ? c.Bias! : ((MaskableLinear)dst).Bias).copy_(p.Bias);
                if (p.FeatureIndex is not null && compact.Offsets!.For(p.FeatureIndex) is { } offset) offset.copy_(p.Offset!);
            }
            compact.Normalization.load_state_dict(vgg.Normalization.state_dict());
            compact.train(vgg.training);
            return compact;
        }
        finally
        {
            foreach (var p in plans) p.Dispose();
        }
    }

    /// <summary>Per layer: which rows and inputs survive, and the bias and offset map with removed units folded in.</summary>
    private static List<LayerPlan> PlanLayers(Vgg16 vgg)
    {
        var layers = vgg.MaskableLayers().ToDictionary(l => l.Name, l => l.Layer);
        var convNames = layers.Keys.Where(n => n.StartsWith("features.")).ToList();
        var poolAfter = PoolsAfterEachConv();

        var plans = new List<LayerPlan>();
        using var scope = NewDisposeScope();

        long side = vgg.Spec.InputSize;
        Tensor inputKept = arange(3L);
        Tensor? removedMaps = null; // fixed post-activation maps [removed, side, side] of the previous layer
        Tensor? removedIndex = null;
        for (int j = 0; j < convNames.Count; j++)
        {
            var conv = (MaskableConv2d)layers[convNames[j]];
            var effective = conv.EffectiveWeight();
            var (kept, removed) = SplitAliveRows(effective);
            var bias = conv.Bias!.detach();
            var featureIndex = convNames[j]["features.".Length..];
            var oldOffset = vgg.Offsets?.For(featureIndex);
            var offset = oldOffset?.clone() ?? zeros(effective.shape[0], side, side);
            if (removedMaps is not null)
            {
                var contribution = Convolution.Conv2d(removedMaps.unsqueeze(0), effective.index_select(1, removedIndex!), null, conv.Stride, conv.Padding).squeeze(0);
                offset = offset + contribution;
            }
            plans.Add(new LayerPlan(convNames[j], conv, kept, inputKept, bias.index_select(0, kept), offset.index_select(0, kept), featureIndex).MoveOut());

            if (removed.numel() == 0) removedMaps = null;
            else
            {
                var preActivation = bias.index_select(0, removed).reshape(removed.numel(), 1, 1) + offset.index_select(0, removed);
                removedMaps = nn.functional.relu(preActivation);
                if (poolAfter[j]) removedMaps = nn.functional.max_pool2d(removedMaps.unsqueeze(0), 2, 2).squeeze(0);
            }
            if (poolAfter[j]) side /= 2;
            removedIndex = removed;
            inputKept = kept;
        }

        // The first linear layer reads the last feature map flattened channel-major: column c·s² + p.
        long area = side * side;
        var columnsKept = ChannelColumns(inputKept, area);
        var columnsRemoved = ChannelColumns(removedIndex!, area);
        Tensor removedValues = removedMaps?.flatten() ?? zeros(0);
        string[] linearNames = ["classifier.1", "classifier.4", vgg.OutputLayerName];
        for (int j = 0; j < linearNames.Length; j++)
        {
            var linear = (MaskableLinear)layers[linearNames[j]];
            var effective = linear.EffectiveWeight();
            var bias = linear.Bias.detach() + effective.index_select(1, columnsRemoved).matmul(removedValues);
            bool isOutput = linearNames[j] == vgg.OutputLayerName;
            var (kept, removed) = isOutput ? (arange(effective.shape[0]), zeros(0, dtype: int64)) : SplitAliveRows(effective);
            plans.Add(new LayerPlan(linearNames[j], linear, kept, columnsKept, bias.index_select(0, kept), null, null).MoveOut());
            removedValues = nn.functional.relu(bias.index_select(0, removed));
            columnsRemoved = removed;
            columnsKept = kept;
        }

        return plans;
    }

    private sealed record LayerPlan(string Name, MaskableModule Source, Tensor KeptRows, Tensor KeptInputs, Tensor Bias, Tensor? Offset, string? FeatureIndex) : IDisposable
    {
        public LayerPlan MoveOut()
        {
            KeptRows.MoveToOuterDisposeScope();
            KeptInputs.MoveToOuterDisposeScope();
            Bias.MoveToOuterDisposeScope();
            Offset?.MoveToOuterDisposeScope();
            return this;
        }

        public void Dispose()
        {
            KeptRows.Dispose();
            KeptInputs.Dispose();
            Bias.Dispose();
            Offset?.Dispose();
        }
    }

    /// <summary>Output units with any nonzero effective weight, and the rest; at least one unit is kept so the layer exists.</summary>
    private static (Tensor Kept, Tensor Removed) SplitAliveRows(Tensor effective)
    {
        var alive = effective.flatten(1).ne(0).any(1);
        if (!alive.any().item<bool>()) alive[0] = true;
        return (alive.nonzero().squeeze(1), alive.logical_not().nonzero().squeeze(1));
    }

    private static Tensor ChannelColumns(Tensor channels, long area) =>
        (channels.unsqueeze(1) * area + arange(area).unsqueeze(0)).flatten();

    private static bool[] PoolsAfterEachConv()
    {
        var result = new List<bool>();
        for (int i = 0; i < Vgg16.Plan.Length; i++)
            if (Vgg16.Plan[i] != 0) result.Add(i + 1 < Vgg16.Plan.Length && Vgg16.Plan[i + 1] == 0);
        return [.. result];
    }
}
