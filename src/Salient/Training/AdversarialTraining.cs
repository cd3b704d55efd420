using Salient.Models;
using static TorchSharp.torch;

namespace Salient.Training;

/// <summary>Madry-style adversarial training: every batch is replaced by its PGD examples (SPEC §3).</summary>
public static class AdversarialTraining
{
    /// <summary>
    /// Attacks the batch (eval mode), then trains on the adversarial batch: train mode, forward,
    /// mean cross-entropy, backward, optimizer step. Returns the loss and accuracy on the
    /// adversarial batch as seen by the forward pass that produced the gradient.
    /// </summary>
    public static (double Loss, double Accuracy) Step(SalientModel model, optim.Optimizer optimizer, Tensor pixels, Tensor labels,
        PgdSettings pgd, Generator? generator = null)
    {
        using var scope = NewDisposeScope();
        var adversarial = Pgd.Attack(model, pixels, labels, pgd, generator);
        model.train();
        optimizer.zero_grad();
        var logits = model.forward(adversarial);
        var loss = nn.functional.cross_entropy(logits, labels);
        loss.backward();
        optimizer.step();
        using var noGrad = no_grad();
        double accuracy = logits.argmax(1).eq(labels).to_type(ScalarType.Float64).mean().item<double>();
        return (loss.to_type(ScalarType.Float64).item<double>(), accuracy);
    }

    /// <summary>
    /// Fraction of <paramref name="pixels"/> still classified correctly after the PGD attack,
    /// attacking and predicting in batches of <paramref name="batchSize"/>. Leaves the model's mode
    /// as it was.
    /// </summary>
    public static double RobustAccuracy(SalientModel model, Tensor pixels, Tensor labels, PgdSettings pgd, int batchSize = 128,
        Generator? generator = null)
    {
        if (batchSize < 1) throw new SalientException($"Batch size {batchSize} must be at least 1.");
        long n = pixels.shape[0];
        if (n == 0) throw new SalientException("Robust accuracy needs at least one image; the evaluation set is empty.");
        using var evaluating = EvalScope.Eval(model);
        long correct = 0;
        for (long start = 0; start < n; start += batchSize)
        {
            using var scope = NewDisposeScope();
            long length = Math.Min(batchSize, n - start);
            var x = pixels.narrow(0, start, length);
            var y = labels.narrow(0, start, length);
            var adversarial = Pgd.Attack(model, x, y, pgd, generator);
            using var noGrad = no_grad();
            correct += model.forward(adversarial).argmax(1).eq(y).sum().item<long>();
        }
        return (double)correct / n;
    }
}
