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

    /// <summary>A pruned tiny model (width 0.0625) with non-default normalisation and, for ResNet, non-trivial BatchNorm statistics.</summary>
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

    /// <summary>
    /// Every kind of model Salient makes, at width 0.1 (whose channel counts no "first convolution / 64"
    /// rule recovers: 6, 13, 26, 51), with its own normalisation, class names and BatchNorm statistics.
    /// </summary>
    private static SalientModel ModelOfKind(string kind)
    {
        random.manual_seed(11);
        var spec = new ModelSpec
        {
            Architecture = kind.StartsWith("resnet") ? "resnet18" : "vgg16", NumClasses = 3, Width = 0.1,
            BatchNorm = kind == "vgg16-batchnorm",
            Stem = kind == "resnet18-cifar" ? "cifar" : "imagenet",
            InputSize = kind == "resnet18-cifar" ? 48 : 32,
            Mean = [0.1f, 0.2f, 0.3f], Std = [0.4f, 0.5f, 0.6f],
        };
        var model = ModelFactory.Create(spec);
        if (kind is "vgg16-pruned" or "resnet18-imagenet")
            Pruner.Prune(model, PruningSettings.Paper(kind == "vgg16-pruned" ? PruningMethod.GlobalUnstructured : PruningMethod.L1Unstructured));
        using (no_grad())
            foreach (var (name, buffer) in model.named_buffers())
            {
                if (name.EndsWith("running_mean")) buffer.copy_(randn(buffer.shape));
                else if (name.EndsWith("running_var")) buffer.copy_(rand(buffer.shape) + 0.5);
                else if (name.EndsWith("num_batches_tracked")) buffer.fill_(7);
            }
        return model;
    }

    [Theory]
    [InlineData("vgg16-plain", ".pt")]
    [InlineData("vgg16-plain", ".safetensors")]
    [InlineData("vgg16-batchnorm", ".pt")]
    [InlineData("vgg16-batchnorm", ".safetensors")]
    [InlineData("vgg16-pruned", ".pt")]
    [InlineData("vgg16-pruned", ".safetensors")]
    [InlineData("resnet18-imagenet", ".pt")]
    [InlineData("resnet18-imagenet", ".safetensors")]
    [InlineData("resnet18-cifar", ".pt")]
    [InlineData("resnet18-cifar", ".safetensors")]
    public void ExportThenImportGivesTheSameModelBitForBit(string kind, string extension)
    {
        using var folder = new TempFolder();
        using (var original = ModelOfKind(kind)) Checkpoint.Save(folder["original.safetensors"], original, Classes);

        var exported = CliRunner.Run("export", "--checkpoint", folder["original.safetensors"], "--to", folder["model" + extension]);
        // Nothing but the file: architecture, classes, width, input size and normalisation come from what export recorded.
        var imported = CliRunner.Run("import", "--from", folder["model" + extension], "--out", folder["back.safetensors"]);

        Assert.True(exported.Exit == 0, exported.Err);
        Assert.True(imported.Exit == 0, imported.Err);
        Assert.Equal("", imported.Err);
        using var before = Checkpoint.Load(folder["original.safetensors"]);
        using var after = Checkpoint.Load(folder["back.safetensors"]);
        Assert.Equal(before.ClassNames, after.ClassNames);
        AssertSameSpec(before.Model.Spec, after.Model.Spec);
        AssertBitIdentical(before.Model, after.Model);
        Assert.Equal(before.Model.MaskableLayers().Select(l => l.Layer.WeightMask is not null), after.Model.MaskableLayers().Select(l => l.Layer.WeightMask is not null));
        int side = before.Model.Spec.InputSize;
        using var pixels = rand(4, 3, side, side, generator: new Generator(3));
        Assert.True(Logits(before.Model, pixels).bytes.SequenceEqual(Logits(after.Model, pixels).bytes), "the logits changed in the round trip");
    }

    private static Tensor Logits(SalientModel model, Tensor pixels)
    {
        using var evaluating = EvalScope.Eval(model);
        using var noGrad = no_grad();
        return model.forward(pixels);
    }

    private static void AssertSameSpec(ModelSpec expected, ModelSpec actual)
    {
        Assert.Equal(expected.Mean, actual.Mean);
        Assert.Equal(expected.Std, actual.Std);
        // Records compare arrays by reference; the normalisation is compared above.
        Assert.Equal(expected, actual with { Mean = expected.Mean, Std = expected.Std });
    }

    [Fact]
    public void NormalisationOptionsOverrideWhatTheFileRecordsOneByOne()
    {
        using var folder = new TempFolder();
        using var model = ModelOfKind("vgg16-plain");
        StateDictExport.Export(model, Classes, folder["model.pt"]);

        using var imported = StateDictImport.Import(folder["model.pt"], new ImportOptions { Mean = [0.5f, 0.5f, 0.5f] }).Model;

        Assert.Equal([0.5f, 0.5f, 0.5f], imported.Spec.Mean);
        Assert.Equal(model.Spec.Std, imported.Spec.Std);
    }

    [Fact]
    public void AFileThatRecordsAnInvalidSettingIsAnErrorNamingIt()
    {
        using var folder = new TempFolder();
        using var model = ModelOfKind("vgg16-plain");
        var tensors = TorchStateDict(model).ToList();
        TorchStateDictFile.Write(folder["model.safetensors"], tensors, new Dictionary<string, string> { ["salient.mean"] = "[0.5, oops]" });

        var error = Assert.Throws<SalientException>(() => StateDictImport.Import(folder["model.safetensors"], OptionsFor(model) with { Mean = null }));

        Assert.Contains("model.safetensors", error.Message);
        Assert.Contains("salient.mean", error.Message);
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
        using var file = TorchStateDictFile.Read(target);
        var written = file.Tensors;
        Assert.DoesNotContain(written.Keys, k => k.StartsWith("normalize.") || k.StartsWith(Checkpoint.TrainingStatePrefix));
        Assert.Contains("conv1.weight_orig", written.Keys);
        Assert.Contains("conv1.weight_mask", written.Keys);
        Assert.DoesNotContain("conv1.weight", written.Keys);
        Assert.Contains("layer2.0.downsample.0.weight_orig", written.Keys);
        Assert.Contains("bn1.num_batches_tracked", written.Keys);
        Assert.Equal(ScalarType.Int64, written["bn1.num_batches_tracked"].dtype);
        Assert.Equal(7L, written["bn1.num_batches_tracked"].item<long>());
        // What an import needs beyond the tensors travels beside them (for .pt, in a record torch.load ignores).
        Assert.Equal("resnet18", file.Metadata["salient.architecture"]);
        Assert.Equal("[0.1,0.2,0.3]", file.Metadata["salient.mean"]);
        Assert.Equal("[0.4,0.5,0.6]", file.Metadata["salient.std"]);
        Assert.Equal("[\"stop\",\"yield\",\"merge\"]", file.Metadata["salient.classes"]);
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
