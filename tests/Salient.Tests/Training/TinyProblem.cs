using Salient.Models;
using static TorchSharp.torch;

namespace Salient.Tests.Training;

/// <summary>A 3×8×8 two-class classifier small enough to train inside a test.</summary>
internal sealed class TinyNet : SalientModel
{
    private readonly nn.Module<Tensor, Tensor> conv, dropout, fc;

    public TinyNet(long seed, double dropoutRate = 0)
        : base("tiny", new ModelSpec { NumClasses = 2, InputSize = 8, Width = 0.125 })
    {
        conv = new MaskableConv2d(3, 8, 3, padding: 1);
        dropout = nn.Dropout(dropoutRate);
        fc = nn.Linear(8 * 4 * 4, 2);
        RegisterComponents();
        // Parallel tests share torch's global stream, so initialise from a private one.
        using var generator = new Generator((ulong)seed);
        using var noGrad = no_grad();
        foreach (var p in parameters())
            p.copy_(randn(p.shape, generator: generator) * (p.dim() > 1 ? 0.3 : 0.05));
    }

    public override Tensor ForwardModelSpace(Tensor z)
    {
        using var scope = NewDisposeScope();
        var features = nn.functional.max_pool2d(nn.functional.relu(conv.forward(z)), 2).flatten(1);
        return fc.forward(dropout.forward(features)).MoveToOuterDisposeScope();
    }

    public override string OutputLayerName => "fc";
}

internal static class TinyProblem
{
    /// <summary>
    /// Class 0: horizontal stripes, class 1: vertical stripes (period 2, random phase), grey level
    /// 0.5 ± 0.2 plus uniform noise of ±0.1, so every pixel stays inside [0.2, 0.8].
    /// </summary>
    public static (Tensor Pixels, Tensor Labels) Data(int count, int seed)
    {
        var rng = new Random(seed);
        var pixels = new float[count * 3 * 8 * 8];
        var labels = new long[count];
        for (int n = 0; n < count; n++)
        {
            labels[n] = n % 2;
            int phase = rng.Next(2);
            for (int c = 0; c < 3; c++)
                for (int i = 0; i < 8; i++)
                    for (int j = 0; j < 8; j++)
                    {
                        int line = labels[n] == 0 ? i : j;
                        double stripe = (line + phase) % 2 == 0 ? 0.7 : 0.3;
                        pixels[((n * 3 + c) * 8 + i) * 8 + j] = (float)(stripe + (rng.NextDouble() * 2 - 1) * 0.1);
                    }
        }
        return (tensor(pixels, [count, 3, 8, 8]), tensor(labels));
    }

    /// <summary>A TinyNet trained naturally with Adam until it separates the two classes.</summary>
    public static TinyNet TrainedModel(int steps = 60)
    {
        var model = new TinyNet(seed: 11);
        var (pixels, labels) = Data(128, seed: 5);
        using var optimizer = optim.Adam(model.parameters(), lr: 0.01);
        model.train();
        for (int i = 0; i < steps; i++)
        {
            using var scope = NewDisposeScope();
            optimizer.zero_grad();
            nn.functional.cross_entropy(model.forward(pixels), labels).backward();
            optimizer.step();
        }
        model.eval();
        pixels.Dispose();
        labels.Dispose();
        return model;
    }

    public static double Loss(SalientModel model, Tensor pixels, Tensor labels)
    {
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        return nn.functional.cross_entropy(model.forward(pixels), labels).item<float>();
    }

    public static double Accuracy(SalientModel model, Tensor pixels, Tensor labels)
    {
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        return model.forward(pixels).argmax(1).eq(labels).to_type(ScalarType.Float64).mean().item<double>();
    }
}
