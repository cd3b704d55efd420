using Salient.Models;
using BatchNorm2d = TorchSharp.Modules.BatchNorm2d;
using static TorchSharp.torch;

namespace Salient.Pruning;

/// <summary>
/// Turns a structurally pruned VGG-16 or ResNet-18 into a smaller dense one: every output channel or neuron whose
/// effective weight is entirely zero is physically removed, and the next layer's inputs are cut to
/// match. Such a unit is not silent: it still emits the fixed map ReLU(bias) (the mask covers the
/// weight, not the bias, as in torch). Its contribution to the next layer is therefore input
/// independent and is folded in exactly: into the bias of a linear layer, and for a convolution
/// into its bias too, except on the border ring where zero padding makes the contribution vary with
/// position — that ring keeps an offset map (<see cref="ModelSpec.OffsetRings"/>). A VGG-16 with
/// BatchNorm has each normalisation folded into its convolution first (exact in evaluation mode),
/// so the compacted model is a plain VGG-16. In a ResNet-18 the removable channels are the inner ones
/// of each residual block (its first convolution's outputs, read only by its second convolution);
/// the residual stream's channels stay, because a stream channel could go only if every block of its
/// stage and its shortcut agreed it is dead, which pruning each convolution by its own weights does
/// not give. Its BatchNorms are folded likewise. In eval mode the compacted model computes the same
/// function as the masked one; it is meant for inference (dropout in training mode would no longer
/// drop the removed neurons' constants, and folded BatchNorm no longer learns).
/// </summary>
public static class Compaction
{
    /// <summary>Whether <see cref="Compact"/> can remove this model's pruned channels.</summary>
    public static bool Supports(SalientModel model) => model is Vgg16 or ResNet18;

    public static SalientModel Compact(SalientModel model) => model switch
    {
        Vgg16 vgg => CompactVgg(vgg),
        ResNet18 resnet => CompactResNet(resnet),
        _ => throw new SalientException($"Compaction supports VGG-16 and ResNet-18, not {model.Spec.Architecture}; keep the masked model."),
    };

    private static Vgg16 CompactVgg(Vgg16 vgg)
    {
        using var _ = no_grad();
        var plans = PlanLayers(vgg);
        try
        {
            // Built outside any dispose scope: the model's parameters must outlive this call.
            var widths = plans.Take(plans.Count - 1).Select(p => (int)p.KeptRows.shape[0]).ToArray();
            var rings = plans.Where(p => p.FeatureIndex is not null).Select(p => p.Ring).ToArray();
            var compact = new Vgg16(vgg.Spec with { BatchNorm = false, LayerWidths = widths, OffsetRings = rings });
            var target = compact.MaskableLayers().ToDictionary(l => l.Name, l => l.Layer);
            foreach (var p in plans)
            {
                using var scope = NewDisposeScope();
                // The compacted model has no BatchNorm, so its convolutions sit at other feature indices.
                new LayerWeights(
                    p.Weight.index_select(0, p.KeptRows).index_select(1, p.KeptInputs),
                    p.Mask?.index_select(0, p.KeptRows).index_select(1, p.KeptInputs),
                    p.Bias).CopyInto(target[p.TargetName]);
                if (p.Offset is not null && compact.Offsets!.For(p.TargetName["features.".Length..]) is { } offset) offset.copy_(p.Offset);
            }
            return FinishCompaction(compact, vgg);
        }
        finally
        {
            foreach (var p in plans) p.Dispose();
        }
    }

    /// <summary>What one layer of the compacted model receives: weight and mask (rows and inputs already cut) and bias.</summary>
    private sealed record LayerWeights(Tensor Weight, Tensor? Mask, Tensor Bias)
    {
        public IEnumerable<Tensor> Tensors() => Mask is null ? [Weight, Bias] : [Weight, Mask, Bias];

        public void CopyInto(MaskableModule target)
        {
            target.Weight.copy_(Weight);
            if (Mask is not null) target.SetMask(Mask);
            // Every layer of a compacted model has a bias (BatchNorm folded in): the module's own parameter of that name.
            target.get_parameter("bias")!.copy_(Bias);
        }
    }

    /// <summary>The compacted model's remaining state (input normalisation, mode) taken from the model it replaces.</summary>
    private static T FinishCompaction<T>(T compact, SalientModel source) where T : SalientModel
    {
        compact.Normalization.load_state_dict(source.Normalization.state_dict());
        compact.WeightsChanged();
        compact.train(source.training);
        return compact;
    }

    private sealed record BlockPlan(LayerWeights Conv1, LayerWeights Conv2, LayerWeights? Downsample, Tensor? Offset, int Ring);

    private static ResNet18 CompactResNet(ResNet18 resnet)
    {
        using var _ = no_grad();
        var made = new List<Tensor>();
        try
        {
            LayerWeights stem, fc;
            var blocks = new List<BlockPlan>();
            using (var scope = NewDisposeScope())
            {
                var modules = resnet.named_modules().ToDictionary(m => m.name, m => m.module);
                var (stemWeight, stemMask, stemBias) = Folded((MaskableConv2d)modules["conv1"], modules.GetValueOrDefault("bn1") as BatchNorm2d);
                stem = new LayerWeights(stemWeight, stemMask, stemBias);
                foreach (var (_, block) in resnet.Blocks())
                {
                    var (w1, m1, b1) = Folded(block.Conv1, block.Bn1);
                    var (kept, removed) = SplitAliveRows(m1 is null ? w1 : w1 * m1);
                    var (w2, m2, b2) = Folded(block.Conv2, block.Bn2);
                    // A block compacted before keeps its offset; the inner channels removed now add theirs.
                    var offset = block.Offset?.clone() ?? zeros(w2.shape[0], block.Side, block.Side);
                    int ring = block.Offset is null ? 0 : block.Ring;
                    if (removed.numel() > 0)
                    {
                        // A removed inner channel's convolution output is exactly 0, so after the (folded)
                        // normalisation and ReLU it is the constant map ReLU(bias).
                        var constants = nn.functional.relu(b1.index_select(0, removed)).reshape(1, -1, 1, 1).expand(1, removed.numel(), block.Side, block.Side);
                        var effective2 = m2 is null ? w2 : w2 * m2;
                        offset = offset + Convolution.Conv2d(constants, effective2.index_select(1, removed), null, 1, 1).squeeze(0);
                        ring = Math.Max(ring, Math.Min((int)block.Conv2.Padding, HalfSide(block.Side)));
                    }
                    (b2, offset) = FoldInterior(b2, offset, ring);
                    LayerWeights? down = null;
                    if (block.DownsampleConv is { } downsample)
                    {
                        var (wd, md, bd) = Folded(downsample, block.DownsampleNorm);
                        down = new LayerWeights(wd, md, bd);
                    }
                    blocks.Add(new BlockPlan(
                        new LayerWeights(w1.index_select(0, kept), m1?.index_select(0, kept), b1.index_select(0, kept)),
                        new LayerWeights(w2.index_select(1, kept), m2?.index_select(1, kept), b2),
                        down, ring > 0 ? offset : null, ring));
                }
                var linear = (MaskableLinear)modules[resnet.OutputLayerName];
                fc = new LayerWeights(linear.Weight.detach().clone(), linear.WeightMask?.clone(), linear.Bias.detach().clone());

                made.AddRange(stem.Tensors().Concat(fc.Tensors()));
                foreach (var b in blocks)
                    made.AddRange(b.Conv1.Tensors().Concat(b.Conv2.Tensors()).Concat(b.Downsample?.Tensors() ?? []).Concat(b.Offset is null ? [] : [b.Offset]));
                foreach (var t in made) t.MoveToOuterDisposeScope();
            }

            // Built outside any dispose scope: the model's parameters must outlive this call.
            var compact = new ResNet18(resnet.Spec with
            {
                LayerWidths = blocks.Select(b => (int)b.Conv1.Weight.shape[0]).ToArray(),
                OffsetRings = blocks.Select(b => b.Ring).ToArray(),
            });
            stem.CopyInto((MaskableConv2d)compact.named_modules().First(m => m.name == "conv1").module);
            foreach (var ((_, target), plan) in compact.Blocks().Zip(blocks))
            {
                plan.Conv1.CopyInto(target.Conv1);
                plan.Conv2.CopyInto(target.Conv2);
                if (plan.Downsample is { } down) down.CopyInto(target.DownsampleConv!);
                if (plan.Offset is { } offset) target.Offset!.copy_(offset);
            }
            fc.CopyInto((MaskableLinear)compact.named_modules().First(m => m.name == compact.OutputLayerName).module);
            return FinishCompaction(compact, resnet);
        }
        finally
        {
            foreach (var t in made) t.Dispose();
        }
    }

    /// <summary>
    /// Per layer: the weight (BatchNorm folded in), which rows and inputs survive, and the bias and
    /// offset ring with removed units folded in.
    /// </summary>
    private static List<LayerPlan> PlanLayers(Vgg16 vgg)
    {
        var modules = vgg.named_modules().ToDictionary(m => m.name, m => m.module);
        var convNames = vgg.MaskableLayers().Select(l => l.Name).Where(n => n.StartsWith("features.")).ToList();
        var poolAfter = PoolsAfterEachConv();

        var plans = new List<LayerPlan>();
        using var scope = NewDisposeScope();

        long side = vgg.Spec.InputSize;
        Tensor inputKept = arange(3L);
        Tensor? removedMaps = null; // fixed post-activation maps [removed, side, side] of the previous layer
        int removedRing = 0;        // how far from the border those maps may differ from a constant
        Tensor? removedIndex = null;
        int featureIndex = 0;       // index of the convolution in the compacted (BatchNorm-free) features
        for (int j = 0; j < convNames.Count; j++)
        {
            var conv = (MaskableConv2d)modules[convNames[j]];
            var sourceIndex = int.Parse(convNames[j]["features.".Length..]);
            var batchNorm = vgg.Spec.BatchNorm ? (BatchNorm2d)modules[$"features.{sourceIndex + 1}"] : null;
            var (weight, mask, bias) = Folded(conv, batchNorm);
            var effective = mask is null ? weight : weight * mask;
            var (kept, removed) = SplitAliveRows(effective);

            // The offset so far (a compacted model compacted again) plus what the removed inputs contribute.
            var oldOffset = vgg.Offsets?.For(convNames[j]["features.".Length..]);
            int ring = oldOffset is null ? 0 : Math.Min(vgg.Spec.OffsetRings?[j] ?? int.MaxValue, HalfSide(side));
            var offset = oldOffset?.clone() ?? zeros(effective.shape[0], side, side);
            if (removedMaps is not null)
            {
                offset = offset + Convolution.Conv2d(removedMaps.unsqueeze(0), effective.index_select(1, removedIndex!), null, conv.Stride, conv.Padding).squeeze(0);
                // Zero padding cuts a map that is constant up to ring r off at the border: constant up to r + padding.
                ring = Math.Max(ring, Math.Min(removedRing + (int)conv.Padding, HalfSide(side)));
            }
            (bias, offset) = FoldInterior(bias, offset, ring);

            var targetName = $"features.{featureIndex}";
            plans.Add(new LayerPlan(targetName, weight, mask, kept, inputKept, bias.index_select(0, kept), j == 0 ? null : offset.index_select(0, kept), ring, targetName).MoveOut());

            if (removed.numel() == 0) removedMaps = null;
            else
            {
                var preActivation = bias.index_select(0, removed).reshape(removed.numel(), 1, 1) + offset.index_select(0, removed);
                removedMaps = nn.functional.relu(preActivation);
                removedRing = ring;
                if (poolAfter[j])
                {
                    removedMaps = nn.functional.max_pool2d(removedMaps.unsqueeze(0), 2, 2).squeeze(0);
                    removedRing = (removedRing + 1) / 2;
                }
            }
            if (poolAfter[j]) side /= 2;
            removedIndex = removed;
            inputKept = kept;
            featureIndex += poolAfter[j] ? 3 : 2; // conv, ReLU, and the pool if one follows
        }

        // The first linear layer reads the last feature map flattened channel-major: column c·s² + p.
        long area = side * side;
        var columnsKept = ChannelColumns(inputKept, area);
        var columnsRemoved = ChannelColumns(removedIndex!, area);
        Tensor removedValues = removedMaps?.flatten() ?? zeros(0);
        string[] linearNames = ["classifier.1", "classifier.4", vgg.OutputLayerName];
        foreach (var name in linearNames)
        {
            var linear = (MaskableLinear)modules[name];
            var effective = linear.EffectiveWeight();
            var bias = linear.Bias.detach() + effective.index_select(1, columnsRemoved).matmul(removedValues);
            bool isOutput = name == vgg.OutputLayerName;
            var (kept, removed) = isOutput ? (arange(effective.shape[0]), zeros(0, dtype: int64)) : SplitAliveRows(effective);
            plans.Add(new LayerPlan(name, linear.Weight.detach(), linear.WeightMask?.alias(), kept, columnsKept, bias.index_select(0, kept), null, 0, null).MoveOut());
            removedValues = nn.functional.relu(bias.index_select(0, removed));
            columnsRemoved = removed;
            columnsKept = kept;
        }

        return plans;
    }

    /// <summary>
    /// The convolution's weight, mask and bias with a following BatchNorm (evaluation mode) folded in:
    /// BN(Wx + b) = (s·W)x + s·(b − μ) + β with s = γ/√(σ² + ε), per output channel. Scaling rows keeps
    /// the mask's zeros where they are.
    /// </summary>
    private static (Tensor Weight, Tensor? Mask, Tensor Bias) Folded(MaskableConv2d conv, BatchNorm2d? batchNorm)
    {
        var weight = conv.Weight.detach();
        var bias = conv.Bias?.detach() ?? zeros(conv.OutChannels);
        if (batchNorm is null) return (weight, conv.WeightMask?.alias(), bias);
        var scale = batchNorm.weight!.detach() / (batchNorm.running_var! + batchNorm.eps).sqrt();
        return (weight * scale.view(-1, 1, 1, 1), conv.WeightMask?.alias(), (bias - batchNorm.running_mean!) * scale + batchNorm.bias!.detach());
    }

    /// <summary>
    /// Splits an offset map (C×H×W) that is constant more than <paramref name="ring"/> pixels from the
    /// border into that constant, added to the bias, and the rest, zero inside the ring by construction.
    /// A ring of half the side or more covers the whole map, which then stays as it is.
    /// </summary>
    private static (Tensor Bias, Tensor Offset) FoldInterior(Tensor bias, Tensor offset, int ring)
    {
        long height = offset.shape[1], width = offset.shape[2];
        if (2L * ring >= Math.Min(height, width)) return (bias, offset);
        var interior = offset[.., (int)(height / 2), (int)(width / 2)];
        var rest = (offset - interior.view(-1, 1, 1)).contiguous();
        rest[.., TensorIndex.Slice(ring, height - ring), TensorIndex.Slice(ring, width - ring)] = 0;
        return (bias + interior, rest);
    }

    private static int HalfSide(long side) => (int)((side + 1) / 2);

    private sealed record LayerPlan(string TargetName, Tensor Weight, Tensor? Mask, Tensor KeptRows, Tensor KeptInputs, Tensor Bias, Tensor? Offset, int Ring, string? FeatureIndex) : IDisposable
    {
        public LayerPlan MoveOut()
        {
            Weight.MoveToOuterDisposeScope();
            Mask?.MoveToOuterDisposeScope();
            KeptRows.MoveToOuterDisposeScope();
            KeptInputs.MoveToOuterDisposeScope();
            Bias.MoveToOuterDisposeScope();
            Offset?.MoveToOuterDisposeScope();
            return this;
        }

        public void Dispose()
        {
            Weight.Dispose();
            Mask?.Dispose();
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
