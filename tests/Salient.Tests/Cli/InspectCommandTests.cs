using Salient.Models;
using Salient.Pruning;
using Salient.Training;
using Salient.Data;
using static TorchSharp.torch;

namespace Salient.Tests.Cli;

[Collection("Console")]
public class InspectCommandTests
{
    /// <summary>The verb's table as running text: cell borders gone and wrapped lines joined.</summary>
    private static (int Exit, string Out, string Err) Inspect(string checkpoint)
    {
        var (exit, output, err) = CliRunner.Run("inspect", "--checkpoint", checkpoint);
        return (exit, System.Text.RegularExpressions.Regex.Replace(output.Replace("│", " "), @"\s+", " "), err);
    }

    [Fact]
    public void InspectSaysHowACheckpointWasTrainedAndPrunedAndWhereTrainingResumes()
    {
        using var temp = new TempFolder();
        using var data = DataSource.Open(new DataSettings { SyntheticClasses = 3, SyntheticTrainImages = 48, SyntheticTestImages = 12 });
        random.manual_seed(1);
        using var model = ModelFactory.Create(new ModelSpec { Width = 0.0625, NumClasses = 3 });
        // A run of two epochs stopped after the first, as a killed training leaves its checkpoint.
        var recipe = new TrainingRecipe { Epochs = 2, BatchSize = 16, Seed = 3 };
        Assert.Throws<OperationCanceledException>(() => { new Trainer(recipe).Train(model, data, temp["m.safetensors"], epochDone: _ => throw new OperationCanceledException()); });

        var (exit, output, err) = Inspect(temp["m.safetensors"]);
        Assert.True(exit == 0, err);
        Assert.Contains($"{data.ClassNames.Count}: {data.ClassNames[0]}", output);
        Assert.Contains("natural, sgd lr 0.01, batch 16, 1 of 2 epochs", output);
        Assert.Contains("continues with epoch 2", output);
        Assert.DoesNotContain("pruning", output);

        // Pruned afterwards: the record says how, and the share of zero weights is measured.
        var settings = PruningSettings.Paper(PruningMethod.GlobalUnstructured);
        var sparsity = Pruner.Prune(model, settings);
        Checkpoint.Save(temp["p.safetensors"], model, data.ClassNames,
            new Dictionary<string, string> { [PruningRecord.MetadataKey] = new PruningRecord(settings, PruningRecord.PostNotFineTuned, sparsity.Overall).ToJson() });
        (exit, output, err) = Inspect(temp["p.safetensors"]);
        Assert.True(exit == 0, err);
        Assert.Contains("GlobalUnstructured, Post-noFT", output);
        Assert.Contains($"{sparsity.Overall:P1} of the convolution and linear weights are zero", output);
        Assert.Contains("none recorded", output);

        (exit, _, err) = Inspect(temp["missing.safetensors"]);
        Assert.Equal(2, exit);
        Assert.Contains("does not exist", err);
    }
}
