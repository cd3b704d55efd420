using Salient.Attribution;
using Salient.Data;
using static TorchSharp.torch;

namespace Salient.Evaluation.Metrics;

/// <summary>Settings of max-sensitivity: Quantus' defaults (200 samples, radius 0.2); the noise follows the study seed.</summary>
public sealed record MaxSensitivitySettings
{
    /// <summary>Images the metric looks at, spread evenly over the explained ones (the correctly classified among them are scored).</summary>
    public int Images { get; init; } = 20;
    /// <summary>Perturbed copies of each image, each explained once: the cost per image in explanations.</summary>
    public int Samples { get; init; } = 200;
    /// <summary>Half-width r of the uniform noise δ ∈ [−r, r] added to every value of the model's (normalised) input.</summary>
    public double Radius { get; init; } = 0.2;
}

/// <summary>
/// Max-sensitivity (Yeh et al. 2019), per image: the largest relative change of the map,
/// max over n samples of ‖e(x + δ) − e(x)‖₂ / ‖e(x)‖₂, with δ uniform in the L∞ ball of radius r.
/// As in Quantus, δ is added to the model's input (here model space, as the maps are defined;
/// pixels are not clipped) and e(x) is the map being scored. Quantus divides by ‖x‖ instead; the map's
/// own norm makes the score a relative change, comparable between models whose maps differ in scale.
/// Each image's noise is drawn from the seed and the image alone, so every model sees the same δ.
/// </summary>
public sealed class MaxSensitivityMetric : ExplanationMetric<MaxSensitivitySettings>
{
    public override string Name => "max-sensitivity";
    public override string Title => "Max-sensitivity";
    public override string Description => "Largest relative change of the map, ‖e(x+δ) − e(x)‖ / ‖e(x)‖, over noise δ uniform in a small L∞ ball of the model's input, over correctly classified images of an evenly spread subset; lower = a more robust explanation.";
    public override IReadOnlyList<MetricSummary> Summaries { get; } = [new("max-sensitivity", "Max-sensitivity", MetricDirection.LowerIsBetter)];

    protected override void Validate(MaxSensitivitySettings settings)
    {
        if (settings.Images < 1) throw new SalientException($"'max-sensitivity.images' must be at least 1, got {settings.Images}.");
        if (settings.Samples < 1) throw new SalientException($"'max-sensitivity.samples' must be at least 1, got {settings.Samples} (Quantus: 200).");
        if (!(settings.Radius > 0) || double.IsInfinity(settings.Radius))
            throw new SalientException($"'max-sensitivity.radius' must be a finite number > 0, got {settings.Radius} (Quantus: 0.2).");
    }

    protected override MetricScores Evaluate(MetricInput input, MaxSensitivitySettings settings)
    {
        var method = input.Method ?? throw new ArgumentException("Max-sensitivity explains perturbed images: it needs the attribution method.");
        var scores = Enumerable.Repeat(double.NaN, input.Count).ToArray();
        var chosen = input.CorrectIndices(settings.Images);
        var labels = input.Labels.data<long>().ToArray();
        using var scope = NewDisposeScope();
        // The pixel change that moves the model's input by one unit, per channel (the normalisation's std).
        var unit = input.Model.Normalization.Inverse(ones(1, 3, 1, 1)) - input.Model.Normalization.Inverse(zeros(1, 3, 1, 1));
        for (int j = 0; j < chosen.Length; j++)
        {
            input.Progress?.Report((double)j / chosen.Length);
            using var step = NewDisposeScope();
            int i = chosen[j];
            var image = input.Images[i];
            using var generator = new Generator(SeededRandom.Derive((ulong)input.Seed, $"max-sensitivity/{i}"));
            var delta = (rand([settings.Samples, .. image.shape], generator: generator) * 2 - 1) * settings.Radius;
            var perturbed = image.unsqueeze(0) + delta * unit;
            var targets = full([settings.Samples], labels[i], int64);
            var maps = SaliencyMap.Reduce(method.Attribute(input.Model, perturbed, targets)).flatten(1).to(float64);
            var original = input.Maps![i].flatten().to(float64);
            double norm = original.pow(2).sum().sqrt().item<double>();
            scores[i] = norm > 0 ? (maps - original).pow(2).sum(1).sqrt().max().item<double>() / norm : double.NaN;
        }
        input.Progress?.Report(1);
        return MetricScores.Of(Name, scores);
    }

    // One explanation per sample of each chosen image.
    protected override double PassesPerImage(MaxSensitivitySettings settings, MetricWorkload workload) =>
        Math.Min(settings.Images, workload.Images) / (double)workload.Images * settings.Samples * workload.PassesPerExplanation;
}
