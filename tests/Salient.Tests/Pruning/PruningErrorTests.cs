using Salient.Models;
using Salient.Pruning;
using static TorchSharp.torch;

namespace Salient.Tests.Pruning;

public class PruningErrorTests
{
    private static SalientModel Tiny(string arch = "vgg16") =>
        ModelFactory.Create(new ModelSpec { Architecture = arch, Width = 0.125, NumClasses = 3, Stem = "cifar" });

    [Theory]
    [InlineData(1.0)]
    [InlineData(-0.1)]
    [InlineData(double.NaN)]
    public void AmountOutsideTheUnitIntervalIsRefused(double amount)
    {
        using var model = Tiny();
        var e = Assert.Throws<SalientException>(() => Pruner.Prune(model, new PruningSettings { Amount = amount }));
        Assert.Contains("Amount", e.Message);
        Assert.Contains("[0, 1)", e.Message);
        Assert.Null(model.MaskableLayers().First().Layer.WeightMask);
    }

    [Fact]
    public void LinearAmountIsCheckedToo()
    {
        using var model = Tiny();
        var e = Assert.Throws<SalientException>(() => Pruner.Prune(model, new PruningSettings { Method = PruningMethod.LayeredStructured, LinearAmount = 1.5 }));
        Assert.Contains("LinearAmount = 1.5", e.Message);
    }

    [Fact]
    public void AnUnknownLayerNameIsNamed()
    {
        using var model = Tiny();
        var e = Assert.Throws<SalientException>(() => Pruner.Prune(model, new PruningSettings { Layers = ["features.0", "features.99"] }));
        Assert.Contains("'features.99'", e.Message);
        Assert.Contains("vgg16", e.Message);
        Assert.Null(model.MaskableLayers().First().Layer.WeightMask); // nothing half-pruned
    }

    [Fact]
    public void Vgg16LayerNamesOnAResNetAreRefused()
    {
        using var model = Tiny("resnet18");
        var e = Assert.Throws<SalientException>(() => Pruner.Prune(model, new PruningSettings { Layers = ["features.0", "classifier.1"] }));
        Assert.Contains("'features.0' (and 1 more)", e.Message);
        Assert.Contains("resnet18", e.Message);
        Assert.Contains("conv1", e.Message);
    }

    [Theory]
    [InlineData("l1", PruningMethod.L1Unstructured)]
    [InlineData("Global", PruningMethod.GlobalUnstructured)]
    [InlineData("layered", PruningMethod.LayeredStructured)]
    public void MethodNamesParse(string name, PruningMethod expected) => Assert.Equal(expected, PruningSettings.ParseMethod(name));

    [Fact]
    public void AnUnknownMethodNameListsTheChoices()
    {
        var e = Assert.Throws<SalientException>(() => PruningSettings.ParseMethod("random"));
        Assert.Contains("l1, global or layered", e.Message);
    }

    [Fact]
    public void FlowNamesParseToTheirFlowsAndTheirLabels()
    {
        Assert.Equal("Pre", PruningFlowNames.Label(PruningFlowNames.Parse("pre")));
        Assert.Equal("Post-FT", PruningFlowNames.Label(PruningFlowNames.Parse("post-ft")));
        Assert.Equal("Post-noFT", PruningFlowNames.Label(PruningFlowNames.Parse("post_noft")));
        var e = Assert.Throws<SalientException>(() => PruningFlowNames.Parse("during"));
        Assert.Equal("Unknown pruning flow 'during'; use pre, post-ft or post-noft.", e.Message);
    }
}
