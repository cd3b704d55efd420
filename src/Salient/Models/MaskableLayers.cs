using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Salient.Models;

/// <summary>
/// A layer whose weight can be pruned by a mask, as torch.nn.utils.prune does: the parameter
/// <c>weight</c> plays the role of torch's <c>weight_orig</c>, and when a buffer <c>weight_mask</c>
/// is present the layer computes with weight ⊙ mask. Masked entries therefore contribute exactly
/// zero whatever an optimizer does to the underlying parameter.
/// </summary>
public interface IMaskable
{
    Parameter Weight { get; }
    Tensor? WeightMask { get; }
    /// <summary>Installs or replaces the mask (same shape as the weight, 0/1).</summary>
    void SetMask(Tensor mask);
    /// <summary>The weight the layer actually computes with.</summary>
    Tensor EffectiveWeight();
}

/// <remarks>
/// While no gradient can reach the weight — evaluation mode, and the weight frozen or autograd off —
/// the layer computes weight ⊙ mask once and reuses it: explanations and evaluation run a masked
/// model hundreds of times with the same weights. libtorch's version counter, which would reveal an
/// in-place change, is not exposed by TorchSharp, so the cached weight is dropped explicitly by
/// every path that changes weights or masks: <see cref="SetMask"/>, any change of mode
/// (<c>train</c>/<c>eval</c>, which every <see cref="EvalScope"/> makes on entry and exit) and
/// <see cref="SalientModel.WeightsChanged"/> (state-dict and checkpoint loading). Code that writes
/// a weight in place while the model stays in evaluation mode must call the latter too.
/// </remarks>
public abstract class MaskableModule : nn.Module<Tensor, Tensor>, IMaskable
{
    private Tensor? frozenWeight;

    protected MaskableModule(string name) : base(name) { }
    public abstract Parameter Weight { get; }
    public Tensor? WeightMask => has_buffer("weight_mask") ? get_buffer("weight_mask") : null;

    public void SetMask(Tensor mask)
    {
        if (!mask.shape.SequenceEqual(Weight.shape))
            throw new ArgumentException($"Mask shape [{string.Join(",", mask.shape)}] does not match weight [{string.Join(",", Weight.shape)}].");
        var m = mask.to(Weight.dtype).detach().clone();
        if (has_buffer("weight_mask")) get_buffer("weight_mask")!.copy_(m);
        // A buffer outlives whatever dispose scope the caller (e.g. a pruning loop) has open.
        else register_buffer("weight_mask", m.DetachFromDisposeScope());
        WeightChanged();
    }

    public Tensor EffectiveWeight() => WeightMask is { } m ? Weight * m : Weight;

    /// <summary>
    /// The weight <c>forward</c> computes with: the effective weight, computed once and kept while
    /// no gradient can reach it (see the class remarks).
    /// </summary>
    public Tensor ForwardWeight()
    {
        if (training || (Weight.requires_grad && is_grad_enabled()))
        {
            WeightChanged();
            return EffectiveWeight();
        }
        if (frozenWeight is null)
        {
            using var _ = no_grad();
            frozenWeight = FrozenForm(EffectiveWeight()).DetachFromDisposeScope();
        }
        return frozenWeight;
    }

    /// <summary>How a layer keeps its fixed weight; the weight itself unless a layout computes faster.</summary>
    protected virtual Tensor FrozenForm(Tensor effective) => WeightMask is null ? effective.alias() : effective;

    /// <summary>Drops the weight computed for frozen use; the next forward recomputes it.</summary>
    public void WeightChanged()
    {
        frozenWeight?.Dispose();
        frozenWeight = null;
    }

    public override void train(bool train = true)
    {
        base.train(train);
        WeightChanged();
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing) WeightChanged();
        base.Dispose(disposing);
    }
}

public sealed class MaskableConv2d : MaskableModule
{
    private readonly Parameter weight;
    private readonly Parameter? bias;
    public long InChannels { get; }
    public long OutChannels { get; }
    public long KernelSize { get; }
    public long Stride { get; }
    public long Padding { get; }

    public MaskableConv2d(long inChannels, long outChannels, long kernelSize, long stride = 1, long padding = 0, bool hasBias = true)
        : base(nameof(MaskableConv2d))
    {
        (InChannels, OutChannels, KernelSize, Stride, Padding) = (inChannels, outChannels, kernelSize, stride, padding);
        // Same default init as torch.nn.Conv2d (kaiming-uniform with a = sqrt(5)); architectures override it.
        using var template = nn.Conv2d(inChannels, outChannels, kernelSize, stride, padding, bias: hasBias);
        weight = new Parameter(template.weight!.detach().clone());
        bias = hasBias ? new Parameter(template.bias!.detach().clone()) : null;
        register_parameter("weight", weight);
        if (bias is not null) register_parameter("bias", bias);
    }

    public override Parameter Weight => weight;
    public Parameter? Bias => bias;

    public override Tensor forward(Tensor input)
    {
        StoreChannelsLast();
        return Convolution.Conv2d(input, ForwardWeight(), bias, Stride, Padding);
    }

    /// <summary>
    /// Keeps the weight in the channels-last (OHWI) memory order the kernels read (see
    /// <see cref="Convolution"/>); values and shape are unchanged. An OIHW weight would be copied to
    /// that order on every call, and its gradient back: about 30% of a VG map's time and 5% of a
    /// training step. Done at the first forward rather than at construction, because random
    /// initialisation fills a tensor in memory order: drawn in OIHW order, a seed gives PyTorch's weights.
    /// </summary>
    private void StoreChannelsLast()
    {
        if (Convolution.IsChannelsLast(weight)) return;
        using var _ = no_grad();
        using var reordered = Convolution.ChannelsLastWeight(weight);
        weight.set_(reordered);
        WeightChanged();
    }

    // A fixed weight in channels-last order is the weight itself (or weight ⊙ mask); anything else is copied once.
    protected override Tensor FrozenForm(Tensor effective) => Convolution.ChannelsLastWeight(effective);
}

public sealed class MaskableLinear : MaskableModule
{
    private readonly Parameter weight;
    private readonly Parameter bias;
    public long InFeatures { get; }
    public long OutFeatures { get; }

    public MaskableLinear(long inFeatures, long outFeatures) : base(nameof(MaskableLinear))
    {
        (InFeatures, OutFeatures) = (inFeatures, outFeatures);
        using var template = nn.Linear(inFeatures, outFeatures);
        weight = new Parameter(template.weight!.detach().clone());
        bias = new Parameter(template.bias!.detach().clone());
        register_parameter("weight", weight);
        register_parameter("bias", bias);
    }

    public override Parameter Weight => weight;
    public Parameter Bias => bias;

    public override Tensor forward(Tensor input) => nn.functional.linear(input, ForwardWeight(), bias);
}

/// <summary>Pixel space [0,1] → model space, (x − mean)/std per channel; the model's first module.</summary>
public sealed class Normalize : nn.Module<Tensor, Tensor>
{
    public Normalize(float[] mean, float[] std) : base(nameof(Normalize))
    {
        register_buffer("mean", tensor(mean).reshape(1, 3, 1, 1));
        register_buffer("std", tensor(std).reshape(1, 3, 1, 1));
    }

    /// <remarks>Images read on the CPU move to the model's device here, the one door into every model.</remarks>
    public override Tensor forward(Tensor input)
    {
        var mean = get_buffer("mean")!;
        if (input.device != mean.device) input = input.to(mean.device);
        return (input - mean) / get_buffer("std")!;
    }

    /// <summary>Maps a model-space tensor back to pixel space.</summary>
    public Tensor Inverse(Tensor modelSpace) => modelSpace * get_buffer("std")! + get_buffer("mean")!;
}
