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

public abstract class MaskableModule : nn.Module<Tensor, Tensor>, IMaskable
{
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
    }

    public Tensor EffectiveWeight() => WeightMask is { } m ? Weight * m : Weight;
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

    public override Tensor forward(Tensor input) => Convolution.Conv2d(input, EffectiveWeight(), bias, Stride, Padding);
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

    public override Tensor forward(Tensor input) => nn.functional.linear(input, EffectiveWeight(), bias);
}

/// <summary>Pixel space [0,1] → model space, (x − mean)/std per channel; the model's first module.</summary>
public sealed class Normalize : nn.Module<Tensor, Tensor>
{
    public Normalize(float[] mean, float[] std) : base(nameof(Normalize))
    {
        register_buffer("mean", tensor(mean).reshape(1, 3, 1, 1));
        register_buffer("std", tensor(std).reshape(1, 3, 1, 1));
    }

    public override Tensor forward(Tensor input) => (input - get_buffer("mean")!) / get_buffer("std")!;

    /// <summary>Maps a model-space tensor back to pixel space.</summary>
    public Tensor Inverse(Tensor modelSpace) => modelSpace * get_buffer("std")! + get_buffer("mean")!;
}
