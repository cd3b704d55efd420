using System.Text.Json.Serialization;

namespace Salient.Training;

/// <summary>
/// How the learning rate moves over a run, as a factor of the recipe's rate at every step: an
/// optional linear warm-up, then constant (the paper), cosine or step decay. The factor is a pure
/// function of the step's position, so a resumed run continues on exactly the same curve.
/// </summary>
public sealed record LearningRateSchedule
{
    public const string Constant = "constant", Cosine = "cosine", Step = "step";
    public static readonly string[] Shapes = [Constant, Cosine, Step];

    /// <summary>"constant" (SPEC.md §3), "cosine" (from the full rate after warm-up down towards 0 at the last step) or "step".</summary>
    public string Shape { get; init; } = Constant;
    /// <summary>
    /// Epochs (fractions allowed, counted in steps) over which the rate rises linearly from rate/steps
    /// to the full rate; a plain VGG-16 without BatchNorm diverges when a large rate hits its first steps.
    /// </summary>
    public double WarmupEpochs { get; init; }
    /// <summary>Step shape: the rate is multiplied by <see cref="StepFactor"/> after every this many epochs.</summary>
    public int StepEpochs { get; init; } = 10;
    public double StepFactor { get; init; } = 0.1;

    /// <summary>Whether the curve depends on the run's length (so a resume must keep the epoch count).</summary>
    [JsonIgnore]
    public bool DependsOnEpochs => Shape == Cosine;

    public void Validate()
    {
        if (!Shapes.Contains(Shape))
            throw new SalientException($"Unknown learning-rate schedule '{Shape}' (setting schedule.shape, option --schedule); use one of: {string.Join(", ", Shapes)}.");
        if (!(WarmupEpochs >= 0) || double.IsInfinity(WarmupEpochs))
            throw new SalientException($"Warm-up epochs must be a number ≥ 0, got {WarmupEpochs} (setting schedule.warmupEpochs, option --warmup-epochs).");
        if (Shape == Step && StepEpochs < 1)
            throw new SalientException($"The step schedule needs at least 1 epoch between steps, got {StepEpochs} (setting schedule.stepEpochs, option --step-epochs).");
        if (!(StepFactor >= 0 && StepFactor <= 1))
            throw new SalientException($"The step schedule's factor must lie in [0, 1], got {StepFactor} (setting schedule.stepFactor, option --step-factor); 0.1 divides the rate by ten.");
    }

    /// <summary>
    /// The factor applied to the recipe's learning rate at batch <paramref name="batch"/> (0-based) of
    /// epoch <paramref name="epoch"/> (0-based) of a run of <paramref name="epochs"/> epochs of
    /// <paramref name="batchesPerEpoch"/> batches.
    /// </summary>
    public double Factor(int epoch, int batch, int batchesPerEpoch, int epochs)
    {
        long step = (long)epoch * batchesPerEpoch + batch;
        long total = (long)epochs * batchesPerEpoch;
        long warmup = Math.Min(total, (long)Math.Round(WarmupEpochs * batchesPerEpoch));
        double warm = step < warmup ? (step + 1) / (double)warmup : 1;
        double main = Shape switch
        {
            Cosine when step >= warmup && total > warmup => 0.5 * (1 + Math.Cos(Math.PI * (step - warmup) / (total - warmup))),
            Step => Math.Pow(StepFactor, epoch / StepEpochs),
            _ => 1,
        };
        return warm * main;
    }
}
