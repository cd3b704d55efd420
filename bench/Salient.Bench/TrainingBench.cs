using Salient.Models;
using Salient.Training;
using static TorchSharp.torch;

namespace Salient.Bench;

/// <summary>The paper's VGG-16 (width 1, 43 classes, 32×32) at batch 128.</summary>
public static class TrainingBench
{
    private static SalientModel PaperVgg()
    {
        random.manual_seed(0);
        return ModelFactory.Create(new ModelSpec { NumClasses = 43 });
    }

    /// <summary>One SGD step: forward, cross-entropy, backward, update (the natural recipe).</summary>
    public static double TrainStepB128()
    {
        using var model = PaperVgg();
        using var optimizer = TrainingRecipe.Paper.CreateOptimizer(model);
        using var x = rand(128, 3, 32, 32);
        using var y = randint(0, 43, [128]);
        model.train();
        return Benchmarks.Median(() =>
        {
            optimizer.ZeroGrad();
            var loss = nn.functional.cross_entropy(model.forward(x), y);
            loss.backward();
            optimizer.Step();
        });
    }

    /// <summary>One batch of inference in eval mode without autograd.</summary>
    public static double EvalB128()
    {
        using var model = PaperVgg();
        using var x = rand(128, 3, 32, 32);
        model.eval();
        return Benchmarks.Median(() =>
        {
            using var _ = no_grad();
            model.forward(x);
        }, repeats: 7);
    }
}
