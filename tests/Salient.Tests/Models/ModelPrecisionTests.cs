using Salient.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace Salient.Tests.Models;

/// <summary>
/// Each architecture at a width whose channel counts are not multiples of the CPU's vector blocks:
/// logits, input gradient and every parameter's gradient in float32 against the same model in
/// float64 (which libtorch computes with its reference kernels, not oneDNN).
/// </summary>
public class ModelPrecisionTests
{
    public static TheoryData<string, bool, string, double> Models => new()
    {
        { "vgg16", false, "imagenet", 0.125 },
        { "vgg16", true, "imagenet", 0.125 },
        { "vgg16", false, "imagenet", 0.09 },
        { "resnet18", false, "imagenet", 0.125 },
        { "resnet18", false, "cifar", 0.125 },
    };

    [Theory]
    [MemberData(nameof(Models))]
    public void Float32GradientsEqualFloat64(string architecture, bool batchNorm, string stem, double width)
    {
        using var scope = NewDisposeScope();
        var spec = new ModelSpec { Architecture = architecture, BatchNorm = batchNorm, Stem = stem, Width = width, NumClasses = 43 };
        random.manual_seed(11);
        using var single = ModelFactory.Create(spec);
        using var dbl = ModelFactory.Create(spec);
        dbl.load_state_dict(single.state_dict());
        dbl.to(float64);
        single.eval();
        dbl.eval();
        using var generator = new Generator(3);
        var pixels = rand([4, 3, 32, 32], generator: generator);
        var targets = tensor(new long[] { 0, 5, 17, 42 });

        var (logits32, input32, params32) = Gradients(single, pixels, targets);
        var (logits64, input64, params64) = Gradients(dbl, pixels.to(float64), targets);
        AssertClose(logits32, logits64, "logits");
        AssertClose(input32, input64, "input gradient");
        foreach (var (name, g) in params32) AssertClose(g, params64[name], $"gradient of {name}");
    }

    private static (Tensor Logits, Tensor Input, Dictionary<string, Tensor> Parameters) Gradients(SalientModel model, Tensor pixels, Tensor targets)
    {
        var input = pixels.detach().requires_grad_(true);
        var logits = model.forward(input);
        var named = model.named_parameters().ToList();
        var grads = autograd.grad([logits.gather(1, targets.view(-1, 1)).sum()], named.Select(p => (Tensor)p.parameter).Prepend(input).ToList());
        return (logits.detach(), grads[0], named.Select((p, i) => (p.name, grads[i + 1])).ToDictionary(t => t.name, t => t.Item2));
    }

    private static void AssertClose(Tensor actual, Tensor expected, string what)
    {
        var scale = expected.abs().max().item<double>();
        var error = (actual.to(float64) - expected).abs().max().item<double>();
        Assert.True(error <= 1e-4 * scale, $"{what}: largest error {error:g3} vs largest value {scale:g3}");
    }
}
