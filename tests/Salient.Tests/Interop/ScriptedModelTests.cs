using Salient.Attribution;
using Salient.Evaluation;
using Salient.Evaluation.Metrics;
using Salient.Interop;
using Salient.Models;
using Salient.Pruning;
using Salient.Tests.Cli;
using Salient.Workflows;
using SixLabors.ImageSharp.PixelFormats;
using static Salient.Tests.Interop.GoldenFiles;
using static TorchSharp.torch;

namespace Salient.Tests.Interop;

/// <summary>
/// A model Salient does not build, brought in as TorchScript: golden/scripted-cnn.pt is a small CNN
/// with BatchNorm that PyTorch scripted, and scripted-cnn.safetensors holds PyTorch's own logits and
/// Vanilla Gradient maps of it (golden/make_scripted_cnn.py wrote both).
/// </summary>
[Collection("Console")]
public class ScriptedModelTests
{
    private static string Archive => Path.Combine(GoldenFiles.Fixtures, "scripted-cnn.pt");
    private static readonly string[] ClassNames = ["stop", "yield", "priority road"];
    private static readonly ImportOptions Options = new() { ClassNames = ClassNames, Mean = [0.5f, 0.4f, 0.3f], Std = [0.25f, 0.2f, 0.3f] };

    private static Tensor Golden(string name)
    {
        var contents = SafeTensors.Read(Path.Combine(GoldenFiles.Fixtures, "scripted-cnn.safetensors"));
        return contents.Tensors[name];
    }

    private static void AssertClose(Tensor want, Tensor got, double relative, string what)
    {
        using var difference = (got - want).abs().max();
        using var largest = want.abs().max();
        Assert.True(difference.item<float>() <= relative * largest.item<float>(), $"{what} differ from PyTorch's by {difference.item<float>()} (largest {largest.item<float>()})");
    }

    [Fact]
    public void AnImportedTorchScriptModelGivesPyTorchsLogitsAndGradientMaps()
    {
        Assert.True(ScriptedModel.IsArchive(Archive));
        Assert.False(ScriptedModel.IsArchive(ModelPath(Plain))); // a torch.save state dict is a zip too, without code

        var result = StateDictImport.Import(Archive, Options);
        using var model = result.Model;
        Assert.IsType<ScriptedModel>(model);
        Assert.Equal(ClassNames, result.ClassNames);
        Assert.Empty(result.PaperNormalization);
        Assert.Empty(result.Warnings); // its logits and gradients agree alone, in a batch and in repeated calls
        Assert.Null(model.Spec.InputLayout); // so it keeps channels-last input
        model.eval();
        var pixels = Golden("pixels");
        using (no_grad())
        using (var logits = model.forward(pixels))
            AssertClose(Golden("logits"), logits, 1e-5, "logits");

        // Gradients flow through the TorchScript module to the pixels, as through Salient's own layers,
        // every time: on NCHW input oneDNN's kernels gave this model's 8-channel gradient wrong in about
        // half the calls after the first.
        for (int call = 0; call < 6; call++)
        {
            using var raw = AttributionMethods.Create("vg").Attribute(model, pixels, Golden("targets"));
            using var maps = SaliencyMap.Reduce(raw);
            AssertClose(Golden("vg"), maps, 1e-5, $"VG maps of call {call}");
        }
    }

    [Fact]
    public void AModuleWhoseLogitsDependOnTheBatchIsReported()
    {
        // batch-dependent.pt subtracts the batch's mean image, as no classifier in evaluation mode should.
        var result = StateDictImport.Import(Path.Combine(GoldenFiles.Fixtures, "batch-dependent.pt"), Options);
        using var model = result.Model;
        var warning = Assert.Single(result.Warnings);
        Assert.Contains("gives other logits for an image in a batch of 4 than alone in either input layout", warning);
    }

    [Fact]
    public void AModuleThatComputesWronglyOnChannelsLastInputIsGivenNchwInput()
    {
        // layout-sensitive.pt mixes the batch only for channels-last input, as this machine's kernels did
        // for torchvision's ResNet-18 (whose imported IG maps then matched Salient's own ResNet-18's).
        using var folder = new TempFolder();
        var path = folder["ls.safetensors"];
        var result = StateDictImport.Import(Path.Combine(GoldenFiles.Fixtures, "layout-sensitive.pt"), Options);
        using (var imported = result.Model)
        {
            Assert.Empty(result.Warnings);
            Assert.Equal(ScriptedModel.Nchw, imported.Spec.InputLayout);
            Checkpoint.Save(path, imported, ClassNames);
        }
        // The checkpoint remembers it: a batch and its images alone give the same logits.
        using var ckpt = Checkpoint.Load(path);
        var model = ckpt.Model;
        model.eval();
        using var noGrad = no_grad();
        var pixels = Golden("pixels");
        using var together = model.forward(pixels);
        using var alone = cat(Enumerable.Range(0, 4).Select(i => model.forward(pixels.narrow(0, i, 1))).ToList(), 0);
        AssertClose(alone, together, 1e-6, "logits of a batch");
    }

    [Fact]
    public void ACheckpointCarriesTheArchiveAndRefusesWhatNeedsSalientsLayers()
    {
        using var folder = new TempFolder();
        var path = folder["cnn.safetensors"];
        using (var imported = StateDictImport.Import(Archive, Options).Model)
            Checkpoint.Save(path, imported, ClassNames);

        using var ckpt = Checkpoint.Load(path);
        var model = Assert.IsType<ScriptedModel>(ckpt.Model);
        Assert.Equal(ClassNames, ckpt.ClassNames);
        Assert.Equal([0.25f, 0.2f, 0.3f], model.Spec.Std);
        model.eval();
        using (no_grad())
        using (var logits = model.forward(Golden("pixels")))
            AssertClose(Golden("logits"), logits, 1e-5, "logits after a save and load");

        Assert.Contains("TorchScript", Assert.Throws<SalientException>(() => Pruner.Prune(model, PruningSettings.Paper(PruningMethod.L1Unstructured))).Message);
        Assert.Contains("TorchScript", Assert.Throws<SalientException>(() => StateDictExport.Export(ckpt, folder["back.pt"])).Message);
        Assert.Contains("TorchScript", Assert.Throws<SalientException>(() => Checkpoint.StartingPoint(path, ClassNames)).Message);
        Assert.Contains("TorchScript", Assert.Throws<SalientException>(() => ModelFactory.Create(model.Spec)).Message);
    }

    [Fact]
    public void TheRandomisationTestReinitialisesTheModulesOfACopyFromTheOutputBack()
    {
        using var model = StateDictImport.Import(Archive, Options).Model;
        // Every module with parameters, output first; the BatchNorm (features.1) is a layer of its own.
        Assert.Equal(["head", "features.4", "features.1", "features.0"], ModelRandomisation.Layers(model).Select(l => l.Name));

        using var copy = ModelRandomisation.Copy(model);
        using var generator = new Generator(5);
        foreach (var layer in ModelRandomisation.Layers(copy)) ModelRandomisation.Randomise(layer, generator);
        var weights = copy.named_parameters().Select(p => (p.name, (Tensor)p.parameter)).Concat(copy.named_buffers()).ToDictionary(p => p.Item1, p => p.Item2);
        // head: U(±1/√16); the first convolution: N(0, √(2/(9·8))) with zero bias; the BatchNorm reset.
        Assert.InRange(weights["scripted.head.weight"].abs().max().item<float>(), 0.15, 0.25);
        Assert.InRange(weights["scripted.features.0.weight"].std().item<float>() / Math.Sqrt(2.0 / 72), 0.8, 1.2);
        Assert.Equal(0, weights["scripted.features.0.bias"].abs().max().item<float>());
        Assert.Equal(1, weights["scripted.features.1.running_var"].min().item<float>());
        Assert.Equal(0, weights["scripted.features.1.running_mean"].abs().max().item<float>());
        // The model itself is untouched.
        model.eval();
        using (no_grad())
        using (var logits = model.forward(Golden("pixels")))
            AssertClose(Golden("logits"), logits, 1e-5, "logits of the model after its copy was randomised");

        // The metric runs on it: the images the model itself classifies, so every one is scored.
        using var predictions = model.forward(Golden("pixels")).argmax(1);
        using var scored = ExplanationEvaluation.Run(model, AttributionMethods.Create("vg"), Golden("pixels"), predictions,
            [MetricChoice.Default("mprt")], seed: 0);
        var spearman = scored.Scores.Single().Scores.Values[ModelRandomisationMetric.SpearmanKey];
        Assert.All(spearman, rho => Assert.InRange(rho, -1, 1));
    }

    [Fact]
    public void TheVerbsImportExplainAndScoreTheModelAndRefuseToPruneIt()
    {
        using var temp = new TempFolder();
        var (exit, _, err) = CliRunner.Run("import", "--from", Archive, "--classes", "4", "--out", temp["wrong.safetensors"]);
        Assert.Equal(2, exit);
        Assert.Contains("returns a [1, 3] tensor for one image, not one logit for each of the 4 classes", err);
        Assert.False(File.Exists(temp["wrong.safetensors"]));

        // The class names of the data it is scored on: the first three synthetic signs.
        File.WriteAllLines(temp["classes.txt"], Salient.Data.SyntheticSigns.ClassNames.Take(3));
        (exit, var output, err) = CliRunner.Run("import", "--from", Archive, "--classes", temp["classes.txt"], "--mean", "0.5,0.4,0.3", "--std", "0.25,0.2,0.3", "--out", temp["cnn.safetensors"]);
        Assert.True(exit == 0, err);
        Assert.Contains("TorchScript model", output);
        Assert.Contains("3 classes, 1459 parameters", output);

        Salient.Tests.Data.Fixtures.Image(temp["imgs/a.png"], 32, 32, (x, y) => new Rgb24((byte)(8 * x), (byte)(8 * y), 90));
        (exit, _, err) = CliRunner.Run("explain", "--checkpoint", temp["cnn.safetensors"], "--images", temp["imgs"], "--method", "ig", "--ig-steps", "8", "--out", temp["out"]);
        Assert.True(exit == 0, err);
        Assert.True(new FileInfo(temp["out/a-ig.png"]).Length > 1000);

        // Every metric, the randomisation test included.
        (exit, output, err) = CliRunner.Run("evaluate-explanations", "--checkpoint", temp["cnn.safetensors"],
            "--synthetic-classes", "3", "--synthetic-train", "30", "--synthetic-test", "24", "--limit", "6", "--method", "vg");
        Assert.True(exit == 0, err);
        Assert.DoesNotContain("left out", err);
        foreach (var metric in new[] { "gini", "road", "max-sensitivity", "mprt" }) Assert.Contains(metric, output);

        (exit, _, err) = CliRunner.Run("prune", "--checkpoint", temp["cnn.safetensors"], "--method", "l1", "--out", temp["pruned.safetensors"]);
        Assert.NotEqual(0, exit);
        Assert.Contains("TorchScript model, which Salient can explain, evaluate and score but not prune", err);
    }
}
