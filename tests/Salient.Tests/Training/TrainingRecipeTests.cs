using Salient.Data;
using Salient.Tests.Cli;
using Salient.Training;
using static TorchSharp.torch;

namespace Salient.Tests.Training;

public class TrainingRecipeTests
{
    [Fact]
    public void ThePaperRecipeIsSpecSection3AndVggSgdIsItsOldName()
    {
        var paper = TrainingRecipe.Named("paper");
        Assert.Equal(paper, TrainingRecipe.Named("vgg-sgd"));
        Assert.Equal(new TrainingRecipe(), paper);
        Assert.Equal(("sgd", 0.01, 0.9, 5e-4, 128, 100), (paper.Optimizer, paper.LearningRate, paper.Momentum, paper.WeightDecay, paper.BatchSize, paper.Epochs));
        Assert.Equal(LearningRateSchedule.Constant, paper.Schedule.Shape);
        Assert.Equal(0, paper.Schedule.WarmupEpochs);
        Assert.True(paper.Augmentation.IsIdentity);
        Assert.Equal(0, paper.LabelSmoothing);
        Assert.Equal(new PgdSettings { Epsilon = 0.01, Iterations = 40, RandomStart = true }, paper.Attack);
    }

    [Fact]
    public void TheGtsrbRecipeDiffersFromThePapersOnlyInEpochsRateScheduleAndAugmentation()
    {
        var gtsrb = TrainingRecipe.Named("gtsrb");
        var paper = TrainingRecipe.Paper;
        Assert.Equal(paper, gtsrb with { Epochs = paper.Epochs, LearningRate = paper.LearningRate, Schedule = paper.Schedule, Augmentation = paper.Augmentation });
        Assert.Equal(20, gtsrb.Epochs);
        Assert.Equal(LearningRateSchedule.Cosine, gtsrb.Schedule.Shape);
        Assert.False(gtsrb.Augmentation.IsIdentity);
        gtsrb.Validate();
    }

    [Fact]
    public void UnknownRecipeNamesTheChoices()
    {
        var e = Assert.Throws<SalientException>(() => TrainingRecipe.Named("fast"));
        Assert.Contains("paper, gtsrb, resnet-ranger", e.Message);
    }

    [Fact]
    public void EveryRecipeSurvivesItsJsonUnchanged()
    {
        // A resume compares the checkpoint's recipe, read back from JSON, with the requested one.
        TrainingRecipe[] recipes =
        [
            .. TrainingRecipe.Names.Select(TrainingRecipe.Named),
            TrainingRecipe.Gtsrb with { Strategy = "adversarial", Attack = PgdSettings.FastFgsm(0.02), LabelSmoothing = 0.1, CollapseDrop = 0.3 },
            TrainingRecipe.Paper with { Schedule = new LearningRateSchedule { Shape = LearningRateSchedule.Step, StepEpochs = 3, StepFactor = 0.5, WarmupEpochs = 0.25 } },
        ];
        foreach (var recipe in recipes)
            Assert.Equal(recipe, TrainingRecipe.FromJson(recipe.ToJson()));
    }

    public static TheoryData<string, TrainingRecipe> BadRecipes => new()
    {
        { "--lr", new TrainingRecipe { LearningRate = double.NaN } },
        { "--lr", new TrainingRecipe { LearningRate = -0.01 } },
        { "--lr", new TrainingRecipe { LearningRate = double.PositiveInfinity } },
        { "--momentum", new TrainingRecipe { Momentum = double.NaN } },
        { "--momentum", new TrainingRecipe { Momentum = -0.1 } },
        { "--momentum", new TrainingRecipe { Momentum = 1 } },
        { "--weight-decay", new TrainingRecipe { WeightDecay = double.NaN } },
        { "--weight-decay", new TrainingRecipe { WeightDecay = -5e-4 } },
        { "--optimizer-eps", new TrainingRecipe { Epsilon = double.NaN } },
        { "--label-smoothing", new TrainingRecipe { LabelSmoothing = double.NaN } },
        { "--label-smoothing", new TrainingRecipe { LabelSmoothing = 1 } },
        { "--epsilon", new TrainingRecipe { Attack = new PgdSettings { Epsilon = double.NaN } } },
        { "--epsilon", new TrainingRecipe { Attack = new PgdSettings { Epsilon = -0.01 } } },
        { "--attack-step-size", new TrainingRecipe { Attack = new PgdSettings { StepSize = double.NaN } } },
        { "--attack-step-size", new TrainingRecipe { Attack = new PgdSettings { StepSize = -0.001 } } },
        { "--warmup-epochs", new TrainingRecipe { Schedule = new LearningRateSchedule { WarmupEpochs = double.NaN } } },
        { "--augment-rotate", new TrainingRecipe { Augmentation = new AugmentationSettings { RotateDegrees = double.NaN } } },
        { "--robust-check-steps", new TrainingRecipe { RobustCheckIterations = 0 } },
        { "--robust-test-images", new TrainingRecipe { RobustTestImages = -1 } },
        { "--collapse-drop", new TrainingRecipe { CollapseDrop = 0 } },
        { "--collapse-drop", new TrainingRecipe { CollapseDrop = double.NaN } },
    };

    [Theory]
    [MemberData(nameof(BadRecipes))]
    public void EveryBadSettingIsOneSentenceNamingItsOption(string option, TrainingRecipe recipe)
    {
        var e = Assert.Throws<SalientException>(recipe.Validate);
        Assert.Contains(option, e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void TheTrainerRefusesABadRecipeBeforeTouchingTheCheckpoint()
    {
        using var temp = new TempFolder();
        using var data = DataSource.Open(new DataSettings { SyntheticClasses = 2, SyntheticTrainImages = 4, SyntheticTestImages = 2 });
        using var model = ModelFactoryTiny(2);
        var e = Assert.Throws<SalientException>(() => new Trainer(new TrainingRecipe { Momentum = double.NaN }).Train(model, data, temp["m.safetensors"]));
        Assert.Contains("Momentum", e.Message);
        Assert.False(File.Exists(temp["m.safetensors"]));
    }

    private static Salient.Models.SalientModel ModelFactoryTiny(int classes) =>
        Salient.Models.ModelFactory.Create(new Salient.Models.ModelSpec { Width = 0.0625, NumClasses = classes });

    [Fact]
    public void LabelSmoothingMixesTheTrueClassLossWithTheMeanOverAllClasses()
    {
        using var logits = tensor(new float[] { 2f, 0f, -1f, 0.5f, 0.5f, 3f }, [2, 3]);
        using var labels = tensor(new long[] { 0, 1 });
        const double s = 0.2;
        // Row 1: log-softmax of (2, 0, −1); row 2: of (0.5, 0.5, 3).
        double[][] rows = [[2, 0, -1], [0.5, 0.5, 3]];
        double smoothed = 0, plain = 0;
        for (int n = 0; n < 2; n++)
        {
            double logZ = Math.Log(rows[n].Sum(Math.Exp));
            var logp = rows[n].Select(v => v - logZ).ToArray();
            double trueClass = -logp[n == 0 ? 0 : 1];
            smoothed += ((1 - s) * trueClass + s * -logp.Average()) / 2;
            plain += trueClass / 2;
        }
        using var loss = (TrainingRecipe.Paper with { LabelSmoothing = s }).Loss(logits, labels);
        Assert.Equal(smoothed, loss.item<float>(), 5);
        using var paperLoss = TrainingRecipe.Paper.Loss(logits, labels);
        Assert.Equal(plain, paperLoss.item<float>(), 5);
    }
}

[Collection("Console")]
public class TrainCommandValidationTests
{
    [Theory]
    [InlineData("--lr", "NaN", "learning rate")]
    [InlineData("--momentum", "-0.5", "Momentum")]
    [InlineData("--weight-decay", "NaN", "Weight decay")]
    [InlineData("--epsilon", "NaN", "epsilon")]
    [InlineData("--attack-step-size", "NaN", "step size")]
    [InlineData("--warmup-epochs", "-1", "Warm-up")]
    [InlineData("--augment-translate", "NaN", "translate")]
    [InlineData("--collapse-drop", "0", "collapse drop")]
    public void ABadSettingStopsBeforeTheDataIsRead(string option, string value, string named)
    {
        // The data folder does not exist: an error about the setting proves it came before any loading.
        var (exit, output, err) = CliRunner.Run("train", "--data", "/no/such/folder", "--strategy", "adversarial", option, value, "--out", "/no/such/m.safetensors");
        Assert.Equal(2, exit);
        Assert.Contains(named, err);
        Assert.DoesNotContain("/no/such/folder", err);
        Assert.Equal(1, err.Trim().Split('\n').Count(l => l.StartsWith("error:")));
        Assert.DoesNotContain("   at ", err + output);
    }

    [Fact]
    public void ABadPruningAmountStopsBeforeTheDataIsRead()
    {
        var (exit, _, err) = CliRunner.Run("train", "--data", "/no/such/folder", "--prune", "l1", "--prune-amount", "NaN", "--out", "/no/such/m.safetensors");
        Assert.Equal(2, exit);
        Assert.Contains("Amount", err);
        Assert.DoesNotContain("/no/such/folder", err);
    }

    [Fact]
    public void EvaluateChecksItsAttackBeforeReadingTheCheckpoint()
    {
        var (exit, _, err) = CliRunner.Run("evaluate", "--checkpoint", "/no/such/m.safetensors", "--robust", "--epsilon", "NaN");
        Assert.Equal(2, exit);
        Assert.Contains("epsilon", err);
        Assert.DoesNotContain("/no/such/m.safetensors", err);
    }

    [Fact]
    public void FastFgsmTakesOneStep()
    {
        var (exit, _, err) = CliRunner.Run("train", "--strategy", "adversarial", "--attack", "fgsm-rs", "--attack-steps", "7", "--out", "/no/such/m.safetensors");
        Assert.Equal(2, exit);
        Assert.Contains("fgsm-rs takes one step", err);
    }
}
