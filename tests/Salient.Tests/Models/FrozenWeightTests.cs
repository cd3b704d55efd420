using Salient.Evaluation;
using Salient.Models;
using Salient.Pruning;
using Salient.Training;
using static TorchSharp.torch;

namespace Salient.Tests.Models;

/// <summary>
/// A masked layer computes weight ⊙ mask once while no gradient can reach its weight, and every
/// path that changes weights or masks makes the next forward see the change.
/// </summary>
public class FrozenWeightTests
{
    private static SalientModel PrunedVgg(int seed)
    {
        random.manual_seed(seed);
        var model = ModelFactory.Create(new ModelSpec { Width = 0.125, NumClasses = 5 });
        Pruner.Prune(model, PruningSettings.Paper(PruningMethod.L1Unstructured));
        return model;
    }

    /// <summary>The logits of a fresh model built from <paramref name="model"/>'s current state, which has never run.</summary>
    private static Tensor FreshLogits(SalientModel model, Tensor x)
    {
        using var fresh = ModelFactory.Create(model.Spec);
        foreach (var (name, layer) in model.MaskableLayers())
            if (layer.WeightMask is { } mask) fresh.MaskableLayers().Single(l => l.Name == name).Layer.SetMask(mask);
        fresh.load_state_dict(model.state_dict());
        fresh.eval();
        using var _ = no_grad();
        return fresh.forward(x);
    }

    private static Tensor FrozenLogits(SalientModel model, Tensor x)
    {
        using var frozen = EvalScope.Frozen(model);
        return model.forward(x).detach();
    }

    [Fact]
    public void AFrozenLayerComputesItsMaskedWeightOnce()
    {
        using var model = PrunedVgg(1);
        var (_, layer) = model.MaskableLayers().First();
        using (EvalScope.Frozen(model))
        {
            var first = layer.ForwardWeight();
            Assert.Equal(first.Handle, layer.ForwardWeight().Handle);
            Assert.True(first.equal(layer.EffectiveWeight()).all().item<bool>());
        }
        // Eval mode with autograd off is just as fixed; training mode computes it on every call.
        model.eval();
        using (no_grad()) Assert.Equal(layer.ForwardWeight().Handle, layer.ForwardWeight().Handle);
        model.train();
        using var a = layer.ForwardWeight();
        using var b = layer.ForwardWeight();
        Assert.NotEqual(a.Handle, b.Handle);
    }

    [Fact]
    public void ANewMaskIsSeenByTheNextFrozenForward()
    {
        using var model = PrunedVgg(2);
        using var x = rand(3, 3, 32, 32);
        using var before = FrozenLogits(model, x);
        model.eval();
        using var frozen = EvalScope.Frozen(model);
        using (var warm = model.forward(x)) Assert.True(warm.equal(before).all().item<bool>());
        // Pruning inside the same frozen scope: only SetMask can tell the layers.
        Pruner.Prune(model, PruningSettings.Paper(PruningMethod.LayeredStructured));
        using var after = model.forward(x).detach();
        using var expected = FreshLogits(model, x);
        Assert.False(after.equal(before).all().item<bool>());
        Assert.True(after.equal(expected).all().item<bool>());
    }

    [Fact]
    public void LoadedWeightsAreSeenByTheNextForward()
    {
        using var model = PrunedVgg(3);
        using var other = PrunedVgg(4);
        using var x = rand(3, 3, 32, 32);
        model.eval();
        using var _ = no_grad();
        using (model.forward(x)) { }
        model.load_state_dict(other.state_dict());
        using var viaStateDict = model.forward(x);
        using var expected = FreshLogits(other, x);
        Assert.True(viaStateDict.equal(expected).all().item<bool>());


        // Dense layers keep a copy in the kernels' layout too, and a checkpoint without masks reaches them by copy_ alone.
        random.manual_seed(5);
        using var dense = ModelFactory.Create(new ModelSpec { Width = 0.125, NumClasses = 5 });
        dense.eval();
        using (dense.forward(x)) { }
        using var folder = new TempFolder();
        var path = Path.Combine(folder.Path, "third.safetensors");
        random.manual_seed(6);
        using (var third = ModelFactory.Create(dense.Spec)) Checkpoint.Save(path, third, ["a", "b", "c", "d", "e"]);
        Checkpoint.LoadWeightsInto(dense, path);
        using var viaCheckpoint = dense.forward(x);
        using var loaded = Checkpoint.Load(path);
        using var expectedThird = FreshLogits(loaded.Model, x);
        Assert.True(viaCheckpoint.equal(expectedThird).all().item<bool>());
    }

    [Fact]
    public void EnteringAnEvalScopeSeesWeightsWrittenInEvalMode()
    {
        using var model = PrunedVgg(7);
        using var x = rand(3, 3, 32, 32);
        model.eval();
        using (no_grad())
        {
            using (model.forward(x)) { }
            // Written in place without telling the model, as a hand-made weight edit would.
            foreach (var (_, layer) in model.MaskableLayers()) layer.Weight.mul_(1.5);
        }
        // Every scope sets the mode on entry, and a change of mode drops the weights kept for frozen use.
        using var after = FrozenLogits(model, x);
        using var expected = FreshLogits(model, x);
        Assert.True(after.equal(expected).all().item<bool>());
    }

    [Fact]
    public void TrainingBetweenTwoFrozenScopesIsSeen()
    {
        using var model = PrunedVgg(6);
        using var x = rand(8, 3, 32, 32);
        using var y = randint(0, 5, [8]);
        using var before = FrozenLogits(model, x);
        using var optimizer = TrainingRecipe.Paper.CreateOptimizer(model);
        model.train();
        optimizer.ZeroGrad();
        nn.functional.cross_entropy(model.forward(x), y).backward();
        optimizer.Step();
        using var after = FrozenLogits(model, x);
        using var expected = FreshLogits(model, x);
        Assert.False(after.equal(before).all().item<bool>());
        Assert.True(after.equal(expected).all().item<bool>());
    }

    [Fact]
    public void AConvolutionStoresItsWeightChannelsLastFromItsFirstForwardWithValuesUnchanged()
    {
        random.manual_seed(3);
        using var model = ModelFactory.Create(new ModelSpec { Width = 0.125, NumClasses = 5 });
        var convolutions = model.MaskableLayers().Select(l => l.Layer).OfType<MaskableConv2d>().ToList();
        // Initialisation draws fill memory in order: before any forward the weights are in PyTorch's OIHW order.
        Assert.All(convolutions, c => Assert.True(c.Weight.is_contiguous()));
        var before = convolutions.Select(c => c.Weight.detach().clone()).ToList();
        using var x = rand(2, 3, 32, 32);
        using (no_grad()) model.forward(x).Dispose();
        Assert.All(convolutions, c => Assert.True(Convolution.IsChannelsLast(c.Weight) && !c.Weight.is_contiguous(), "weight not stored channels-last after a forward"));
        Assert.All(convolutions.Zip(before), p => Assert.True(p.First.Weight.equal(p.Second).all().item<bool>()));
        foreach (var t in before) t.Dispose();
    }

    [Fact]
    public void RandomisingALayerDrawsTheSameWeightsWhateverItsMemoryOrder()
    {
        random.manual_seed(4);
        using var stored = ModelFactory.Create(new ModelSpec { Width = 0.125, NumClasses = 5 });
        random.manual_seed(4);
        using var fresh = ModelFactory.Create(new ModelSpec { Width = 0.125, NumClasses = 5 });
        using var x = rand(2, 3, 32, 32);
        using (no_grad()) stored.forward(x).Dispose(); // now channels-last; fresh is still OIHW
        var layerOf = (SalientModel m) => new RandomisableLayer("features.0", m.MaskableLayers().First().Layer, null);
        ModelRandomisation.Randomise(layerOf(stored), new Generator(11));
        ModelRandomisation.Randomise(layerOf(fresh), new Generator(11));
        Assert.True(layerOf(stored).Layer!.Weight.equal(layerOf(fresh).Layer!.Weight).all().item<bool>());
    }
}
