using Salient.Models;
using Salient.Pruning;
using static TorchSharp.torch;

namespace Salient.Tests.Pruning;

public class CompactionTests
{
    /// <summary>A small VGG with random biases, so pruned channels emit nonzero constants that compaction must fold in.</summary>
    private static SalientModel PrunedVgg(double amount, int seed = 4, int inputSize = 32)
    {
        random.manual_seed(seed);
        var model = ModelFactory.Create(new ModelSpec { Width = 0.25, NumClasses = 6, InputSize = inputSize });
        using (no_grad())
            foreach (var (_, layer) in model.MaskableLayers())
            {
                var bias = layer is MaskableConv2d c ? c.Bias! : ((MaskableLinear)layer).Bias;
                bias.copy_(randn(bias.shape) * 0.1);
            }
        Pruner.Prune(model, new PruningSettings { Method = PruningMethod.LayeredStructured, Amount = amount, LinearAmount = amount });
        model.eval();
        return model;
    }

    /// <summary>A small BatchNorm VGG with random running statistics, γ and β, so the folded normalisation matters.</summary>
    private static SalientModel PrunedBatchNormVgg(double amount, int seed = 5)
    {
        random.manual_seed(seed);
        var model = ModelFactory.Create(new ModelSpec { Width = 0.25, NumClasses = 6, BatchNorm = true });
        using (no_grad())
            foreach (var (name, tensor) in model.named_parameters().Select(p => (p.name, (Tensor)p.parameter)).Concat(model.named_buffers()))
            {
                if (name.EndsWith("running_mean")) tensor.copy_(randn(tensor.shape) * 0.2);
                else if (name.EndsWith("running_var")) tensor.copy_(rand(tensor.shape) + 0.5);
                else if (name.StartsWith("features.") && tensor.dim() == 1 && name.EndsWith(".weight")) tensor.copy_(rand(tensor.shape) + 0.5);
                else if (name.EndsWith(".bias")) tensor.copy_(randn(tensor.shape) * 0.1);
            }
        Pruner.Prune(model, new PruningSettings { Method = PruningMethod.LayeredStructured, Amount = amount, LinearAmount = amount });
        model.eval();
        return model;
    }

    /// <summary>
    /// A small ResNet-18 with random running statistics, γ and β (so removed inner channels emit
    /// nonzero constants and the folded normalisations matter), layered-pruned.
    /// </summary>
    private static ResNet18 PrunedResNet(double amount, string stem, int seed = 6)
    {
        random.manual_seed(seed);
        var model = (ResNet18)ModelFactory.Create(new ModelSpec { Architecture = "resnet18", Width = 0.25, NumClasses = 6, Stem = stem });
        using (no_grad())
            foreach (var (name, tensor) in model.named_parameters().Select(p => (p.name, (Tensor)p.parameter)).Concat(model.named_buffers()))
            {
                if (name.EndsWith("running_mean")) tensor.copy_(randn(tensor.shape) * 0.2);
                else if (name.EndsWith("running_var")) tensor.copy_(rand(tensor.shape) + 0.5);
                else if (tensor.dim() == 1 && name.EndsWith(".weight")) tensor.copy_(rand(tensor.shape) + 0.5);
                else if (name.EndsWith(".bias")) tensor.copy_(randn(tensor.shape) * 0.3);
            }
        Pruner.Prune(model, new PruningSettings { Method = PruningMethod.LayeredStructured, Amount = amount, LinearAmount = amount });
        model.eval();
        return model;
    }

    private static float MaxDifference(SalientModel a, SalientModel b, int inputSize = 32)
    {
        random.manual_seed(13);
        using var x = rand(4, 3, inputSize, inputSize);
        using var _ = no_grad();
        using var ya = a.forward(x);
        using var yb = b.forward(x);
        return (ya - yb).abs().max().item<float>() / ya.abs().max().item<float>();
    }

    [Theory]
    [InlineData("cifar")]
    [InlineData("imagenet")]
    public void CompactedResNetComputesTheMaskedModelsFunction(string stem)
    {
        using var masked = PrunedResNet(0.3, stem);
        using var compact = (ResNet18)Compaction.Compact(masked);
        compact.eval();

        Assert.True(MaxDifference(masked, compact) <= 1e-4f, $"relative max |masked − compacted| = {MaxDifference(masked, compact)}");
        // Every block lost the inner channels layered pruning zeroed (30% of its first convolution's rows) ...
        var inner = masked.named_modules().Where(m => m.name.StartsWith("layer") && m.name.EndsWith(".conv1")).Select(m => ((MaskableConv2d)m.module).OutChannels).ToArray();
        Assert.Equal(ResNet18.BlockCount, inner.Length);
        Assert.Equal(inner.Select(c => (int)(c - PruningMasks.UnitsToPrune(0.3, c))), compact.Spec.LayerWidths!);
        // ... its BatchNorms are folded away, and their constants live in biases and one-pixel border rings.
        Assert.DoesNotContain(compact.named_modules(), m => m.module is TorchSharp.Modules.BatchNorm2d);
        Assert.All(compact.Spec.OffsetRings!, r => Assert.Equal(1, r));
        using var image = rand(1, 3, 32, 32);
        var (before, after) = (PruningCostReport.CountMacs(masked, image).Macs, PruningCostReport.CountMacs(compact, image).Macs);
        Assert.True(after < before * 0.85, $"multiply-adds {before} → {after}");
    }

    [Fact]
    public void ACompactedResNetCompactsToItselfAndSurvivesACheckpointRoundTrip()
    {
        using var masked = PrunedResNet(0.3, "cifar");
        using var compact = (ResNet18)Compaction.Compact(masked);
        compact.eval();
        using var twice = (ResNet18)Compaction.Compact(compact);
        twice.eval();
        Assert.Equal(compact.Spec.LayerWidths, twice.Spec.LayerWidths);
        Assert.True(MaxDifference(compact, twice) <= 1e-5f);

        var path = Path.Combine(Path.GetTempPath(), $"salient-compact-resnet-{Guid.NewGuid():N}.safetensors");
        try
        {
            Checkpoint.Save(path, compact, ["a", "b", "c", "d", "e", "f"]);
            using var loaded = Checkpoint.Load(path);
            Assert.Equal(compact.Spec.OffsetRings, loaded.Model.Spec.OffsetRings);
            AssertOffsetsStoredChannelsLast(compact);
            AssertOffsetsStoredChannelsLast(loaded.Model);
            loaded.Model.eval();
            Assert.Equal(0f, MaxDifference(compact, loaded.Model));
        }
        finally
        {
            File.Delete(path);
        }
    }

    /// <summary>The offset maps are added to channels-last activations; stored the same way that add is one contiguous pass.</summary>
    private static void AssertOffsetsStoredChannelsLast(SalientModel model)
    {
        var offsets = model.named_buffers().Where(b => b.name.StartsWith("offsets.") || b.name.EndsWith(".offset")).ToList();
        Assert.NotEmpty(offsets);
        Assert.All(offsets, b => Assert.True(b.buffer.stride(0) == 1, $"{b.name} has strides [{string.Join(",", b.buffer.stride())}], not channels innermost"));
    }

    [Fact]
    public void CompactedBatchNormVggComputesTheMaskedModelsFunction()
    {
        using var masked = PrunedBatchNormVgg(0.3);
        using var compact = Compaction.Compact(masked);
        Assert.False(compact.Spec.BatchNorm);
        Assert.DoesNotContain(compact.named_modules(), m => m.module is TorchSharp.Modules.BatchNorm2d);
        Assert.Equal(16 - PruningMasks.UnitsToPrune(0.3, 16), compact.Spec.LayerWidths![0]);
        compact.eval();
        random.manual_seed(13);
        using var x = rand(5, 3, 32, 32);
        using var _ = no_grad();
        using var a = masked.forward(x);
        using var b = compact.forward(x);
        float diff = (a - b).abs().max().item<float>();
        Assert.True(diff <= 1e-4f * a.abs().max().item<float>(), $"max |masked − compacted| = {diff}");
        // In training mode BatchNorm uses the batch's statistics, which the folded model cannot: the equality is eval's.
        masked.train();
        using var trained = masked.forward(x);
        Assert.True((trained - b).abs().max().item<float>() > 1e-3f);
    }

    [Fact]
    public void OffsetMapsKeepOnlyTheBorderRing()
    {
        using var masked = PrunedVgg(0.3);
        using var compact = Compaction.Compact(masked);
        var rings = compact.Spec.OffsetRings!;
        // The first convolution sees the image; the second sees constant maps through padding 1: a ring of 1.
        Assert.Equal(0, rings[0]);
        Assert.Equal(1, rings[1]);
        long side = 32;
        int j = 0;
        foreach (var (name, layer) in compact.named_modules().Where(m => m.name.StartsWith("features.") && m.module is MaskableConv2d))
        {
            if (j > 0 && j is 2 or 4 or 7 or 10) side /= 2;
            var offset = compact.named_buffers().Where(b => b.name == "offsets." + name["features.".Length..]).Select(b => b.buffer).SingleOrDefault();
            if (offset is not null && 2 * rings[j] < side)
            {
                using var interior = offset[.., TensorIndex.Slice(rings[j], side - rings[j]), TensorIndex.Slice(rings[j], side - rings[j])];
                Assert.Equal(0f, interior.abs().max().item<float>());
                Assert.True(offset.abs().max().item<float>() > 0, $"{name}: the ring of a layer with removed inputs is not empty");
            }
            j++;
        }
        // A model described without rings adds whole maps; with the interiors zero that is the same function.
        using var wholeMaps = new Vgg16(compact.Spec with { OffsetRings = null });
        foreach (var (name, layer) in compact.MaskableLayers())
            if (layer.WeightMask is { } mask) wholeMaps.MaskableLayers().Single(l => l.Name == name).Layer.SetMask(mask);
        wholeMaps.load_state_dict(compact.state_dict());
        compact.eval();
        wholeMaps.eval();
        using var x = rand(4, 3, 32, 32);
        using var _ = no_grad();
        Assert.True((compact.forward(x) - wholeMaps.forward(x)).abs().max().item<float>() <= 1e-5f);
    }

    [Theory]
    [InlineData(0.1, 32)]
    [InlineData(0.4, 32)]
    [InlineData(0.3, 64)]
    public void CompactedVggComputesTheMaskedModelsFunction(double amount, int inputSize)
    {
        using var masked = PrunedVgg(amount, inputSize: inputSize);
        using var compact = Compaction.Compact(masked);
        compact.eval();
        random.manual_seed(11);
        using var x = rand(6, 3, inputSize, inputSize);
        using var _ = no_grad();
        using var a = masked.forward(x);
        using var b = compact.forward(x);
        float diff = (a - b).abs().max().item<float>();
        Assert.True(diff <= 1e-4f, $"max |masked − compacted| = {diff}");
        // The check is not vacuous: the removed channels' constants do matter.
        using var withoutFolding = CompactedWithoutOffsets(compact, x);
        Assert.True((a - withoutFolding).abs().max().item<float>() > 1e-3f);
    }

    [Fact]
    public void CompactionKeepsUnstructuredMasksAndCanBeRepeated()
    {
        using var masked = PrunedVgg(0.2);
        Pruner.Prune(masked, PruningSettings.Paper(PruningMethod.L1Unstructured));
        using var compact = Compaction.Compact(masked);
        Assert.All(compact.MaskableLayers(), l => Assert.NotNull(l.Layer.WeightMask));
        Assert.True(SparsityReport.Measure(compact).Zeros > 0);
        masked.eval();
        compact.eval();
        random.manual_seed(12);
        using var x = rand(4, 3, 32, 32);
        using (no_grad())
        {
            using var a = masked.forward(x);
            using var b = compact.forward(x);
            Assert.True((a - b).abs().max().item<float>() <= 1e-4f);
        }

        // Pruning the compacted model again and compacting it again carries the first offsets through.
        Pruner.Prune(compact, new PruningSettings { Method = PruningMethod.LayeredStructured, Amount = 0.3, LinearAmount = 0.3 });
        using var twice = Compaction.Compact(compact);
        Assert.True(twice.parameters().Sum(p => p.numel()) < compact.parameters().Sum(p => p.numel()));
        twice.eval();
        using (no_grad())
        {
            using var c = compact.forward(x);
            using var d = twice.forward(x);
            Assert.True((c - d).abs().max().item<float>() <= 1e-4f, $"second compaction differs by {(c - d).abs().max().item<float>()}");
        }
    }

    [Fact]
    public void CompactionRemovesExactlyThePrunedChannels()
    {
        using var masked = PrunedVgg(0.4);
        using var compact = Compaction.Compact(masked);
        var before = masked.MaskableLayers().ToList();
        var after = compact.MaskableLayers().ToList();
        Assert.Equal(before.Select(l => l.Name), after.Select(l => l.Name));
        for (int i = 0; i < before.Count; i++)
        {
            long channels = before[i].Layer.Weight.shape[0];
            long expected = before[i].Name == masked.OutputLayerName ? channels : channels - PruningMasks.UnitsToPrune(0.4, channels);
            Assert.Equal(expected, after[i].Layer.Weight.shape[0]);
            // Each layer's inputs are cut to the previous layer's surviving channels (the first linear layer
            // reads channels × 1×1 at 32 px).
            if (i > 0) Assert.Equal(after[i - 1].Layer.Weight.shape[0], after[i].Layer.Weight.shape[1]);
        }
        Assert.True(compact.parameters().Sum(p => p.numel()) < masked.parameters().Sum(p => p.numel()) * 0.45);
    }

    [Fact]
    public void ACompactedModelSurvivesACheckpointRoundTrip()
    {
        using var masked = PrunedVgg(0.3);
        using var compact = Compaction.Compact(masked);
        var path = Path.Combine(Path.GetTempPath(), $"salient-compact-{Guid.NewGuid():N}.safetensors");
        try
        {
            Checkpoint.Save(path, compact, ["a", "b", "c", "d", "e", "f"]);
            using var loaded = Checkpoint.Load(path);
            Assert.Equal(compact.Spec.LayerWidths, loaded.Model.Spec.LayerWidths);
            AssertOffsetsStoredChannelsLast(compact);
            AssertOffsetsStoredChannelsLast(loaded.Model);
            loaded.Model.eval();
            compact.eval();
            using var x = rand(3, 3, 32, 32);
            using var _ = no_grad();
            Assert.True(compact.forward(x).equal(loaded.Model.forward(x)).all().item<bool>());
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void LayerWidthsAreOptionalAndChecked()
    {
        // A description written before LayerWidths existed still reads, as the regular plan.
        var old = ModelSpec.FromJson("""{"Architecture":"vgg16","NumClasses":43,"Width":1,"InputSize":32,"Stem":"imagenet","Mean":[0.5,0.5,0.5],"Std":[0.2,0.2,0.2]}""");
        Assert.Null(old.LayerWidths);
        var e = Assert.Throws<SalientException>(() => new ModelSpec { LayerWidths = [8, 8] }.Validate());
        Assert.Contains("15 positive widths", e.Message);
        e = Assert.Throws<SalientException>(() => new ModelSpec { Architecture = "resnet18", LayerWidths = Enumerable.Repeat(4, 15).ToArray() }.Validate());
        Assert.Contains("8 positive widths", e.Message);
    }

    [Fact]
    public void UnprunedModelsCompactToThemselves()
    {
        random.manual_seed(8);
        using var dense = ModelFactory.Create(new ModelSpec { Width = 0.125, NumClasses = 4 });
        using var compact = Compaction.Compact(dense);
        Assert.Equal(dense.parameters().Sum(p => p.numel()), compact.parameters().Sum(p => p.numel()));
        dense.eval();
        compact.eval();
        using var x = rand(2, 3, 32, 32);
        using var _ = no_grad();
        Assert.True(dense.forward(x).allclose(compact.forward(x), rtol: 0, atol: 1e-6));
    }

    [Fact]
    public void CostReportCountsMacsAndShowsTheSaving()
    {
        random.manual_seed(3);
        using var dense = ModelFactory.Create(new ModelSpec { Width = 0.125, NumClasses = 10 });
        var cost = PruningCostReport.Measure([("dense", dense)], latencyRepeats: 3, warmup: 1, batch: 4, batchRepeats: 2).Models[0];
        long scaled(int c) => Math.Max(1, (long)Math.Round(c * 0.125));
        Assert.Equal(IndependentVggMacs(Vgg16.Plan.Where(c => c != 0).Select(c => scaled(c)).Append(scaled(512)).Append(scaled(512)).ToArray(), 10), cost.Macs);
        Assert.Equal(cost.Macs, cost.NonZeroMacs);
        Assert.Equal(dense.parameters().Sum(p => p.numel()), cost.Parameters);

        using var masked = PrunedVgg(0.4);
        using var compact = Compaction.Compact(masked);
        var report = PruningCostReport.Measure([("masked", masked), ("compacted", compact)], latencyRepeats: 3, warmup: 1, batch: 4, batchRepeats: 2);
        var (m, c) = (report.Models[0], report.Models[1]);
        Assert.True(m.NonZeroMacs < m.Macs);
        // Compaction keeps no zero weights (layered pruning leaves none inside surviving channels) and also drops the
        // next layer's inputs from removed channels, so it executes fewer MACs than even the masked model's nonzero ones.
        Assert.Equal(IndependentVggMacs(compact.Spec.LayerWidths!.Select(w => (long)w).ToArray(), 6), c.Macs);
        Assert.Equal(c.Macs, c.NonZeroMacs);
        Assert.True(c.Macs < m.NonZeroMacs);
        Assert.Equal(c.Parameters, c.NonZeroParameters);
        Assert.True(c.Parameters < m.NonZeroParameters);
        var markdown = report.ToMarkdown();
        Assert.Contains("| masked |", markdown);
        Assert.Contains("| compacted |", markdown);
        Assert.True(c.LatencyB1Seconds > 0);
        Assert.True(c.BatchSecondsPerImage > 0);
        Assert.Contains("| per image at b4 (ms) |", markdown);
        Assert.Equal(4, report.Batch);
        var e = Assert.Throws<SalientException>(() => PruningCostReport.Measure([("masked", masked)], batch: 0));
        Assert.Contains("--report-batch", e.Message);
    }

    /// <summary>Conv MACs 9·in·out·side² per convolution of the paper's plan (32 px input), then the three linear layers.</summary>
    private static long IndependentVggMacs(long[] widths, int classes)
    {
        long macs = 0, inChannels = 3, side = 32;
        int j = 0;
        foreach (var c in Vgg16.Plan)
        {
            if (c == 0) { side /= 2; continue; }
            macs += 9 * inChannels * widths[j] * side * side;
            inChannels = widths[j++];
        }
        return macs + inChannels * widths[13] + widths[13] * widths[14] + widths[14] * classes;
    }

    private static Tensor CompactedWithoutOffsets(SalientModel compact, Tensor x)
    {
        var state = compact.state_dict().Where(kv => kv.Key.StartsWith("offsets.")).ToList();
        var saved = state.Select(kv => kv.Value.clone()).ToList();
        foreach (var (_, t) in state) t.zero_();
        var y = compact.forward(x);
        for (int i = 0; i < state.Count; i++) state[i].Value.copy_(saved[i]);
        return y;
    }
}
