using Salient.Models;
using Salient.Tests.Cli;
using static Salient.Tests.Interop.GoldenFiles;
using static TorchSharp.torch;

namespace Salient.Tests.Interop;

/// <summary>The import verb on files torch.save wrote (the golden fixtures), end to end: the checkpoint it writes is what the other verbs load.</summary>
[Collection("Console")]
public class ImportCommandTests
{
    private static (int Exit, string Out, string Err) Import(string name, string output, params string[] extra) =>
        CliRunner.Run(["import", "--from", ModelPath(name), "--out", output, .. extra]);

    [Fact]
    public void TheImportedCheckpointOfAPrunedPyTorchModelGivesPyTorchsLogits()
    {
        using var folder = new TempFolder();
        var output = folder["l1.safetensors"];

        var (exit, stdout, stderr) = Import($"{Plain}-l1", output, "--arch", "vgg16", "--classes", "43");

        Assert.True(exit == 0, stderr);
        Assert.Contains("vgg16, width 0.125, input 32×32, 43 classes, 16 pruned layer(s)", stdout);
        Assert.DoesNotContain("warning", stderr);
        using var ckpt = Checkpoint.Load(output);
        var model = ckpt.Model;
        Assert.Equal(16, model.MaskableLayers().Count(l => l.Layer.WeightMask is not null));
        model.eval();
        using var noGrad = no_grad();
        using var logits = model.forward(Images);
        var want = Reference($"{Plain}-l1/logits");
        using var difference = (logits - want).abs().max();
        using var largest = want.abs().max();
        Assert.True(difference.item<float>() <= 1e-5 * largest.item<float>(), $"logits differ from PyTorch's by {difference.item<float>()}");
    }

    [Fact]
    public void BatchNormIsRecognisedFromTheKeys()
    {
        using var folder = new TempFolder();
        var (exit, stdout, stderr) = Import(BatchNorm, folder["bn.safetensors"], "--arch", "vgg16", "--classes", "43");

        Assert.True(exit == 0, stderr);
        Assert.Contains("vgg16 with BatchNorm, width 0.125", stdout);
        using var ckpt = Checkpoint.Load(folder["bn.safetensors"]);
        Assert.True(ckpt.Model.Spec.BatchNorm);
    }

    [Fact]
    public void AFileWithoutNormalisationGetsThePaperConstantsAndTheVerbSaysSo()
    {
        using var folder = new TempFolder();
        var output = folder["plain.safetensors"];

        var (exit, _, stderr) = Import(Plain, output, "--arch", "vgg16", "--classes", "43");

        Assert.True(exit == 0, stderr);
        var notes = stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var note = Assert.Single(notes);
        Assert.StartsWith("note: ", note);
        Assert.Contains("records no normalisation", note);
        Assert.Contains("the paper's mean [0.4563, 0.4076, 0.3895] and std [0.2298, 0.2144, 0.2259]", note);
        using var ckpt = Checkpoint.Load(output);
        Assert.Equal(PaperMean, ckpt.Model.Spec.Mean);
        Assert.Equal(PaperStd, ckpt.Model.Spec.Std);
        Assert.Equal(PaperMean, ckpt.Model.Normalization.get_buffer("mean")!.data<float>().ToArray());
    }

    [Fact]
    public void MeanAndStdOptionsSetTheNormalisationAndSilenceTheNote()
    {
        using var folder = new TempFolder();
        var output = folder["plain.safetensors"];

        var (exit, stdout, stderr) = Import(Plain, output, "--arch", "vgg16", "--classes", "43", "--mean", "0.5,0.5,0.5", "--std", "0.25,0.25,0.25");

        Assert.True(exit == 0, stderr);
        Assert.Equal("", stderr);
        Assert.Contains("mean [0.5, 0.5, 0.5], std [0.25, 0.25, 0.25]", stdout);
        using var ckpt = Checkpoint.Load(output);
        Assert.Equal([0.5f, 0.5f, 0.5f], ckpt.Model.Spec.Mean);
        Assert.Equal([0.25f, 0.25f, 0.25f], ckpt.Model.Normalization.get_buffer("std")!.data<float>().ToArray());
    }

    [Fact]
    public void OnlyTheMissingHalfOfTheNormalisationIsThePapersAndTheNoteSaysWhich()
    {
        using var folder = new TempFolder();
        var output = folder["plain.safetensors"];

        var (exit, _, stderr) = Import(Plain, output, "--arch", "vgg16", "--classes", "43", "--mean", "0.5,0.5,0.5");

        Assert.True(exit == 0, stderr);
        Assert.Contains("the paper's std [0.2298, 0.2144, 0.2259];", stderr);
        Assert.DoesNotContain("paper's mean", stderr);
        using var ckpt = Checkpoint.Load(output);
        Assert.Equal([0.5f, 0.5f, 0.5f], ckpt.Model.Spec.Mean);
        Assert.Equal(PaperStd, ckpt.Model.Spec.Std);
    }

    [Fact]
    public void ClassNamesComeFromAFileWithOneNamePerLine()
    {
        using var folder = new TempFolder();
        var names = Enumerable.Range(0, Classes).Select(i => $"sign {i} ").ToList();
        names.Insert(5, "");
        File.WriteAllLines(folder["names.txt"], names);
        var output = folder["imported.safetensors"];

        var (exit, _, stderr) = Import(Plain, output, "--arch", "vgg16", "--classes", folder["names.txt"]);

        Assert.True(exit == 0, stderr);
        using var ckpt = Checkpoint.Load(output);
        Assert.Equal(Enumerable.Range(0, Classes).Select(i => $"sign {i}"), ckpt.ClassNames);
    }

    [Fact]
    public void AClassCountOtherThanTheFilesIsAnErrorNamingTheOutputLayer()
    {
        using var folder = new TempFolder();
        var output = folder["imported.safetensors"];

        var (exit, _, stderr) = Import(Plain, output, "--arch", "vgg16", "--classes", "5");

        Assert.Equal(Salient.Cli.CommandRunner.UserError, exit);
        Assert.Contains("'classifier.6.weight' has shape [43,64] but the model expects [5,64]", stderr);
        Assert.False(File.Exists(output));
    }

    [Theory]
    [InlineData("--arch", "--classes", "43")]
    [InlineData("--classes", "--arch", "vgg16")]
    public void APyTorchFileThatDoesNotRecordItNeedsTheOption(string missing, string given, string value)
    {
        using var folder = new TempFolder();
        var output = folder["imported.safetensors"];

        var (exit, _, stderr) = Import(Plain, output, given, value);

        Assert.Equal(Salient.Cli.CommandRunner.UserError, exit);
        Assert.Contains($"does not record its", stderr);
        Assert.Contains($"give {missing}", stderr);
        Assert.False(File.Exists(output));
    }
}
