using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Salient.Models;

/// <summary>
/// The paper's CIFAR-style VGG-16 (no BatchNorm; <see cref="ModelSpec.BatchNorm"/> adds it after every
/// convolution, as torchvision's vgg16_bn): 13 conv3×3+ReLU layers with 5 max-pools, then
/// Dropout → Linear → ReLU → Dropout → Linear → ReLU → Linear. State-dict names follow the
/// reference code (<c>features.N</c>, <c>classifier.N</c>) so PyTorch checkpoints map one to one.
/// </summary>
public sealed class Vgg16 : SalientModel
{
    /// <summary>Channel plan; 0 marks a 2×2 max-pool.</summary>
    public static readonly int[] Plan = [64, 64, 0, 128, 128, 0, 256, 256, 256, 0, 512, 512, 512, 0, 512, 512, 512, 0];

    private readonly Sequential features;
    private readonly Sequential classifier;
    // Present only for compacted models (spec.LayerWidths): see ConvOffsets.
    private readonly ConvOffsets? offsets;
    // Compacted models only: the feature layers in order, each with the offset map and ring its output gets.
    private readonly (nn.Module<Tensor, Tensor> Layer, Tensor? Offset, int Ring)[]? compactedFeatures;

    public Vgg16(ModelSpec spec) : base(nameof(Vgg16), spec)
    {
        var layers = new List<(string, nn.Module<Tensor, Tensor>)>();
        var offsetShapes = new List<(string, long[])>();
        long inChannels = 3, side = spec.InputSize;
        int convIndex = 0;
        foreach (var c in Plan)
        {
            if (c == 0)
            {
                layers.Add(($"{layers.Count}", nn.MaxPool2d(2, 2)));
                side /= 2;
                continue;
            }
            long outChannels = spec.LayerWidths is { } widths ? widths[convIndex] : Scaled(c, spec.Width);
            // The first convolution sees the image, never removed channels, so it needs no offset.
            if (convIndex > 0) offsetShapes.Add(($"{layers.Count}", [outChannels, side, side]));
            convIndex++;
            var conv = new MaskableConv2d(inChannels, outChannels, 3, padding: 1);
            // Reference init: N(0, sqrt(2 / (k·k·out_channels))), zero bias.
            using (no_grad())
            {
                nn.init.normal_(conv.Weight, 0, Math.Sqrt(2.0 / (3 * 3 * outChannels)));
                nn.init.zeros_(conv.Bias!);
            }
            layers.Add(($"{layers.Count}", conv));
            if (spec.BatchNorm) layers.Add(($"{layers.Count}", nn.BatchNorm2d(outChannels)));
            layers.Add(($"{layers.Count}", nn.ReLU(inplace: true)));
            inChannels = outChannels;
        }
        features = nn.Sequential(layers);

        long spatial = spec.InputSize / 32;
        long flat = inChannels * spatial * spatial;
        long hidden1 = spec.LayerWidths?[13] ?? Scaled(512, spec.Width);
        long hidden2 = spec.LayerWidths?[14] ?? Scaled(512, spec.Width);
        classifier = nn.Sequential(
            ("0", nn.Dropout(0.5)),
            ("1", new MaskableLinear(flat, hidden1)),
            ("2", nn.ReLU(inplace: true)),
            ("3", nn.Dropout(0.5)),
            ("4", new MaskableLinear(hidden1, hidden2)),
            ("5", nn.ReLU(inplace: true)),
            ("6", new MaskableLinear(hidden2, spec.NumClasses)));
        if (spec.LayerWidths is not null) offsets = new ConvOffsets(offsetShapes);
        RegisterComponents();
        if (offsets is not null)
        {
            var rings = new Dictionary<string, int>();
            int convolution = 0;
            foreach (var (name, layer) in features.named_children())
                if (layer is MaskableConv2d conv)
                    // Without recorded rings (older compactions) a map covers the whole output.
                    rings[name] = spec.OffsetRings?[convolution++] ?? int.MaxValue;
            compactedFeatures = features.named_children()
                .Select(c => ((nn.Module<Tensor, Tensor>)c.module, offsets.For(c.name), rings.GetValueOrDefault(c.name)))
                .ToArray();
        }
    }

    internal static long Scaled(int channels, double width) => Math.Max(1, (long)Math.Round(channels * width));

    public override string OutputLayerName => "classifier.6";

    /// <summary>The offset maps of a compacted model (null for the regular plan).</summary>
    internal ConvOffsets? Offsets => offsets;

    public override Tensor ForwardModelSpace(Tensor x)
    {
        using var scope = NewDisposeScope();
        var f = x;
        if (compactedFeatures is null) f = features.forward(f);
        else
            foreach (var (layer, offset, ring) in compactedFeatures)
            {
                f = layer.call(f);
                if (offset is not null && ring > 0) f = ConvOffsets.Add(f, offset);
            }
        return classifier.forward(f.flatten(1)).MoveToOuterDisposeScope();
    }
}

/// <summary>
/// Per-position additive maps (C×H×W) after each convolution of a compacted VGG-16, keyed by the
/// convolution's index in <c>features</c>. A pruned channel still emits the constant ReLU(bias);
/// after its removal the next convolution must add what that constant contributed, and because
/// zero padding cuts the constant off at the borders, the contribution varies with position.
/// </summary>
public sealed class ConvOffsets : nn.Module
{
    public ConvOffsets(IEnumerable<(string ConvIndex, long[] Shape)> shapes) : base(nameof(ConvOffsets))
    {
        foreach (var (index, shape) in shapes) register_buffer(index, Convolution.ChannelsLastMap(zeros(shape)));
    }

    public Tensor? For(string convIndex) => has_buffer(convIndex) ? get_buffer(convIndex) : null;

    /// <summary>
    /// Adds an offset map (C×H×W) to a convolution's fresh output, in place. The map is zero more than
    /// the layer's ring from the border, but adding it whole is cheaper than adding its four border
    /// strips: the maps are stored in the activations' channels-last order
    /// (<see cref="Convolution.ChannelsLastMap"/>), so the whole map is one contiguous add (27 µs at
    /// 58×32×32 here), where four strided strip adds took 96 µs and a map in C×H×W order 158 µs.
    /// </summary>
    internal static Tensor Add(Tensor convOutput, Tensor offset) => convOutput.add_(offset);
}
