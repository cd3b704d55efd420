using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Salient.Models;

/// <summary>
/// The paper's CIFAR-style VGG-16 (no BatchNorm): 13 conv3×3+ReLU layers with 5 max-pools, then
/// Dropout → Linear → ReLU → Dropout → Linear → ReLU → Linear. State-dict names follow the
/// reference code (<c>features.N</c>, <c>classifier.N</c>) so PyTorch checkpoints map one to one.
/// </summary>
public sealed class Vgg16 : SalientModel
{
    /// <summary>Channel plan; 0 marks a 2×2 max-pool.</summary>
    public static readonly int[] Plan = [64, 64, 0, 128, 128, 0, 256, 256, 256, 0, 512, 512, 512, 0, 512, 512, 512, 0];

    private readonly Sequential features;
    private readonly Sequential classifier;

    public Vgg16(ModelSpec spec) : base(nameof(Vgg16), spec)
    {
        var layers = new List<(string, nn.Module<Tensor, Tensor>)>();
        long inChannels = 3;
        foreach (var c in Plan)
        {
            if (c == 0)
            {
                layers.Add(($"{layers.Count}", nn.MaxPool2d(2, 2)));
                continue;
            }
            long outChannels = Scaled(c, spec.Width);
            var conv = new MaskableConv2d(inChannels, outChannels, 3, padding: 1);
            // Reference init: N(0, sqrt(2 / (k·k·out_channels))), zero bias.
            using (no_grad())
            {
                nn.init.normal_(conv.Weight, 0, Math.Sqrt(2.0 / (3 * 3 * outChannels)));
                nn.init.zeros_(conv.Bias!);
            }
            layers.Add(($"{layers.Count}", conv));
            layers.Add(($"{layers.Count}", nn.ReLU(inplace: true)));
            inChannels = outChannels;
        }
        features = nn.Sequential(layers);

        long spatial = spec.InputSize / 32;
        long flat = inChannels * spatial * spatial;
        long hidden = Scaled(512, spec.Width);
        classifier = nn.Sequential(
            ("0", nn.Dropout(0.5)),
            ("1", new MaskableLinear(flat, hidden)),
            ("2", nn.ReLU(inplace: true)),
            ("3", nn.Dropout(0.5)),
            ("4", new MaskableLinear(hidden, hidden)),
            ("5", nn.ReLU(inplace: true)),
            ("6", new MaskableLinear(hidden, spec.NumClasses)));
        RegisterComponents();
    }

    internal static long Scaled(int channels, double width) => Math.Max(1, (long)Math.Round(channels * width));

    public override string OutputLayerName => "classifier.6";

    public override Tensor ForwardModelSpace(Tensor x)
    {
        using var scope = NewDisposeScope();
        var f = features.forward(x);
        return classifier.forward(f.flatten(1)).MoveToOuterDisposeScope();
    }
}
