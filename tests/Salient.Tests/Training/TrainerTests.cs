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
        using var resumed = TinyModel(data);
        var state = new Trainer(recipe).Train(resumed, data, temp["part.safetensors"], resume: true);
        Assert.Equal(2, state.History.Count);
        Assert.Equal(full.History[0].Loss, state.History[0].Loss);

        var a = straight.state_dict();
        var b = resumed.state_dict();
        foreach (var (key, t) in a)
            Assert.True(t.equal(b[key]).all().item<bool>(), $"{key} differs after resume");
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

    [Theory]
    [InlineData("sgd", "adversarial")]
    [InlineData("ranger", "natural")]
    public void EveryOptimizerAndStrategyResumesExactly(string optimizer, string strategy)
    {
        using var temp = new TempFolder();
        using var data = TinySynthetic();
        var recipe = new TrainingRecipe
        {
            Epochs = 2, BatchSize = 16, Seed = 4, Optimizer = optimizer, Strategy = strategy, LearningRate = optimizer == "ranger" ? 1e-3 : 0.01,
            Attack = new PgdSettings { Epsilon = 0.03, Iterations = 3 }, RobustTestImages = 6,
        };
        using var straight = TinyModel(data);
        var full = new Trainer(recipe).Train(straight, data, temp["full.safetensors"]);
        using var first = TinyModel(data);
        new Trainer(recipe with { Epochs = 1 }).Train(first, data, temp["part.safetensors"]);
        using var resumed = TinyModel(data);
        var state = new Trainer(recipe).Train(resumed, data, temp["part.safetensors"], resume: true);

        Assert.Equal(full.History.Select(h => h.Loss), state.History.Select(h => h.Loss));
        if (strategy == "adversarial")
        {
            Assert.All(state.History, h => Assert.InRange(h.RobustTestAccuracy!.Value, 0, 1));
            Assert.All(state.History, h => Assert.True(h.AttackSeconds > 0));
        }
        else Assert.All(state.History, h => Assert.Null(h.RobustTestAccuracy));
        var b = resumed.state_dict();
        foreach (var (key, t) in straight.state_dict())
            Assert.True(t.equal(b[key]).all().item<bool>(), $"{key} differs after resume");
    }
}
