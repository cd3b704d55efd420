using System.Text.Json;
using Salient.Models;
using Salient.Tests.Cli;
using static TorchSharp.torch;

namespace Salient.Tests.Interop;

/// <summary>
/// The fixture is a torch.save-format file of a width-0.0625 VGG-16 written by
/// fixtures/make_fixture.py with Python's standard library (no PyTorch was available), and its
/// expected logits come from that script's own pure-Python forward pass.
/// </summary>
[Collection("Console")]
public class PyTorchFixtureTests
{
    private static string FixturePath(string name) => Path.Combine(AppContext.BaseDirectory, "Interop", "fixtures", name);

    [Fact]
    public void ImportedPyTorchVggReproducesTheIndependentlyComputedLogits()
    {
        using var folder = new TempFolder();
        var output = folder["imported.safetensors"];
        using var expected = JsonDocument.Parse(File.ReadAllText(FixturePath("vgg16_w0.0625_expected.json")));
        var root = expected.RootElement;

        var (exit, stdout, stderr) = CliRunner.Run("import", "--from", FixturePath("vgg16_w0.0625.pth"), "--arch", "vgg16",
            "--classes", "3", "--out", output, "--mean", "0.5,0.5,0.5", "--std", "0.25,0.25,0.25");

        Assert.True(exit == 0, stderr);
        Assert.DoesNotContain("warning", stderr);
        Assert.Contains("2 pruned layer(s)", stdout);
        using var ckpt = Checkpoint.Load(output);
        var model = ckpt.Model;
        Assert.Equal(0.0625, model.Spec.Width);
        Assert.Equal(32, model.Spec.InputSize);
        Assert.Equal(["0", "1", "2"], ckpt.ClassNames);
        var masked = model.MaskableLayers().Where(l => l.Layer.WeightMask is not null).Select(l => l.Name).ToList();
        Assert.Equal(["features.0", "classifier.1"], masked);
        // make_fixture.py prunes index i when (7i + seed) % 3 == 0: 36 of features.0's 108 weights.
        Assert.Equal(36, (int)(model.MaskableLayers().First().Layer.WeightMask!.numel() - model.MaskableLayers().First().Layer.WeightMask!.sum().item<float>()));

        var pixels = root.GetProperty("input").EnumerateArray().Select(e => (float)e.GetDouble()).ToArray();
        var want = root.GetProperty("logits").EnumerateArray().Select(e => e.GetDouble()).ToArray();
        model.eval();
        using var input = tensor(pixels).reshape(1, 3, 32, 32);
        using var logits = model.forward(input);
        var got = logits.data<float>().ToArray();
        Assert.Equal(want.Length, got.Length);
        for (int i = 0; i < want.Length; i++)
            Assert.True(Math.Abs(want[i] - got[i]) < 1e-4, $"logit {i}: PyTorch-independent {want[i]}, Salient {got[i]}");
    }

    [Fact]
    public void ImportWithoutNormalisationOptionsUsesThePaperConstants()
    {
        using var folder = new TempFolder();
        var output = folder["imported.safetensors"];
        var (exit, _, stderr) = CliRunner.Run("import", "--from", FixturePath("vgg16_w0.0625.pth"), "--arch", "vgg16", "--classes", "3", "--out", output);

        Assert.True(exit == 0, stderr);
        using var ckpt = Checkpoint.Load(output);
        var defaults = new ModelSpec();
        Assert.Equal(defaults.Mean, ckpt.Model.Spec.Mean);
        Assert.Equal(defaults.Std, ckpt.Model.Spec.Std);
        Assert.Equal(defaults.Mean, ckpt.Model.Normalization.get_buffer("mean")!.data<float>().ToArray());
    }

    [Fact]
    public void ClassNamesComeFromAFileWithOneNamePerLine()
    {
        using var folder = new TempFolder();
        File.WriteAllLines(folder["names.txt"], ["stop", "", "yield ", "priority road"]);
        var output = folder["imported.safetensors"];

        var (exit, _, stderr) = CliRunner.Run("import", "--from", FixturePath("vgg16_w0.0625.pth"), "--arch", "vgg16",
            "--classes", folder["names.txt"], "--out", output);

        Assert.True(exit == 0, stderr);
        using var ckpt = Checkpoint.Load(output);
        Assert.Equal(["stop", "yield", "priority road"], ckpt.ClassNames);
    }

    [Fact]
    public void AClassCountOtherThanTheFilesIsAnErrorNamingTheOutputLayer()
    {
        using var folder = new TempFolder();
        var output = folder["imported.safetensors"];

        var (exit, _, stderr) = CliRunner.Run("import", "--from", FixturePath("vgg16_w0.0625.pth"), "--arch", "vgg16", "--classes", "5", "--out", output);

        Assert.Equal(Salient.Cli.CommandRunner.UserError, exit);
        Assert.Contains("'classifier.6.weight' has shape [3,32] but the model expects [5,32]", stderr);
        Assert.False(File.Exists(output));
    }
}
