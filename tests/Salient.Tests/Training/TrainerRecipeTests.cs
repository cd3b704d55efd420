using Salient.Data;
using Salient.Models;
using Salient.Training;
using static TorchSharp.torch;

namespace Salient.Tests.Training;

/// <summary>That the trainer does what the recipe's settings say: schedule, augmentation, loss, attack, collapse guard.</summary>
public class TrainerRecipeTests
{
    private static SignDataset Stripes(int count, int seed)
    {
        var (pixels, labels) = TinyProblem.Data(count, seed);
        using (labels)
            return new SignDataset(pixels, labels.data<long>().ToArray(), ["horizontal", "vertical"], Enumerable.Range(0, count).Select(i => $"stripes:{seed}:{i}").ToArray());
    }

    private static DataSplit StripesSplit(int train = 16, int test = 8) => new(Stripes(train, 21), Stripes(test, 22), "stripes");

    private static Dictionary<string, Tensor> Copy(SalientModel model) =>
        model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.detach().clone());

    private static bool Same(Dictionary<string, Tensor> a, SalientModel model) =>
        model.state_dict().All(kv => kv.Value.equal(a[kv.Key]).all().item<bool>());

    [Fact]
    public void TheRecordedLossIsTheRecipesLossOnTheAugmentedBatch()
    {
        using var temp = new TempFolder();
        using var data = StripesSplit();
        var recipe = new TrainingRecipe
        {
            Epochs = 1, BatchSize = 16, Seed = 7, LabelSmoothing = 0.3,
            Augmentation = new AugmentationSettings { Translate = 0.2, RotateDegrees = 30, Scale = 0.2, Brightness = 0.4, Contrast = 0.4 },
        };
        // Without dropout the first (and only) batch's loss is a function of the initial weights alone.
        using var model = new TinyNet(seed: 3);
        double expected, withoutAugmentation;
        using (no_grad())
        {
            var order = new Batcher(16, 16, SeededRandom.Derive(recipe.Seed, "batches")).Epoch(0).Single();
            using var idx = tensor(order);
            using var x = data.Train.Images.index_select(0, idx);
            using var y = data.Train.LabelTensor().index_select(0, idx);
            using var augmented = Augmentation.Apply(x, recipe.Augmentation, SeededRandom.Derive(recipe.Seed, "augment-0-0"));
            Assert.False(augmented.allclose(x, rtol: 0, atol: 1e-3));
            expected = recipe.Loss(model.forward(augmented), y).item<float>();
            withoutAugmentation = recipe.Loss(model.forward(x), y).item<float>();
        }
        var state = new Trainer(recipe).Train(model, data, temp["m.safetensors"]);
        Assert.Equal(expected, state.History[0].Loss, 5);
        Assert.NotEqual(withoutAugmentation, state.History[0].Loss, 3);
    }

    [Fact]
    public void TheOptimizerFollowsTheSchedule()
    {
        using var temp = new TempFolder();
        using var data = StripesSplit();
        // A step to factor 0 after the first epoch: the second epoch must leave every weight where it was.
        var recipe = new TrainingRecipe
        {
            Epochs = 2, BatchSize = 8, Seed = 1, LearningRate = 0.05,
            Schedule = new LearningRateSchedule { Shape = LearningRateSchedule.Step, StepEpochs = 1, StepFactor = 0, WarmupEpochs = 0.5 },
        };
        using var model = new TinyNet(seed: 4);
        var initial = Copy(model);
        Dictionary<string, Tensor>? afterFirst = null;
        var state = new Trainer(recipe).Train(model, data, temp["m.safetensors"], epochDone: r => { if (r.Epoch == 1) afterFirst = Copy(model); });
        Assert.False(Same(initial, model), "the first epoch trains");
        Assert.True(Same(afterFirst!, model), "a rate of 0 changes nothing");
        // Two batches per epoch, warm-up of one: the first epoch's last step runs at the full rate.
        Assert.Equal([0.05, 0.0], state.History.Select(h => h.LearningRate!.Value));
    }

    [Fact]
    public void FastFgsmIsOneStepOfOneAndAQuarterEpsilonFromAUniformStart()
    {
        using var model = TinyProblem.TrainedModel();
        var (pixels, labels) = TinyProblem.Data(12, seed: 8);
        using var _p = pixels;
        using var _l = labels;
        const double eps = 0.1;
        var fgsm = PgdSettings.FastFgsm(eps);
        using var g1 = new Generator(31);
        using var attacked = Pgd.Attack(model, pixels, labels, fgsm, g1);

        // Wong, Rice & Kolter 2020: δ ~ U(−ε, ε), δ ← δ + 1.25ε·sign(∇δ loss), projected to the ball and the pixel range.
        using var g2 = new Generator(31);
        using var lower = (pixels - eps).clamp(0, 1);
        using var upper = (pixels + eps).clamp(0, 1);
        using var start = (pixels + (rand(pixels.shape, generator: g2) * 2 - 1) * eps).clamp(lower, upper).requires_grad_(true);
        model.eval();
        using var loss = nn.functional.cross_entropy(model.forward(start), labels);
        using var grad = autograd.grad([loss], [start])[0];
        using var expected = (start.detach() + grad.sign() * 1.25 * eps).clamp(lower, upper);
        Assert.True(attacked.allclose(expected, rtol: 0, atol: 1e-6));
        Assert.Equal("FGSM-RS (ε = 0.1, α = 0.125)", fgsm.Describe());
        Assert.Equal("PGD-7 (ε = 0.01, α = 0.00357)", PgdSettings.WithIterations(0.01, 7).Describe());
    }

    [Fact]
    public void CheckpointsNameTheTrainingAttackAndTheRobustCheck()
    {
        using var temp = new TempFolder();
        using var data = StripesSplit();
        var recipe = new TrainingRecipe { Epochs = 1, BatchSize = 8, Strategy = "adversarial", Attack = PgdSettings.FastFgsm(0.02), RobustTestImages = 5, RobustCheckIterations = 10 };
        using var model = new TinyNet(seed: 2);
        new Trainer(recipe).Train(model, data, temp["m.safetensors"]);
        var state = TrainingState.From(SafeTensors.Read(temp["m.safetensors"]).Metadata)!;
        Assert.Equal("FGSM-RS (ε = 0.02, α = 0.025)", state.Attack);
        Assert.Equal("PGD-10 (ε = 0.02, α = 0.005) on 5 test images", state.RobustCheck);
        Assert.NotNull(state.History[0].RobustTestAccuracy);
    }

    private static DataSplit Signs() => DataSource.Open(new DataSettings { SyntheticClasses = 3, SyntheticTrainImages = 48, SyntheticTestImages = 12, SyntheticDifficulty = "easy" });

    private static SalientModel Vgg(ulong seed)
    {
        SeededRandom.SeedTorch(seed, "init");
        return ModelFactory.Create(new ModelSpec { Width = 0.125, NumClasses = 3, BatchNorm = true });
    }

    /// <summary>
    /// Adversarial training at a rate far too high: the robust check swings from
    /// epoch to epoch, so with a small collapse drop some epoch falls below an earlier one.
    /// </summary>
    private static TrainingRecipe Unstable(double collapseDrop) => new()
    {
        Epochs = 8, BatchSize = 8, Seed = 2, LearningRate = 0.05, Strategy = "adversarial",
        Attack = PgdSettings.FastFgsm(0.1), RobustTestImages = 12, RobustCheckIterations = 3, CollapseDrop = collapseDrop,
    };

    [Fact]
    public void ACollapseOfTheRobustCheckStopsTrainingAndKeepsThePreviousEpoch()
    {
        using var temp = new TempFolder();
        using var data = Signs();
        using var model = Vgg(5);
        var weights = new List<Dictionary<string, Tensor>>();
        var state = new Trainer(Unstable(collapseDrop: 0.2)).Train(model, data, temp["m.safetensors"], epochDone: _ => weights.Add(Copy(model)));

        var last = state.History[^1];
        Assert.True(last.Collapsed, $"the scenario must collapse; robust accuracies {string.Join(", ", state.History.Select(h => h.RobustTestAccuracy))}");
        double best = state.History.SkipLast(1).Max(h => h.RobustTestAccuracy!.Value);
        Assert.True(last.RobustTestAccuracy < best - 0.2, "the collapse is a drop of more than collapseDrop below the best earlier epoch");
        Assert.All(state.History.SkipLast(1), h => Assert.False(h.Collapsed));
        Assert.True(last.Epoch < 8, "training stopped early");
        Assert.Equal(last.Epoch - 1, state.EpochsCompleted);
        Assert.Contains($"collapsed in epoch {last.Epoch}", state.StoppedEarly);

        // The model and the checkpoint hold the epoch before the collapse (the callback of the collapsed
        // epoch runs after the roll-back, so the last two snapshots are both that epoch's).
        var kept = weights[last.Epoch - 2];
        Assert.True(Same(kept, model), "the model in memory holds the last epoch before the collapse");
        using (var ckpt = Checkpoint.Load(temp["m.safetensors"]))
        {
            Assert.True(Same(kept, ckpt.Model), "the checkpoint holds the last epoch before the collapse");
            Assert.Equal(state.StoppedEarly, TrainingState.From(ckpt.Metadata)!.StoppedEarly);
        }

        // Resuming a stopped run trains nothing more.
        using var resumed = Vgg(9);
        int ran = 0;
        var again = new Trainer(Unstable(collapseDrop: 0.2)).Train(resumed, data, temp["m.safetensors"], resume: true, epochDone: _ => ran++);
        Assert.Equal(0, ran);
        Assert.Equal(state.StoppedEarly, again.StoppedEarly);
        Assert.True(Same(kept, resumed));
    }

    [Fact]
    public void ACollapseDropOfOneNeverStops()
    {
        using var temp = new TempFolder();
        using var data = Signs();
        using var model = Vgg(5);
        var state = new Trainer(Unstable(collapseDrop: 1) with { Epochs = 4 }).Train(model, data, temp["m.safetensors"]);
        Assert.Equal(4, state.History.Count);
        Assert.Null(state.StoppedEarly);
        Assert.All(state.History, h => Assert.False(h.Collapsed));
        // The same drop that stops the run above happened here too.
        var robust = state.History.Select(h => h.RobustTestAccuracy!.Value).ToArray();
        Assert.Contains(Enumerable.Range(1, robust.Length - 1), i => robust[i] < robust[..i].Max() - 0.2);
    }
}
