using Salient.Training;
using static TorchSharp.torch;

namespace Salient.Tests.Training;

public class AdversarialTrainingTests
{
    private static double AdversarialLoss(TinyNet model, Tensor pixels, Tensor labels, PgdSettings pgd)
    {
        using var generator = new Generator(99);
        using var adversarial = Pgd.Attack(model, pixels, labels, pgd, generator);
        return TinyProblem.Loss(model, adversarial, labels);
    }

    [Fact]
    public void AFewAdversarialStepsReduceTheAdversarialLoss()
    {
        using var model = TinyProblem.TrainedModel();
        var (pixels, labels) = TinyProblem.Data(64, seed: 13);
        using var _p = pixels;
        using var _l = labels;
        var pgd = new PgdSettings { Epsilon = 0.1, Iterations = 10 };
        double before = AdversarialLoss(model, pixels, labels, pgd);

        using var optimizer = optim.Adam(model.parameters(), lr: 0.005);
        using var generator = new Generator(5);
        var losses = new List<double>();
        for (int i = 0; i < 15; i++)
        {
            var (loss, accuracy) = AdversarialTraining.Step(model, optimizer, pixels, labels, pgd, generator);
            Assert.InRange(accuracy, 0, 1);
            losses.Add(loss);
        }
        Assert.True(model.training, "the step leaves the model in train mode");
        double after = AdversarialLoss(model, pixels, labels, pgd);
        Assert.True(after < 0.8 * before, $"adversarial loss {before} -> {after}");
        Assert.True(losses[^1] < losses[0], $"step losses {string.Join(", ", losses)}");
    }

    [Fact]
    public void StepReportsTheLossAndAccuracyOfItsOwnForwardPass()
    {
        using var model = new TinyNet(seed: 7);
        var (pixels, labels) = TinyProblem.Data(16, seed: 2);
        using var _p = pixels;
        using var _l = labels;
        // With ε = 0 the adversarial batch is the clean batch, so the numbers are checkable before the update.
        double expectedLoss = TinyProblem.Loss(model, pixels, labels);
        double expectedAccuracy = TinyProblem.Accuracy(model, pixels, labels);
        using var optimizer = optim.SGD(model.parameters(), 0.1);
        var (loss, accuracy) = AdversarialTraining.Step(model, optimizer, pixels, labels, new PgdSettings { Epsilon = 0 });
        Assert.Equal(expectedLoss, loss, 5);
        Assert.Equal(expectedAccuracy, accuracy, 12);
        Assert.NotEqual(expectedLoss, TinyProblem.Loss(model, pixels, labels), 6);
    }

    [Fact]
    public void RobustAccuracyWithZeroEpsilonIsTheCleanAccuracy()
    {
        using var model = TinyProblem.TrainedModel(steps: 10);
        var (pixels, labels) = TinyProblem.Data(23, seed: 3);
        using var _p = pixels;
        using var _l = labels;
        model.train();
        double robust = AdversarialTraining.RobustAccuracy(model, pixels, labels, new PgdSettings { Epsilon = 0 }, batchSize: 7);
        Assert.True(model.training, "the mode is restored");
        Assert.Equal(TinyProblem.Accuracy(model, pixels, labels), robust, 12);
    }

    [Fact]
    public void RobustAccuracyDoesNotDependOnTheBatchingAndIsAtMostTheCleanAccuracy()
    {
        using var model = TinyProblem.TrainedModel();
        var (pixels, labels) = TinyProblem.Data(23, seed: 4);
        using var _p = pixels;
        using var _l = labels;
        // Without a random start every image's attack is independent of its batch-mates.
        var pgd = new PgdSettings { Epsilon = 0.05, Iterations = 10, RandomStart = false };
        double inSevens = AdversarialTraining.RobustAccuracy(model, pixels, labels, pgd, batchSize: 7);
        double inOne = AdversarialTraining.RobustAccuracy(model, pixels, labels, pgd, batchSize: 128);
        Assert.Equal(inOne, inSevens, 12);
        // ε is chosen so the attack breaks some images but not all, which makes the equality informative.
        Assert.InRange(inOne, 0.01, TinyProblem.Accuracy(model, pixels, labels) - 0.01);
    }
}
