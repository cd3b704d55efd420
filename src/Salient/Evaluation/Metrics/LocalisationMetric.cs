using static TorchSharp.torch;

namespace Salient.Evaluation.Metrics;

/// <summary>
/// The shared frame of the localisation metrics: each correctly classified image whose data set
/// knows where the sign is (synthetic masks, GTSRB's ROI box) gets one score of its map against the
/// sign's mask; every other image stays unscored (NaN), so data without ground truth (LISA, a
/// GTSRB copy without ROI columns) gives empty tables rather than an error.
/// </summary>
public abstract class LocalisationMetric : ExplanationMetric<NoSettings>
{
    public override IReadOnlyList<MetricSummary> Summaries => [new(Name, Title, MetricDirection.HigherIsBetter)];

    /// <summary>The score of one H×W map against its mask (NaN when it cannot be scored).</summary>
    protected abstract double Score(ReadOnlySpan<float> map, ReadOnlySpan<float> mask);

    protected override MetricScores Evaluate(MetricInput input, NoSettings settings)
    {
        var scores = Enumerable.Repeat(double.NaN, input.Count).ToArray();
        if (input.GroundTruth is not { } truth) return MetricScores.Of(Name, scores);
        var maps = input.Maps!;
        if (!truth.shape.SequenceEqual(maps.shape))
            throw new ArgumentException($"Ground-truth masks of shape [{string.Join("×", truth.shape)}] do not match the maps [{string.Join("×", maps.shape)}].");
        int pixels = (int)(maps.shape[1] * maps.shape[2]);
        var mapValues = Values(maps);
        var maskValues = Values(truth);
        foreach (int i in input.CorrectIndices())
            scores[i] = Score(mapValues.AsSpan(i * pixels, pixels), maskValues.AsSpan(i * pixels, pixels));
        return MetricScores.Of(Name, scores);
    }

    private static float[] Values(Tensor t)
    {
        using var values = t.detach().to(float32).contiguous();
        return values.data<float>().ToArray();
    }

    protected override double PassesPerImage(NoSettings settings, MetricWorkload workload) => 0;
}
