using Salient.Models;
using Salient.Pruning;
using static TorchSharp.torch;

namespace Salient.Tests.Pruning;

public class PruningMaskTests
{
    private static SalientModel TinyVgg(int seed = 1, int classes = 5)
    {
        random.manual_seed(seed);
        return ModelFactory.Create(new ModelSpec { Width = 0.125, NumClasses = classes });
    }

    [Theory]
    [InlineData(0.5, 5, 2)]    // 2.5 → 2 (half to even, Python's round)
    [InlineData(0.5, 7, 4)]    // 3.5 → 4
    [InlineData(0.25, 10, 2)]  // 2.5 → 2
    [InlineData(0.25, 6, 2)]   // 1.5 → 2
    [InlineData(0.2, 1728, 346)] // 345.6
    [InlineData(0.1, 8, 1)]    // 0.8
    [InlineData(0.0, 100, 0)]
    public void UnitsToPruneRoundsLikeTorch(double amount, long count, long expected) =>
        Assert.Equal(expected, PruningMasks.UnitsToPrune(amount, count));

    [Fact]
    public void L1UnstructuredZerosTheSmallestMagnitudesOfAHandMadeTensor()
    {
        using var w = tensor(new float[] { 0.5f, -3f, 0.1f, 2f, -0.2f, 4f }).reshape(2, 3);
        using var mask = PruningMasks.L1Unstructured(w, null, 0.5);
        Assert.Equal(new float[] { 0, 1, 0, 1, 0, 1 }, mask.flatten().data<float>().ToArray());
    }

    [Fact]
    public void RepeatedUnstructuredPruningActsOnTheRemainingWeights()
    {
        using var w = arange(1, 9, dtype: float32).reshape(2, 4); // |w| = 1..8
        using var first = PruningMasks.L1Unstructured(w, null, 0.5);
        using var effective = w * first;
        using var second = PruningMasks.L1Unstructured(effective, first, 0.5);
        // First pass removes 1..4; the second removes half of the 4 left (5, 6), leaving 25%.
        Assert.Equal(new float[] { 0, 0, 0, 0, 0, 0, 1, 1 }, second.flatten().data<float>().ToArray());

        // The same through the model: 50% twice on every layer leaves round(0.5·round(0.5·n)) weights.
        using var model = TinyVgg();
        var half = new PruningSettings { Method = PruningMethod.L1Unstructured, Amount = 0.5, LinearAmount = 0.5 };
        Pruner.Prune(model, half);
        var report = Pruner.Prune(model, half);
        foreach (var layer in report.Layers)
        {
            long remainingAfterFirst = layer.Total - PruningMasks.UnitsToPrune(0.5, layer.Total);
            long remaining = remainingAfterFirst - PruningMasks.UnitsToPrune(0.5, remainingAfterFirst);
            Assert.Equal(layer.Total - remaining, layer.Zeros);
        }
        Assert.InRange(1 - report.Overall, 0.2499, 0.2501);
    }

    [Fact]
    public void RepeatedStructuredPruningActsOnTheRemainingChannels()
    {
        random.manual_seed(5);
        using var w = randn(4, 3, 3, 3);
        using var first = PruningMasks.LnStructured(w, null, 0.5);
        using var effective = w * first;
        using var second = PruningMasks.LnStructured(effective, first, 0.5);
        // 4 channels: 2 pruned, then round(0.5·2) = 1 of the 2 left.
        Assert.Equal(2, ZeroRows(first));
        Assert.Equal(3, ZeroRows(second));
        using var stillZero = (first.eq(0) & second.ne(0)).any();
        Assert.False(stillZero.item<bool>(), "a channel pruned by the first pass came back");
    }

    [Fact]
    public void L1DefaultPrunesExactCountsOfTheSmallestWeightsPerLayer()
    {
        using var model = TinyVgg();
        var report = Pruner.Prune(model, PruningSettings.Paper(PruningMethod.L1Unstructured));
        Assert.Equal(16, report.Layers.Count);
        foreach (var (name, layer) in model.MaskableLayers())
        {
            double amount = layer is MaskableLinear ? 0.1 : 0.2;
            var row = report.Layers.Single(l => l.Layer == name);
            Assert.Equal(PruningMasks.UnitsToPrune(amount, layer.Weight.numel()), row.Zeros);
            using var pruned = layer.Weight.abs().masked_select(layer.WeightMask!.eq(0));
            using var kept = layer.Weight.abs().masked_select(layer.WeightMask!.ne(0));
            Assert.True(pruned.max().item<float>() <= kept.min().item<float>(), $"{name}: a pruned weight is larger than a kept one");
        }
    }

    [Fact]
    public void L1DefaultOnThePapersVgg16GivesAbout19Point6Percent()
    {
        random.manual_seed(2);
        using var model = ModelFactory.Create(new ModelSpec());
        var report = Pruner.Prune(model, PruningSettings.Paper(PruningMethod.L1Unstructured));
        Assert.InRange(report.Overall, 0.1955, 0.1970);
    }

    [Fact]
    public void GlobalPruningSharesOneThresholdAcrossLayers()
    {
        using var model = TinyVgg();
        var report = Pruner.Prune(model, PruningSettings.Paper(PruningMethod.GlobalUnstructured));
        Assert.Equal(PruningMasks.UnitsToPrune(0.2, report.Total), report.Zeros);
        float largestPruned = 0, smallestKept = float.MaxValue;
        foreach (var (_, layer) in model.MaskableLayers())
        {
            using var pruned = layer.Weight.abs().masked_select(layer.WeightMask!.eq(0));
            using var kept = layer.Weight.abs().masked_select(layer.WeightMask!.ne(0));
            if (pruned.numel() > 0) largestPruned = Math.Max(largestPruned, pruned.max().item<float>());
            smallestKept = Math.Min(smallestKept, kept.min().item<float>());
        }
        Assert.True(largestPruned <= smallestKept, $"pruned |w| up to {largestPruned} but kept |w| down to {smallestKept}");
        // One threshold, not one fraction per layer: layers initialised at different scales end up differently sparse.
        Assert.True(report.Layers.Select(l => Math.Round(l.Sparsity, 3)).Distinct().Count() > 3);
    }

    [Fact]
    public void LayeredPruningZeroesWholeOutputChannelsWithTheSmallestL2Norm()
    {
        using var model = TinyVgg();
        var report = Pruner.Prune(model, PruningSettings.Paper(PruningMethod.LayeredStructured));
        foreach (var (name, layer) in model.MaskableLayers())
        {
            using var rowZeros = layer.WeightMask is { } m ? m.flatten(1).eq(0).sum(1) : zeros(layer.Weight.shape[0], dtype: int64);
            long rowSize = layer.Weight.numel() / layer.Weight.shape[0];
            var counts = rowZeros.data<long>().ToArray();
            Assert.All(counts, c => Assert.True(c == 0 || c == rowSize, $"{name}: a channel is only partly pruned"));
            long expected = name == model.OutputLayerName ? 0 : PruningMasks.UnitsToPrune(0.1, layer.Weight.shape[0]);
            Assert.Equal(expected, counts.Count(c => c == rowSize));
            if (expected == 0) continue;
            using var norms = layer.Weight.detach().flatten(1).norm(1);
            var n = norms.data<float>().ToArray();
            var prunedNorms = n.Where((_, i) => counts[i] == rowSize).ToArray();
            var keptNorms = n.Where((_, i) => counts[i] == 0).ToArray();
            Assert.True(prunedNorms.Max() <= keptNorms.Min(), $"{name}: a pruned channel has a larger L2 norm than a kept one");
        }
        Assert.Equal(0, report.Layers.Single(l => l.Layer == model.OutputLayerName).Zeros);
    }

    [Fact]
    public void MaskedWeightsStayExactlyZeroThroughTorchSgd()
    {
        using var model = TinyVgg(classes: 4);
        Pruner.Prune(model, PruningSettings.Paper(PruningMethod.L1Unstructured));
        var layers = model.MaskableLayers().ToList();
        var originalMasked = layers.Select(l => l.Layer.Weight.detach().masked_select(l.Layer.WeightMask!.eq(0)).clone()).ToList();
        using var optimizer = optim.SGD(model.parameters(), 0.05, momentum: 0.9, weight_decay: 5e-4);
        model.train();
        random.manual_seed(9);
        for (int step = 0; step < 15; step++)
        {
            using var scope = NewDisposeScope();
            var x = rand(8, 3, 32, 32);
            var y = randint(0, 4, [8]);
            optimizer.zero_grad();
            var loss = nn.functional.cross_entropy(model.forward(x), y);
            loss.backward();
            optimizer.step();
        }
        for (int i = 0; i < layers.Count; i++)
        {
            var (name, layer) = layers[i];
            var eff = layer.EffectiveWeight(); // a new tensor here (the layer is masked); never dispose an unmasked layer's
            using var maskedEffective = eff.masked_select(layer.WeightMask!.eq(0));
            Assert.Equal(0f, maskedEffective.abs().max().item<float>());
            // The underlying parameter (torch's weight_orig) did move under weight decay: the zeros come from the mask.
            using var maskedOrig = layer.Weight.detach().masked_select(layer.WeightMask!.eq(0));
            Assert.False(maskedOrig.equal(originalMasked[i]).all().item<bool>(), $"{name}: weight_orig under the mask never changed, so the test proves nothing");
        }
        foreach (var t in originalMasked) t.Dispose();
    }

    [Fact]
    public void MasksSurviveACheckpointRoundTrip()
    {
        using var model = TinyVgg(classes: 3);
        Pruner.Prune(model, PruningSettings.Paper(PruningMethod.GlobalUnstructured));
        Pruner.Prune(model, PruningSettings.Paper(PruningMethod.LayeredStructured));
        var path = Path.Combine(Path.GetTempPath(), $"salient-prune-{Guid.NewGuid():N}.safetensors");
        try
        {
            Checkpoint.Save(path, model, ["a", "b", "c"]);
            using var loaded = Checkpoint.Load(path);
            var theirs = loaded.Model.MaskableLayers().ToDictionary(l => l.Name, l => l.Layer);
            foreach (var (name, layer) in model.MaskableLayers())
            {
                Assert.NotNull(theirs[name].WeightMask);
                Assert.True(layer.WeightMask!.equal(theirs[name].WeightMask!).all().item<bool>(), $"{name}: mask changed");
                Assert.True(layer.Weight.equal(theirs[name].Weight).all().item<bool>(), $"{name}: weight_orig changed");
            }
            Assert.Equal(SparsityReport.Measure(model), SparsityReport.Measure(loaded.Model), new SparsityComparer());
        }
        finally
        {
            File.Delete(path);
        }
    }

    private sealed class SparsityComparer : IEqualityComparer<SparsityReport>
    {
        public bool Equals(SparsityReport? a, SparsityReport? b) => a!.Layers.SequenceEqual(b!.Layers);
        public int GetHashCode(SparsityReport r) => r.Zeros.GetHashCode();
    }

    private static long ZeroRows(Tensor mask)
    {
        using var rows = mask.flatten(1).ne(0).any(1).logical_not().sum();
        return rows.item<long>();
    }
}
