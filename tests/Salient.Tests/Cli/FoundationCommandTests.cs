using Salient.Models;

namespace Salient.Tests.Cli;

[Collection("Console")]
public class FoundationCommandTests
{
    [Fact]
    public void SynthTrainEvaluateWorkAsTheReadmeShows()
    {
        using var temp = new TempFolder();
        var (exit, output, err) = CliRunner.Run("data", "synth", "--out", temp["signs"], "--count", "40", "--classes", "4", "--seed", "2");
        Assert.True(exit == 0, err);
        Assert.Contains("Wrote 40 synthetic signs of 4 classes", output);

        (exit, output, err) = CliRunner.Run("train", "--data", temp["signs"], "--width", "0.0625", "--epochs", "1", "--batch-size", "8", "--out", temp["m.safetensors"]);
        Assert.True(exit == 0, err);
        Assert.Contains("Done: 1 epochs", output);
        using (var ckpt = Checkpoint.Load(temp["m.safetensors"]))
            Assert.Equal(43, ckpt.ClassNames.Count); // a GTSRB-layout folder keeps GTSRB's 43 classes

        (exit, output, err) = CliRunner.Run("evaluate", "--checkpoint", temp["m.safetensors"], "--data", temp["signs"], "--out", temp["eval"]);
        Assert.True(exit == 0, err);
        Assert.Contains("Accuracy:", output);
        var confusion = File.ReadAllLines(temp["eval/confusion.csv"]);
        Assert.Equal(44, confusion.Length);
        Assert.StartsWith("true\\predicted,Speed limit (20km/h)", confusion[0]);
        var perClass = File.ReadAllLines(temp["eval/per-class.csv"]);
        Assert.Equal(1 + 43 + 1, perClass.Length);
        Assert.StartsWith("all,all,", perClass[^1]);
    }

    [Fact]
    public void RangerOverTheSgdRecipeTakesThePapersEpsilonUnlessOneIsGiven()
    {
        using var temp = new TempFolder();
        string[] tiny = ["train", "--synthetic-classes", "2", "--synthetic-train", "8", "--synthetic-test", "4", "--width", "0.0625", "--batch-size", "4", "--epochs", "1", "--optimizer", "ranger"];
        double Epsilon(string file)
        {
            using var ckpt = Checkpoint.Load(temp[file]);
            return Salient.Training.TrainingState.From(ckpt.Metadata)!.Recipe.Epsilon;
        }
        var (exit, _, err) = CliRunner.Run([.. tiny, "--out", temp["a.safetensors"]]);
        Assert.True(exit == 0, err);
        Assert.Equal(1e-6, Epsilon("a.safetensors"));
        (exit, _, err) = CliRunner.Run([.. tiny, "--optimizer-eps", "1e-5", "--out", temp["b.safetensors"]]);
        Assert.True(exit == 0, err);
        Assert.Equal(1e-5, Epsilon("b.safetensors"));
    }

    [Fact]
    public void TrainingOverAnExistingCheckpointWithoutResumeIsRefused()
    {
        using var temp = new TempFolder();
        File.WriteAllText(temp["m.safetensors"], "x");
        var (exit, _, err) = CliRunner.Run("train", "--synthetic-classes", "2", "--synthetic-train", "4", "--synthetic-test", "2", "--out", temp["m.safetensors"]);
        Assert.Equal(2, exit);
        Assert.Contains("already exists; pass --resume", err);
        Assert.Equal("x", File.ReadAllText(temp["m.safetensors"]));
    }

    [Fact]
    public void BadDataFolderIsOneSentence()
    {
        var (exit, output, err) = CliRunner.Run("data", "info", "--data", "/no/such/folder");
        Assert.Equal(2, exit);
        Assert.Equal(1, err.Trim().Split('\n').Count(l => l.StartsWith("error:")));
        Assert.Contains("'/no/such/folder' does not exist", err);
        Assert.DoesNotContain("   at ", err + output);
    }

    [Fact]
    public void EveryVerbHasHelp()
    {
        foreach (var verb in new[] { new[] { "data", "synth" }, ["train"], ["evaluate"] })
        {
            var (exit, output, _) = CliRunner.Run([.. verb, "--help"]);
            Assert.Equal(0, exit);
            Assert.Contains("Usage:", output);
        }
    }
}
