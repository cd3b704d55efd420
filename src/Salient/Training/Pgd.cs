using Salient.Models;
using static TorchSharp.torch;

namespace Salient.Training;

/// <summary>Which labels the attack pushes the model away from.</summary>
public enum PgdLabels
{
    /// <summary>The data set's labels (Madry et al.; the protocol's default).</summary>
    True,
    /// <summary>The model's own predictions on the clean input (the reference notebooks' choice; avoids label leaking).</summary>
    Predicted,
}

/// <summary>Projected gradient descent under an L∞ budget, in pixel space (SPEC §3).</summary>
public sealed record PgdSettings
{
    /// <summary>L∞ radius on the [0,1] pixel scale.</summary>
    public double Epsilon { get; init; } = 0.01;
    public int Iterations { get; init; } = 40;
    /// <summary>Step size α; null means 2.5·ε/iterations, which lets the walk cross the ball 2.5 times.</summary>
    public double? StepSize { get; init; }
    /// <summary>Start from a uniform draw in the ε-ball instead of the clean input.</summary>
    public bool RandomStart { get; init; } = true;
    public PgdLabels Labels { get; init; } = PgdLabels.True;

    public double EffectiveStepSize => StepSize ?? 2.5 * Epsilon / Math.Max(Iterations, 1);

    /// <summary>The same attack at another radius, its step scaled in proportion (so it crosses the ball as often).</summary>
    public PgdSettings AtEpsilon(double epsilon) => this with { Epsilon = epsilon, StepSize = StepSize * epsilon / Epsilon };

    /// <summary>Fast FGSM with a random start (Wong, Rice &amp; Kolter 2020): one step of 1.25·ε from a uniform start in the ε-ball.</summary>
    public static PgdSettings FastFgsm(double epsilon) => new() { Epsilon = epsilon, Iterations = 1, StepSize = 1.25 * epsilon, RandomStart = true };

    /// <summary>PGD-k with the protocol's step rule α = 2.5·ε/k.</summary>
    public static PgdSettings WithIterations(double epsilon, int iterations) => new() { Epsilon = epsilon, Iterations = iterations };

    /// <summary>The attack's name as a report gives it, e.g. "PGD-7 (ε = 0.01, α = 0.00357)" or "FGSM-RS (ε = 0.01, α = 0.0125)".</summary>
    public string Describe()
    {
        string name = Iterations == 1 ? (RandomStart ? "FGSM-RS" : "FGSM") : $"PGD-{Iterations}{(RandomStart ? "" : " without random start")}";
        string labels = Labels == PgdLabels.Predicted ? ", predicted labels" : "";
        return FormattableString.Invariant($"{name} (ε = {Epsilon:G4}, α = {EffectiveStepSize:G3}{labels})");
    }

    public void Validate()
    {
        if (!(Epsilon >= 0 && Epsilon <= 1))
            throw new SalientException($"PGD epsilon {Epsilon} is outside the [0,1] pixel scale (setting attack.epsilon, option --epsilon); use e.g. 0.01 (or 0.1 for the strong variant).");
        if (Iterations < 1)
            throw new SalientException($"PGD needs at least 1 iteration, got {Iterations} (setting attack.iterations, option --attack-steps); the protocol uses 40.");
        if (StepSize is { } step && !(step > 0 && !double.IsInfinity(step)))
            throw new SalientException($"PGD step size {step} must be a positive number (setting attack.stepSize, option --attack-step-size); leave it unset for 2.5·epsilon/iterations.");
    }
}

public static class Pgd
{
    /// <summary>
    /// Adversarial examples for <paramref name="pixels"/> (N×3×H×W in [0,1]) that maximise the
    /// cross-entropy within the L∞ ball of radius ε, clipped to [0,1]. The model is attacked in eval
    /// mode with its parameters frozen, and both are restored afterwards, so attacking leaves no
    /// parameter gradients behind. <paramref name="labels"/> may be null when the settings use the
    /// model's predictions. The random start draws from <paramref name="generator"/> (or torch's
    /// global stream when null). Returns a new tensor without autograd history.
    /// </summary>
    public static Tensor Attack(SalientModel model, Tensor pixels, Tensor? labels, PgdSettings settings, Generator? generator = null)
    {
        settings.Validate();
        using var frozen = EvalScope.Frozen(model);
        using var scope = NewDisposeScope();
        var clean = pixels.detach();
        var targets = settings.Labels == PgdLabels.Predicted
            ? PredictedLabels(model, clean)
            : labels ?? throw new ArgumentNullException(nameof(labels), "PGD with true labels needs the labels.");
        if (settings.Epsilon == 0)
            return clean.clone().MoveToOuterDisposeScope();

        var lower = (clean - settings.Epsilon).clamp_(0, 1);
        var upper = (clean + settings.Epsilon).clamp_(0, 1);
        var adversarial = settings.RandomStart
            ? clean + (rand(clean.shape, dtype: clean.dtype, device: clean.device, generator: generator) * 2 - 1) * settings.Epsilon
            : clean.clone();
        adversarial = adversarial.clamp_(lower, upper);

        double alpha = settings.EffectiveStepSize;
        for (int i = 0; i < settings.Iterations; i++)
        {
            using var step = NewDisposeScope();
            var input = adversarial.detach().requires_grad_(true);
            var loss = nn.functional.cross_entropy(model.forward(input), targets);
            var gradient = autograd.grad([loss], [input])[0];
            // Ascend by the gradient's sign, then project: clamping to [x−ε, x+ε] ∩ [0,1] is both the
            // L∞ projection and the pixel-range clip, because the box is a product of intervals.
            var next = (input.detach() + gradient.sign() * alpha).clamp_(lower, upper).MoveToOuterDisposeScope();
            // Free each iterate now rather than at the end, so memory stays flat over 40 iterations.
            adversarial.Dispose();
            adversarial = next;
        }
        return adversarial.MoveToOuterDisposeScope();
    }

    private static Tensor PredictedLabels(SalientModel model, Tensor pixels)
    {
        using var noGrad = no_grad();
        return model.forward(pixels).argmax(1);
    }
}
