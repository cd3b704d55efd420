using System.Collections;
using Salient.Interop;
using Salient.Models;
using Salient.Pruning;
using Salient.Tests.Cli;
using TorchSharp.PyBridge;
using static TorchSharp.torch;

namespace Salient.Tests.Interop;

[Collection("Console")]
public class StateDictInteropTests
{
    private static readonly string[] Classes = ["stop", "yield", "merge"];

    /// <summary>A pruned tiny model with non-default normalisation and, for ResNet, non-trivial BatchNorm statistics.</summary>
    private static SalientModel PrunedModel(string architecture)
    {
        random.manual_seed(11);
        var model = ModelFactory.Create(new ModelSpec
        {
            Architecture = architecture, NumClasses = 3, Width = 0.0625,
            // The import infers ResNet's stem from the first kernel; cifar's 3×3 is the non-default case.
            Stem = architecture == "resnet18" ? "cifar" : new ModelSpec().Stem,
            Mean = [0.1f, 0.2f, 0.3f], Std = [0.4f, 0.5f, 0.6f],
        });
        Pruner.Prune(model, PruningSettings.Paper(PruningMethod.L1Unstructured));
        using (no_grad())
            foreach (var (name, buffer) in model.named_buffers())
            {
                if (name.EndsWith("running_mean")) buffer.copy_(randn(buffer.shape));
                else if (name.EndsWith("running_var")) buffer.copy_(rand(buffer.shape) + 0.5);
                else if (name.EndsWith("num_batches_tracked")) buffer.fill_(7);
            }
        return model;
    }

    private static ImportOptions OptionsFor(SalientModel model) => new()
    {
        Architecture = model.Spec.Architecture, ClassNames = Classes, Mean = model.Spec.Mean, Std = model.Spec.Std,
    };

    private static void AssertBitIdentical(SalientModel expected, SalientModel actual)
    {
        var want = expected.state_dict();
        var got = actual.state_dict();
        Assert.Equal(want.Keys.Order(), got.Keys.Order());
        foreach (var (key, t) in want)
        {
            Assert.Equal(t.dtype, got[key].dtype);
            Assert.Equal(t.shape, got[key].shape);
            Assert.True(t.bytes.SequenceEqual(got[key].bytes), $"'{key}' changed in the round trip");
        }
    }

    [Theory]
    [InlineData("vgg16", ".safetensors")]
    [InlineData("vgg16", ".pt")]
    [InlineData("resnet18", ".safetensors")]
    [InlineData("resnet18", ".pt")]
    public void ExportThenImportLeavesEveryTensorBitIdentical(string architecture, string extension)
    {
        using var folder = new TempFolder();
        using var model = PrunedModel(architecture);
        var path = folder["model" + extension];

        StateDictExport.Export(model, Classes, path);
        var imported = StateDictImport.Import(path, OptionsFor(model));
        using var back = imported.Model;

        Assert.Empty(imported.UnplacedKeys);
        Assert.Equal(model.Spec with { }, back.Spec with { Mean = model.Spec.Mean, Std = model.Spec.Std });
        AssertBitIdentical(model, back);
    }

    [Theory]
    [InlineData(".safetensors")]
    [InlineData(".pt")]
    public void ExportWritesTorchPruneNamesWithoutNormalisationOrOptimizerState(string extension)
    {
        using var folder = new TempFolder();
        var checkpoint = folder["ckpt.safetensors"];
        using (var model = PrunedModel("resnet18"))
            Checkpoint.Save(checkpoint, model, Classes, trainingState: [KeyValuePair.Create("fc.weight.momentum", zeros(3, 32))]);
        var target = folder["export" + extension];

        var (exit, stdout, stderr) = CliRunner.Run("export", "--checkpoint", checkpoint, "--to", target);

        Assert.True(exit == 0, stderr);
        Assert.Contains("mean=[0.1, 0.2, 0.3], std=[0.4, 0.5, 0.6]", stdout);
        var written = TorchStateDictFile.Read(target);
        try
        {
            Assert.DoesNotContain(written.Keys, k => k.StartsWith("normalize.") || k.StartsWith(Checkpoint.TrainingStatePrefix));
            Assert.Contains("conv1.weight_orig", written.Keys);
            Assert.Contains("conv1.weight_mask", written.Keys);
            Assert.DoesNotContain("conv1.weight", written.Keys);
            Assert.Contains("layer2.0.downsample.0.weight_orig", written.Keys);
            Assert.Contains("bn1.num_batches_tracked", written.Keys);
            Assert.Equal(ScalarType.Int64, written["bn1.num_batches_tracked"].dtype);
            Assert.Equal(7L, written["bn1.num_batches_tracked"].item<long>());
        }
        finally
        {
            foreach (var t in written.Values) t.Dispose();
        }
    }

    /// <summary>The state dict as torch would hold it for the model: weight_orig/weight_mask names, no normalisation.</summary>
    private static Dictionary<string, Tensor> TorchStateDict(SalientModel model)
    {
        var masked = model.MaskableLayers().Where(l => l.Layer.WeightMask is not null).Select(l => l.Name + ".weight").ToHashSet();
        return model.state_dict().Where(kv => !kv.Key.StartsWith("normalize."))
            .ToDictionary(kv => masked.Contains(kv.Key) ? kv.Key[..^".weight".Length] + ".weight_orig" : kv.Key, kv => kv.Value);
    }

    [Fact]
    public void DataParallelPrefixAndTorchvisionClassifierNamesMapAndStrayKeysAreReported()
    {
        using var model = PrunedModel("vgg16");
        var source = new Dictionary<string, Tensor>();
        foreach (var (key, t) in TorchStateDict(model))
        {
            // torchvision's VGG classifier puts its linear layers at 0, 3, 6 instead of the paper's 1, 4, 6.
            var renamed = key.StartsWith("classifier.1.") ? "classifier.0." + key["classifier.1.".Length..]
                : key.StartsWith("classifier.4.") ? "classifier.3." + key["classifier.4.".Length..] : key;
            source["module." + renamed] = t;
        }
        using var stray = ones(2);
        source["module.aux_head.weight"] = stray;

        var result = StateDictImport.Import(source, OptionsFor(model), "torchvision.pth");
        using var back = result.Model;

        Assert.Equal(["module.aux_head.weight"], result.UnplacedKeys);
        AssertBitIdentical(model, back);
    }

    [Fact]
    public void AStateDictWrappedInATrainingCheckpointIsUnwrapped()
    {
        using var folder = new TempFolder();
        using var model = PrunedModel("vgg16");
        var inner = new Hashtable();
        foreach (var (key, t) in TorchStateDict(model)) inner[key] = t.detach();
        var path = folder["checkpoint.pth"];
        using (var stream = File.Create(path))
            PyTorchPickler.PickleStateDict(stream, new Hashtable { ["state_dict"] = inner, ["epoch"] = 12 });

        var result = StateDictImport.Import(path, OptionsFor(model));
        using var back = result.Model;

        Assert.Empty(result.UnplacedKeys);
        AssertBitIdentical(model, back);
    }

    [Fact]
    public void AMissingKeyIsAnErrorNamingIt()
    {
        using var model = PrunedModel("vgg16");
        var source = TorchStateDict(model);
        source.Remove("classifier.4.bias");

        var error = Assert.Throws<SalientException>(() => StateDictImport.Import(source, OptionsFor(model), "model.pth"));

        Assert.Contains("'classifier.4.bias'", error.Message);
        Assert.Contains("model.pth", error.Message);
    }

    [Fact]
    public void AShapeMismatchIsAnErrorNamingTheKey()
    {
        using var model = PrunedModel("resnet18");
        var options = OptionsFor(model) with { ClassNames = ["a", "b", "c", "d"] };

        var error = Assert.Throws<SalientException>(() => StateDictImport.Import(TorchStateDict(model), options, "model.pth"));

        Assert.Contains("'fc.", error.Message);
        Assert.Contains("[3,", error.Message);
        Assert.Contains("--classes", error.Message);
    }

    [Fact]
    public void AMaskOfTheWrongShapeIsAnErrorNamingIt()
    {
        using var model = PrunedModel("vgg16");
        var source = TorchStateDict(model);
        using var wrong = ones(5, 5);
        source["features.2.weight_mask"] = wrong;

        var error = Assert.Throws<SalientException>(() => StateDictImport.Import(source, OptionsFor(model), "model.pth"));

        Assert.Contains("'features.2.weight_mask'", error.Message);
        Assert.Contains("[5,5]", error.Message);
    }

    [Fact]
    public void AnUnknownArchitectureIsAnErrorNamingIt()
    {
        using var folder = new TempFolder();
        var (exit, _, stderr) = CliRunner.Run("import", "--from", folder["absent.pth"], "--arch", "alexnet", "--classes", "3", "--out", folder["out.safetensors"]);

        Assert.Equal(Salient.Cli.CommandRunner.UserError, exit);
        Assert.Contains("'alexnet'", stderr);
        Assert.Contains("vgg16, resnet18", stderr);
        Assert.False(File.Exists(folder["out.safetensors"]));
    }

    [Fact]
    public void AFileThatIsNotAPyTorchStateDictIsAClearError()
    {
        using var folder = new TempFolder();
        var path = folder["notes.pth"];
        File.WriteAllText(path, "not a zip");

        var error = Assert.Throws<SalientException>(() => StateDictImport.Import(path, new ImportOptions { Architecture = "vgg16", ClassNames = Classes }));

        Assert.Contains("notes.pth", error.Message);
        Assert.Contains("torch.save", error.Message);
    }

    [Fact]
    public void ACompactedModelIsRefusedForExport()
    {
        using var folder = new TempFolder();
        using var model = PrunedModel("vgg16");
        using var compacted = Compaction.Compact(model);

        var error = Assert.Throws<SalientException>(() => StateDictExport.Export(compacted, Classes, folder["c.pt"]));

        Assert.Contains("compacted", error.Message);
    }
}
