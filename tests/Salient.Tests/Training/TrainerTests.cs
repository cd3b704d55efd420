using Salient.Data;
using Salient.Models;
using Salient.Training;
using static TorchSharp.torch;

namespace Salient.Tests.Training;

public class TrainerTests
{
    private static DataSplit TinySynthetic() => DataSource.Open(new DataSettings { SyntheticClasses = 3, SyntheticTrainImages = 48, SyntheticTestImages = 12 });

    private static SalientModel TinyModel(DataSplit data)
    {
        random.manual_seed(5);
        return ModelFactory.Create(new ModelSpec { Width = 0.0625, NumClasses = data.ClassNames.Count });
    }

    [Fact]
    public void SgdFollowsPyTorchsMomentumAndWeightDecayRule()
    {
        var w = new TorchSharp.Modules.Parameter(tensor(new float[] { 1f, -2f }));
        using var sgd = new Sgd([("w", w)], learningRate: 0.1, momentum: 0.9, weightDecay: 0.01);
        // Loss Σ w² has gradient 2w. Step 1: d = 2w + 0.01w, b = d; step 2: b = 0.9b + d.
        double[] expected = [1, -2];
        double[] buffer = [0, 0];
        for (int step = 0; step < 2; step++)
        {
            sgd.ZeroGrad();
            (w * w).sum().backward();
            sgd.Step();
            for (int i = 0; i < 2; i++)
            {
                double d = 2 * expected[i] + 0.01 * expected[i];
                buffer[i] = step == 0 ? d : 0.9 * buffer[i] + d;
                expected[i] -= 0.1 * buffer[i];
            }
        }
        var actual = w.data<float>().ToArray();
        Assert.Equal(expected[0], actual[0], 5);
        Assert.Equal(expected[1], actual[1], 5);
    }

    /// <summary>
    /// Weights no seed of the tests gives: a resume that ignored the checkpoint and trained these
    /// from scratch could not reach the straight run's weights.
    /// </summary>
    private static SalientModel UnrelatedModel(DataSplit data)
    {
        var model = TinyModel(data);
        using var noGrad = no_grad();
        foreach (var p in model.parameters()) p.mul_(-0.5).add_(0.01);
        return model;
    }

    private static void AssertSameWeights(SalientModel expected, SalientModel actual, string what)
    {
        var b = actual.state_dict();
        foreach (var (key, t) in expected.state_dict())
            Assert.True(t.equal(b[key]).all().item<bool>(), $"{key} differs {what}");
    }

    [Fact]
    public void ResumingFromAnEpochCheckpointGivesTheSameWeightsAsOneRun()
    {
        using var temp = new TempFolder();
        using var data = TinySynthetic();
        var recipe = new TrainingRecipe { Epochs = 2, BatchSize = 16, Seed = 3 };

        using var straight = TinyModel(data);
        var full = new Trainer(recipe).Train(straight, data, temp["full.safetensors"]);
        Assert.Equal(2, full.History.Count);

        using var first = TinyModel(data);
        new Trainer(recipe with { Epochs = 1 }).Train(first, data, temp["part.safetensors"]);
        using var resumed = UnrelatedModel(data);
        var ran = new List<int>();
        var reports = new List<TrainingProgress>();
        var state = new Trainer(recipe).Train(resumed, data, temp["part.safetensors"], resume: true, new SyncProgress<TrainingProgress>(reports.Add), r => ran.Add(r.Epoch));
        Assert.Equal([2], ran);
        // The first report says where the run resumes (batch 0 of epoch 2), before any batch of it.
        Assert.Equal((2, 0, true), (reports[0].Epoch, reports[0].Batch, reports[0].IsResume));
        Assert.DoesNotContain(reports.Skip(1), p => p.IsResume);
        Assert.Equal(2, state.History.Count);
        Assert.Equal(full.History[0].Loss, state.History[0].Loss);
        AssertSameWeights(straight, resumed, "after resume");

        // A finished run resumes to nothing, and hands back the checkpoint's weights.
        using var again = UnrelatedModel(data);
        ran.Clear();
        new Trainer(recipe).Train(again, data, temp["part.safetensors"], resume: true, epochDone: r => ran.Add(r.Epoch));
        Assert.Empty(ran);
        AssertSameWeights(straight, again, "after resuming a finished run");
    }

    [Fact]
    public void ResumingWithOtherSettingsIsRefused()
    {
        using var temp = new TempFolder();
        using var data = TinySynthetic();
        using var model = TinyModel(data);
        new Trainer(new TrainingRecipe { Epochs = 1, BatchSize = 16 }).Train(model, data, temp["m.safetensors"]);
        var e = Assert.Throws<SalientException>(() =>
            new Trainer(new TrainingRecipe { Epochs = 2, BatchSize = 16, LearningRate = 0.5 }).Train(model, data, temp["m.safetensors"], resume: true));
        Assert.Contains("m.safetensors", e.Message);
        Assert.Contains("same settings", e.Message);
    }

    [Fact]
    public void TrainingLowersTheLossOnAnEasyProblem()
    {
        using var temp = new TempFolder();
        using var data = TinySynthetic();
        random.manual_seed(2);
        // BatchNorm makes a tiny ResNet learn within a few steps, where VGG without it needs epochs.
        using var model = ModelFactory.Create(new ModelSpec { Architecture = "resnet18", Stem = "cifar", Width = 0.125, NumClasses = 3 });
        var state = new Trainer(new TrainingRecipe { Epochs = 3, BatchSize = 8, LearningRate = 0.05 }).Train(model, data, temp["m.safetensors"]);
        Assert.True(state.History[^1].Loss < state.History[0].Loss, $"loss {state.History[0].Loss} → {state.History[^1].Loss}");
    }

    /// <summary>Recipes that exercise every part of the state a resume must restore.</summary>
    private static TrainingRecipe ResumeCase(string name) => name switch
    {
        "sgd-pgd" => new TrainingRecipe { Strategy = "adversarial", Attack = new PgdSettings { Epsilon = 0.03, Iterations = 3 }, RobustTestImages = 6, RobustCheckIterations = 2 },
        "sgd-fgsm-rs" => new TrainingRecipe { Strategy = "adversarial", Attack = PgdSettings.FastFgsm(0.03), RobustTestImages = 6, RobustCheckIterations = 2, CollapseDrop = 1 },
        "ranger" => new TrainingRecipe { Optimizer = "ranger", LearningRate = 1e-3 },
        // Mid-warm-up at the cut, augmentation draws and label smoothing: the gtsrb recipe's parts.
        "gtsrb" => TrainingRecipe.Gtsrb with { Schedule = TrainingRecipe.Gtsrb.Schedule with { WarmupEpochs = 2.5 }, LabelSmoothing = 0.1 },
        _ => throw new ArgumentException(name),
    };

    [Theory]
    [InlineData("sgd-pgd")]
    [InlineData("sgd-fgsm-rs")]
    [InlineData("ranger")]
    [InlineData("gtsrb")]
    public void EveryOptimizerStrategyAndScheduleResumesExactly(string name)
    {
        using var temp = new TempFolder();
        using var data = TinySynthetic();
        var recipe = ResumeCase(name) with { Epochs = 3, BatchSize = 16, Seed = 4 };
        using var straight = TinyModel(data);
        var full = new Trainer(recipe).Train(straight, data, temp["full.safetensors"]);
        using var first = TinyModel(data);
        // Stop the run after its second epoch, as Ctrl+C or a session's end would.
        Assert.Throws<OperationCanceledException>(() => new Trainer(recipe).Train(first, data, temp["part.safetensors"],
            epochDone: r => { if (r.Epoch == 2) throw new OperationCanceledException(); }));
        using var resumed = UnrelatedModel(data);
        var ran = new List<int>();
        var state = new Trainer(recipe).Train(resumed, data, temp["part.safetensors"], resume: true, epochDone: r => ran.Add(r.Epoch));

        Assert.Equal([3], ran);
        Assert.Equal(full.History.Select(h => h.Loss), state.History.Select(h => h.Loss));
        Assert.Equal(full.History.Select(h => h.LearningRate), state.History.Select(h => h.LearningRate));
        if (recipe.Strategy == "adversarial")
        {
            Assert.Equal(full.History.Select(h => h.RobustTestAccuracy), state.History.Select(h => h.RobustTestAccuracy));
            Assert.All(state.History, h => Assert.InRange(h.RobustTestAccuracy!.Value, 0, 1));
            Assert.All(state.History, h => Assert.True(h.AttackSeconds > 0));
        }
        else Assert.All(state.History, h => Assert.Null(h.RobustTestAccuracy));
        AssertSameWeights(straight, resumed, "after resume");
    }
}
