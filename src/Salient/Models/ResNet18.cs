using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Salient.Models;

/// <summary>
/// ResNet-18 with torchvision's layout and state-dict names (conv1, bn1, layerK.M.convJ/bnJ,
/// layerK.M.downsample.{0,1}, fc), so ImageNet weights in torchvision's naming load directly.
/// </summary>
public sealed class ResNet18 : SalientModel
{
    private readonly MaskableConv2d conv1;
    private readonly BatchNorm2d bn1;
    private readonly Sequential layer1, layer2, layer3, layer4;
    private readonly MaskableLinear fc;
    private readonly bool imagenetStem;

    public ResNet18(ModelSpec spec) : base(nameof(ResNet18), spec)
    {
        imagenetStem = spec.Stem == "imagenet";
        long w(int c) => Vgg16.Scaled(c, spec.Width);
        conv1 = imagenetStem
            ? new MaskableConv2d(3, w(64), 7, stride: 2, padding: 3, hasBias: false)
            : new MaskableConv2d(3, w(64), 3, stride: 1, padding: 1, hasBias: false);
        bn1 = nn.BatchNorm2d(w(64));
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
                }
                else if (m is BatchNorm2d bn)
                {
                    nn.init.ones_(bn.weight!);
                    nn.init.zeros_(bn.bias!);
                }
            }
        }
    }

    private static Sequential Stage(long inChannels, long outChannels, long stride) => nn.Sequential(
        ("0", new BasicBlock(inChannels, outChannels, stride)),
        ("1", new BasicBlock(outChannels, outChannels, 1)));

    public override string OutputLayerName => "fc";

    public override Tensor ForwardModelSpace(Tensor x)
    {
        using var scope = NewDisposeScope();
        var h = nn.functional.relu(bn1.forward(conv1.forward(x)));
        if (imagenetStem) h = nn.functional.max_pool2d(h, 3, 2, 1);
        h = layer4.forward(layer3.forward(layer2.forward(layer1.forward(h))));
        h = nn.functional.adaptive_avg_pool2d(h, 1).flatten(1);
        return fc.forward(h).MoveToOuterDisposeScope();
    }

    private sealed class BasicBlock : nn.Module<Tensor, Tensor>
    {
        private readonly MaskableConv2d conv1, conv2;
        private readonly BatchNorm2d bn1, bn2;
        private readonly Sequential? downsample;

        public BasicBlock(long inChannels, long outChannels, long stride) : base(nameof(BasicBlock))
        {
            conv1 = new MaskableConv2d(inChannels, outChannels, 3, stride, 1, hasBias: false);
            bn1 = nn.BatchNorm2d(outChannels);
            conv2 = new MaskableConv2d(outChannels, outChannels, 3, 1, 1, hasBias: false);
            bn2 = nn.BatchNorm2d(outChannels);
            if (stride != 1 || inChannels != outChannels)
                downsample = nn.Sequential(
                    ("0", new MaskableConv2d(inChannels, outChannels, 1, stride, 0, hasBias: false)),
                    ("1", nn.BatchNorm2d(outChannels)));
            RegisterComponents();
        }

        public override Tensor forward(Tensor x)
        {
            using var scope = NewDisposeScope();
            var h = nn.functional.relu(bn1.forward(conv1.forward(x)));
            h = bn2.forward(conv2.forward(h));
            var identity = downsample is null ? x : downsample.forward(x);
            return nn.functional.relu(h + identity).MoveToOuterDisposeScope();
        }
    }
}
