using Salient.Models;
using Salient.Training;
using static TorchSharp.torch;

namespace Salient.Bench;

public static class AdversarialBench
{
    /// <summary>One Madry step (PGD-40 at ε = 0.01 + SGD update) of the paper's VGG-16 on a batch of 128.</summary>
    public static double Pgd40StepB128()
    {
        random.manual_seed(0);
        using var model = ModelFactory.Create(new ModelSpec());
        using var optimizer = optim.SGD(model.parameters(), 0.01, momentum: 0.9, weight_decay: 5e-4);
        using var pixels = rand(128, 3, 32, 32);
        using var labels = randint(0, 43, [128]);
        var pgd = new PgdSettings { Epsilon = 0.01, Iterations = 40 };
        // A step takes tens of seconds, so three timed runs and no warm-up run.
        return Benchmarks.Median(() => AdversarialTraining.Step(model, optimizer, pixels, labels, pgd), repeats: 3, warmup: 0);
    }
}
