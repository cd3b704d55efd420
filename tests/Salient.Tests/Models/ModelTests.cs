using Salient.Models;
using static TorchSharp.torch;

namespace Salient.Tests.Models;

public class ModelTests
{
    [Fact]
    public void Vgg16HasThePapersLayerOrder()
    {
        random.manual_seed(1);
        using var model = ModelFactory.Create(new ModelSpec { NumClasses = 43 });
        var convs = model.named_parameters().Where(p => p.name.StartsWith("features.") && p.name.EndsWith(".weight")).ToList();
        Assert.Equal(13, convs.Count);
        Assert.Equal([64L, 3, 3, 3], convs[0].parameter.shape);
        // conv+ReLU pairs with pools at 4, 9, 16, 23, 30: the reference names the last conv features.28.
        Assert.Equal("features.28.weight", convs[^1].name);
        var linears = model.named_parameters().Where(p => p.name.StartsWith("classifier.") && p.name.EndsWith(".weight")).Select(p => p.name).ToArray();
        Assert.Equal(["classifier.1.weight", "classifier.4.weight", "classifier.6.weight"], linears);
        // 14,714,688 conv + 2 × (512·512 + 512) hidden + 512·43 + 43 output.
        Assert.Equal(15_262_059, model.parameters().Sum(p => p.NumberOfElements));
    }

    [Fact]
    public void Vgg16ConvInitFollowsTheReference()
    {
        random.manual_seed(3);
        using var model = ModelFactory.Create(new ModelSpec());
        var w = model.named_parameters().First(p => p.name == "features.28.weight").parameter; // 512 out channels
        double expected = Math.Sqrt(2.0 / (9 * 512));
        Assert.InRange(w.std().item<float>(), expected * 0.97, expected * 1.03);
        Assert.Equal(0f, model.named_parameters().First(p => p.name == "features.28.bias").parameter.abs().sum().item<float>());
    }

    [Theory]
    [InlineData("vgg16", 32, "imagenet")]
    [InlineData("resnet18", 32, "cifar")]
    [InlineData("resnet18", 64, "imagenet")]
    public void ForwardGivesOneLogitPerClass(string arch, int size, string stem)
    {
        using var model = ModelFactory.Create(new ModelSpec { Architecture = arch, NumClasses = 7, Width = 0.25, InputSize = size, Stem = stem });
        model.eval();
        using var x = rand(2, 3, size, size);
        using var y = model.forward(x);
        Assert.Equal([2L, 7], y.shape);
    }

    [Fact]
    public void NormalisationIsTheFirstModule()
    {
        var spec = new ModelSpec { Width = 0.125, NumClasses = 3 };
        using var model = ModelFactory.Create(spec);
        model.eval();
        using var x = rand(2, 3, 32, 32);
        using var z = (x - tensor(spec.Mean).reshape(1, 3, 1, 1)) / tensor(spec.Std).reshape(1, 3, 1, 1);
        using var a = model.forward(x);
        using var b = model.ForwardModelSpace(z);
        Assert.True(a.allclose(b, rtol: 1e-5, atol: 1e-6));
    }
}
