using Salient.Models;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Salient.Tests.Attribution;

/// <summary>f(z) = W·flatten(z) + b in model space: every method has a closed form on it.</summary>
internal sealed class LinearModel : SalientModel
{
    private readonly Parameter weight;
    private readonly Parameter bias;

    public LinearModel(int classes, int size) : base(nameof(LinearModel), SpecFor(classes, size))
    {
        weight = new Parameter(randn(classes, 3 * size * size));
        bias = new Parameter(randn(classes));
        RegisterComponents();
    }

    public static ModelSpec SpecFor(int classes, int size) => new() { NumClasses = classes, InputSize = size };

    /// <summary>The weights of class <paramref name="c"/> shaped as an image.</summary>
    public Tensor WeightImage(long c) => weight[c].detach().view(3, Spec.InputSize, Spec.InputSize);

    public override string OutputLayerName => "weight";

    public override Tensor ForwardModelSpace(Tensor z) => nn.functional.linear(z.flatten(1), weight, bias);
}

/// <summary>conv → ReLU → max-pool → conv → ReLU → global average → linear: kinks like a real CNN, trains in a blink.</summary>
internal sealed class TinyCnn : SalientModel
{
    private readonly MaskableConv2d conv1 = new(3, 8, 3, padding: 1);
    private readonly MaskableConv2d conv2 = new(8, 16, 3, padding: 1);
    private readonly Linear head = nn.Linear(16, 3);

    public TinyCnn() : base(nameof(TinyCnn), new ModelSpec { NumClasses = 3, InputSize = 8 }) => RegisterComponents();

    public override string OutputLayerName => "head";

    public override Tensor ForwardModelSpace(Tensor z)
    {
        using var scope = NewDisposeScope();
        var h = nn.functional.max_pool2d(nn.functional.relu(conv1.forward(z)), 2);
        h = nn.functional.relu(conv2.forward(h)).mean([2, 3]);
        return head.forward(h).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Images tinted towards one colour channel, labelled by that channel, and a model trained on them
    /// a few Adam steps: enough for logits that depend strongly and non-linearly on the input.
    /// </summary>
    public static (TinyCnn Model, Tensor Pixels, Tensor Labels) Trained(int seed = 7, int images = 96, int steps = 60)
    {
        random.manual_seed(seed);
        var model = new TinyCnn();
        var labels = randint(0, 3, [images], dtype: int64);
        var tint = nn.functional.one_hot(labels, 3).to(float32).view(images, 3, 1, 1);
        var pixels = (rand(images, 3, 8, 8) * 0.6 + tint * 0.4).clamp(0, 1);
        var optimizer = optim.Adam(model.parameters(), 0.02);
        model.train();
        for (int step = 0; step < steps; step++)
        {
            using var scope = NewDisposeScope();
            optimizer.zero_grad();
            nn.functional.cross_entropy(model.forward(pixels), labels).backward();
            optimizer.step();
        }
        model.eval();
        return (model, pixels, labels);
    }
}
