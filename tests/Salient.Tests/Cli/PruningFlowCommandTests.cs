using Salient.Models;
using Salient.Pruning;

namespace Salient.Tests.Cli;

[Collection("Console")]
public class PruningFlowCommandTests
{
    private static readonly string[] Data = ["--synthetic-classes", "2", "--synthetic-train", "16", "--synthetic-test", "8", "--width", "0.0625", "--batch-size", "8"];

    [Fact]
    public void PreTrainAndFineTuneFlowsKeepTheirMasksAndReportSparsity()
    {
        using var temp = new TempFolder();
        var (exit, output, err) = CliRunner.Run(["train", .. Data, "--epochs", "1", "--prune", "l1", "--out", temp["pre.safetensors"]]);
        Assert.True(exit == 0, err);
        Assert.Contains("Weight sparsity: ", output);
        using (var pre = Checkpoint.Load(temp["pre.safetensors"]))
        {
            Assert.InRange(SparsityReport.Measure(pre.Model).Overall, 0.19, 0.20);
            // The metadata shape the study and the prune verb write.
            var record = PruningRecord.From(pre.Metadata)!;
            Assert.Equal((PruningMethod.L1Unstructured, 0.2, PruningRecord.Pre), (record.Settings.Method, record.Settings.Amount, record.Flow));
            Assert.InRange(record.Sparsity, 0.19, 0.20);
        }

        (exit, _, err) = CliRunner.Run(["train", .. Data, "--epochs", "1", "--out", temp["nat.safetensors"]]);
        Assert.True(exit == 0, err);
        (exit, _, err) = CliRunner.Run("prune", "--checkpoint", temp["nat.safetensors"], "--method", "layered", "--out", temp["noft.safetensors"]);
        Assert.True(exit == 0, err);
        (exit, _, err) = CliRunner.Run(["train", "--synthetic-classes", "2", "--synthetic-train", "16", "--synthetic-test", "8", "--batch-size", "8",
            "--epochs", "2", "--init", temp["noft.safetensors"], "--out", temp["ft.safetensors"]]);
        Assert.True(exit == 0, err);
        using var noFineTune = Checkpoint.Load(temp["noft.safetensors"]);
        using var fineTuned = Checkpoint.Load(temp["ft.safetensors"]);
        var before = noFineTune.Model.MaskableLayers().ToDictionary(l => l.Name, l => l.Layer);
        foreach (var (name, layer) in fineTuned.Model.MaskableLayers())
        {
            // Same masks, and the weights they keep have moved: the model was trained with its masks fixed.
            Assert.Equal(before[name].WeightMask is null, layer.WeightMask is null);
            if (layer.WeightMask is { } mask)
            {
                Assert.True(mask.equal(before[name].WeightMask!).all().item<bool>(), name);
                Assert.Equal(0f, (layer.EffectiveWeight() * (1 - mask)).abs().sum().item<float>());
            }
        }
        Assert.False(fineTuned.Model.MaskableLayers().First().Layer.Weight.equal(before["features.0"].Weight).all().item<bool>());
        // The fine-tuned checkpoint keeps the record of its pruning, now as fine-tuned.
        var fineTunedRecord = PruningRecord.From(fineTuned.Metadata)!;
        Assert.Equal((PruningMethod.LayeredStructured, PruningRecord.PostFineTuned), (fineTunedRecord.Settings.Method, fineTunedRecord.Flow));
    }

    [Fact]
    public void TransferLearningKeepsEveryLayerButTheOutputLayer()
    {
        using var temp = new TempFolder();
        var (exit, _, err) = CliRunner.Run(["train", .. Data, "--epochs", "1", "--out", temp["two.safetensors"]]);
        Assert.True(exit == 0, err);
        string[] threeClasses = ["--synthetic-classes", "3", "--synthetic-train", "24", "--synthetic-test", "9", "--batch-size", "8", "--epochs", "1"];
        (exit, _, err) = CliRunner.Run(["train", .. threeClasses, "--init", temp["two.safetensors"], "--out", temp["three.safetensors"]]);
        Assert.Equal(2, exit);
        Assert.Contains("The checkpoint has 2 classes but --data has 3; add --new-output-layer", err);
        Assert.False(File.Exists(temp["three.safetensors"]));
        (exit, _, err) = CliRunner.Run(["train", .. threeClasses, "--new-output-layer", "--out", temp["three.safetensors"]]);
        Assert.Equal(2, exit);
        Assert.Contains("give --init FILE", err);
        (exit, _, err) = CliRunner.Run(["train", .. threeClasses, "--image-size", "64", "--init", temp["two.safetensors"], "--new-output-layer", "--out", temp["three.safetensors"]]);
        Assert.Equal(2, exit);
        Assert.Contains("is a vgg16 for 32×32 images but --data gives 64×64; pass --image-size 32", err);

        (exit, var output, err) = CliRunner.Run(["train", .. threeClasses, "--init", temp["two.safetensors"], "--new-output-layer", "--out", temp["three.safetensors"]]);
        Assert.True(exit == 0, err);
        Assert.Contains("Done: 1 epochs", output);
        using var three = Checkpoint.Load(temp["three.safetensors"]);
        Assert.Equal(3, three.ClassNames.Count);
        Assert.Equal(3L, three.Model.state_dict()["classifier.6.weight"].shape[0]);
    }
}
