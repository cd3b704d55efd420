using Salient.Models;
using Salient.Training;
using static TorchSharp.torch;

namespace Salient.Bench;

public static class AdversarialBench
{
    /// <summary>One Madry step (PGD-40 at ε = 0.01 + SGD update) of the paper's VGG-16 on a batch of 128.</summary>
    public static double Pgd40StepB128() => StepB128(new PgdSettings { Epsilon = 0.01, Iterations = 40 }, repeats: 3, warmup: 0);

    /// <summary>The same step with PGD-7 (α = 2.5·ε/7), an affordable training attack.</summary>
    public static double Pgd7StepB128() => StepB128(PgdSettings.WithIterations(0.01, 7), repeats: 3, warmup: 1);

    /// <summary>The same step with fast FGSM from a random start (α = 1.25·ε): two gradient computations per step.</summary>
    public static double FgsmRsStepB128() => StepB128(PgdSettings.FastFgsm(0.01), repeats: 5, warmup: 1);

    private static double StepB128(PgdSettings pgd, int repeats, int warmup)
    {
        random.manual_seed(0);
        using var model = ModelFactory.Create(new ModelSpec());
        using var optimizer = optim.SGD(model.parameters(), 0.01, momentum: 0.9, weight_decay: 5e-4);
        using var pixels = rand(128, 3, 32, 32);
        using var labels = randint(0, 43, [128]);
        // A PGD-40 step takes tens of seconds, so it gets three timed runs and no warm-up run.
        return Benchmarks.Median(() => AdversarialTraining.Step(model, optimizer, pixels, labels, pgd), repeats, warmup);
    }
}
