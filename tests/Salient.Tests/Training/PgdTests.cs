using Salient.Training;
using static TorchSharp.torch;

namespace Salient.Tests.Training;

public class PgdTests
{
    [Fact]
    public void AdversarialExamplesStayInTheEpsBallAndThePixelRange()
    {
        using var model = new TinyNet(seed: 1);
        using var generator = new Generator(3);
        using var pixels = rand([6, 3, 8, 8], generator: generator);
        // Pixels at the edges of [0,1] are where the ball sticks out of the valid range.
        pixels[0].fill_(0);
        pixels[1].fill_(1);
        using var labels = tensor(new long[] { 0, 1, 0, 1, 0, 1 });
        const double eps = 0.05;
        // A step as large as ε makes every step hit the projection.
        foreach (var settings in new[] { new PgdSettings { Epsilon = eps, Iterations = 10 }, new PgdSettings { Epsilon = eps, Iterations = 10, StepSize = eps } })
        {
            using var adversarial = Pgd.Attack(model, pixels, labels, settings, generator);
            Assert.True((adversarial - pixels).abs().max().item<float>() <= eps + 1e-6);
            Assert.True(adversarial.min().item<float>() >= 0);
            Assert.True(adversarial.max().item<float>() <= 1);
            Assert.False(adversarial.requires_grad);
        }
    }

    [Fact]
    public void PgdRaisesTheLossAboveTheCleanInputAndAnFgsmStep()
    {
        using var model = TinyProblem.TrainedModel();
        var (pixels, labels) = TinyProblem.Data(64, seed: 9);
        using var _p = pixels;
        using var _l = labels;
        const double eps = 0.1;
        using var generator = new Generator(4);
        using var pgd = Pgd.Attack(model, pixels, labels, new PgdSettings { Epsilon = eps, Iterations = 40 }, generator);
        using var fgsm = Pgd.Attack(model, pixels, labels, new PgdSettings { Epsilon = eps, Iterations = 1, StepSize = eps, RandomStart = false });

        double clean = TinyProblem.Loss(model, pixels, labels);
        double fgsmLoss = TinyProblem.Loss(model, fgsm, labels);
        double pgdLoss = TinyProblem.Loss(model, pgd, labels);
        Assert.True(TinyProblem.Accuracy(model, pixels, labels) > 0.95, "the tiny model should have learned the stripes");
        Assert.True(fgsmLoss > clean, $"FGSM {fgsmLoss} vs clean {clean}");
        Assert.True(pgdLoss > fgsmLoss, $"PGD {pgdLoss} vs FGSM {fgsmLoss}");
    }

    [Fact]
    public void ZeroEpsilonReturnsTheInputUnchanged()
    {
        using var model = new TinyNet(seed: 2);
        using var pixels = rand(4, 3, 8, 8);
        using var labels = tensor(new long[] { 0, 1, 1, 0 });
        using var adversarial = Pgd.Attack(model, pixels, labels, new PgdSettings { Epsilon = 0 });
        Assert.True(adversarial.allclose(pixels, rtol: 0, atol: 0));
    }

    [Fact]
    public void AttackRestoresModeAndRequiresGradAndLeavesNoParameterGradients()
    {
        using var model = new TinyNet(seed: 3);
        var bias = model.parameters().First(p => p.dim() == 1);
        bias.requires_grad = false; // a caller's own freezing must survive the attack
        var before = model.parameters().Select(p => p.requires_grad).ToArray();
        using var pixels = rand(4, 3, 8, 8);
        using var labels = tensor(new long[] { 0, 1, 1, 0 });

        model.train();
        using (Pgd.Attack(model, pixels, labels, new PgdSettings { Epsilon = 0.05, Iterations = 3 })) { }
        Assert.True(model.training);
        Assert.Equal(before, model.parameters().Select(p => p.requires_grad).ToArray());
        Assert.All(model.parameters(), p => Assert.Null(p.grad));

        model.eval();
        using (Pgd.Attack(model, pixels, labels, new PgdSettings { Epsilon = 0.05, Iterations = 3 })) { }
        Assert.False(model.training);
    }

    [Fact]
    public void TheSameGeneratorSeedGivesTheSameExamplesEvenWhenTheModelIsInTrainMode()
    {
        // Heavy dropout: if the attack ran in train mode, two runs would see different networks.
        using var model = new TinyNet(seed: 4, dropoutRate: 0.5);
        model.train();
        using var pixels = rand(8, 3, 8, 8);
        using var labels = tensor(new long[] { 0, 1, 1, 0, 0, 1, 1, 0 });
        var settings = new PgdSettings { Epsilon = 0.05, Iterations = 5 };
        Tensor Run(ulong seed) { using var g = new Generator(seed); return Pgd.Attack(model, pixels, labels, settings, g); }
        using var a = Run(21);
        using var b = Run(21);
        using var c = Run(22);
        Assert.True(a.allclose(b, rtol: 0, atol: 0));
        Assert.False(a.allclose(c, rtol: 0, atol: 0));
    }

    [Fact]
    public void PredictedLabelsAttackTheModelsOwnPredictions()
    {
        using var model = new TinyNet(seed: 5);
        model.eval();
        using var pixels = rand(8, 3, 8, 8);
        using var predicted = model.forward(pixels).argmax(1);
        using var flipped = 1 - predicted; // deliberately wrong labels, which the setting must ignore
        var withTrue = new PgdSettings { Epsilon = 0.05, Iterations = 5 };
        var withPredicted = withTrue with { Labels = PgdLabels.Predicted };
        using var g1 = new Generator(8);
        using var g2 = new Generator(8);
        using var expected = Pgd.Attack(model, pixels, predicted, withTrue, g1);
        using var actual = Pgd.Attack(model, pixels, flipped, withPredicted, g2);
        Assert.True(actual.allclose(expected, rtol: 0, atol: 0));
    }

    [Fact]
    public void DefaultStepIsTwoAndAHalfEpsilonsOverTheIterations()
    {
        Assert.Equal(2.5 * 0.01 / 40, new PgdSettings().EffectiveStepSize, 15);
        Assert.Equal(0.003, new PgdSettings { StepSize = 0.003 }.EffectiveStepSize);
    }

    [Fact]
    public void BadSettingsNameTheSetting()
    {
        using var model = new TinyNet(seed: 6);
        using var pixels = rand(1, 3, 8, 8);
        using var labels = tensor(new long[] { 0 });
        var e1 = Assert.Throws<SalientException>(() => Pgd.Attack(model, pixels, labels, new PgdSettings { Epsilon = -0.1 }));
        Assert.Contains("epsilon", e1.Message);
        var e2 = Assert.Throws<SalientException>(() => Pgd.Attack(model, pixels, labels, new PgdSettings { Iterations = 0 }));
        Assert.Contains("iteration", e2.Message);
    }
}
