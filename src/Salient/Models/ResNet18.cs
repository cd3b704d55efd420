using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Salient.Models;

/// <summary>
/// ResNet-18 with torchvision's layout and state-dict names (conv1, bn1, layerK.M.convJ/bnJ,
/// layerK.M.downsample.{0,1}, fc), so ImageNet weights in torchvision's naming load directly.
/// A compacted ResNet-18 (<see cref="ModelSpec.LayerWidths"/> set) has every BatchNorm folded into
/// its convolution, which then has a bias, and the inner width of each block from the spec; the
/// second convolution of a block that lost inner channels adds their constant contribution on the
/// border ring (<see cref="ConvOffsets"/>, "layerK.M.offset").
/// </summary>
public sealed class ResNet18 : SalientModel
{
    /// <summary>Blocks (and so inner widths and offset rings) of a compacted ResNet-18.</summary>
    public const int BlockCount = 8;

    private readonly MaskableConv2d conv1;
    private readonly BatchNorm2d? bn1;
    private readonly Sequential layer1, layer2, layer3, layer4;
    private readonly MaskableLinear fc;
    private readonly bool imagenetStem;

    public ResNet18(ModelSpec spec) : base(nameof(ResNet18), spec)
    {
        imagenetStem = spec.Stem == "imagenet";
        bool folded = spec.LayerWidths is not null;
        long w(int c) => Vgg16.Scaled(c, spec.Width);
        conv1 = imagenetStem
            ? new MaskableConv2d(3, w(64), 7, stride: 2, padding: 3, hasBias: folded)
            : new MaskableConv2d(3, w(64), 3, stride: 1, padding: 1, hasBias: folded);
        if (!folded) bn1 = nn.BatchNorm2d(w(64));
        // Every stride-2 step (stem, its pool, a stage's first block) maps a side s to ⌈s/2⌉.
        long side = imagenetStem ? Half(Half(spec.InputSize)) : spec.InputSize;
        var blocks = new List<BasicBlock>();
        BasicBlock Block(long inChannels, long outChannels, long stride)
        {
            if (stride == 2) side = Half(side);
            int index = blocks.Count;
            long inner = spec.LayerWidths?[index] ?? outChannels;
            int ring = spec.OffsetRings?[index] ?? 0;
            var block = new BasicBlock(inChannels, outChannels, inner, stride, folded, side, ring);
            blocks.Add(block);
            return block;
        }
        Sequential Stage(long inChannels, long outChannels, long stride) =>
            nn.Sequential(("0", Block(inChannels, outChannels, stride)), ("1", Block(outChannels, outChannels, 1)));
        layer1 = Stage(w(64), w(64), 1);
        layer2 = Stage(w(64), w(128), 2);
        layer3 = Stage(w(128), w(256), 2);
        layer4 = Stage(w(256), w(512), 2);
        fc = new MaskableLinear(w(512), spec.NumClasses);
        RegisterComponents();

        // Kaiming normal, fan-out, for convolutions; BatchNorm γ = 1, β = 0 (torchvision's choice).
        using (no_grad())
        {
            foreach (var (_, m) in named_modules())
            {
                if (m is MaskableConv2d c)
                {
                    double fanOut = c.OutChannels * c.KernelSize * c.KernelSize;
                    nn.init.normal_(c.Weight, 0, Math.Sqrt(2.0 / fanOut));
                    if (c.Bias is { } bias) nn.init.zeros_(bias);
                }
                else if (m is BatchNorm2d bn)
                {
                    nn.init.ones_(bn.weight!);
                    nn.init.zeros_(bn.bias!);
                }
            }
        }
    }

    private static long Half(long side) => (side + 1) / 2;

    public override string OutputLayerName => "fc";

    /// <summary>The blocks in forward order, by state-dict prefix ("layer1.0", …).</summary>
    internal IEnumerable<(string Name, BasicBlock Block)> Blocks() =>
        new (string Name, Sequential Layers)[] { ("layer1", layer1), ("layer2", layer2), ("layer3", layer3), ("layer4", layer4) }
            .SelectMany(stage => stage.Layers.named_children().Select(c => ($"{stage.Name}.{c.name}", (BasicBlock)c.module)));

    public override Tensor ForwardModelSpace(Tensor x)
    {
        using var scope = NewDisposeScope();
        // call, not forward: hooks (the cost report's multiply-add count) see every layer.
        var h = conv1.call(x);
        h = nn.functional.relu(bn1 is null ? h : bn1.call(h));
        if (imagenetStem) h = nn.functional.max_pool2d(h, 3, 2, 1);
        h = layer4.call(layer3.call(layer2.call(layer1.call(h))));
        h = nn.functional.adaptive_avg_pool2d(h, 1).flatten(1);
        return fc.call(h).MoveToOuterDisposeScope();
    }

    internal sealed class BasicBlock : nn.Module<Tensor, Tensor>
    {
        private readonly MaskableConv2d conv1, conv2;
        private readonly BatchNorm2d? bn1, bn2;
        private readonly Sequential? downsample;

        public BasicBlock(long inChannels, long outChannels, long inner, long stride, bool folded, long side, int ring) : base(nameof(BasicBlock))
        {
            conv1 = new MaskableConv2d(inChannels, inner, 3, stride, 1, hasBias: folded);
            conv2 = new MaskableConv2d(inner, outChannels, 3, 1, 1, hasBias: folded);
            if (!folded)
            {
                bn1 = nn.BatchNorm2d(inner);
                bn2 = nn.BatchNorm2d(outChannels);
            }
            if (stride != 1 || inChannels != outChannels)
                downsample = folded
                    ? nn.Sequential(("0", new MaskableConv2d(inChannels, outChannels, 1, stride, 0, hasBias: true)))
                    : nn.Sequential(("0", new MaskableConv2d(inChannels, outChannels, 1, stride, 0, hasBias: false)), ("1", nn.BatchNorm2d(outChannels)));
            (Side, Ring) = (side, ring);
            if (ring > 0) register_buffer("offset", Convolution.ChannelsLastMap(zeros(outChannels, side, side)));
            RegisterComponents();
        }

        /// <summary>The side of the block's output maps.</summary>
        public long Side { get; }
        /// <summary>How far from the border <see cref="Offset"/> reaches (0: no offset).</summary>
        public int Ring { get; }
        public Tensor? Offset => has_buffer("offset") ? get_buffer("offset") : null;
        public MaskableConv2d Conv1 => conv1;
        public MaskableConv2d Conv2 => conv2;
        public BatchNorm2d? Bn1 => bn1;
        public BatchNorm2d? Bn2 => bn2;
        public MaskableConv2d? DownsampleConv => (MaskableConv2d?)downsample?.children().First();
        public BatchNorm2d? DownsampleNorm => (BatchNorm2d?)downsample?.children().Skip(1).FirstOrDefault();

        public override Tensor forward(Tensor x)
        {
            using var scope = NewDisposeScope();
            var h = conv1.call(x);
            h = nn.functional.relu(bn1 is null ? h : bn1.call(h));
            h = conv2.call(h);
            if (Offset is { } offset) h = ConvOffsets.Add(h, offset);
            if (bn2 is not null) h = bn2.call(h);
            var identity = downsample is null ? x : downsample.call(x);
            return nn.functional.relu(h + identity).MoveToOuterDisposeScope();
        }
    }
}
