using Salient.Data;

namespace Salient.Evaluation;

/// <summary>How the report's differences get their intervals.</summary>
public sealed record BootstrapSettings
{
    public int Resamples { get; init; } = 1000;
    public ulong Seed { get; init; } = 0;
    /// <summary>Coverage of the percentile interval.</summary>
    public double Level { get; init; } = 0.95;

    public void Validate()
    {
        if (Resamples < 100) throw new SalientException($"'report.bootstrap.resamples' must be at least 100 for a percentile interval, got {Resamples} (default 1000).");
        if (!(Level > 0 && Level < 1)) throw new SalientException($"'report.bootstrap.level' must lie between 0 and 1, got {Level} (default 0.95).");
    }
}

/// <summary>A difference of two means with its bootstrap interval.</summary>
public readonly record struct DifferenceInterval(double Difference, double Lower, double Upper)
{
    public bool ExcludesZero => Lower > 0 || Upper < 0;
    public double HalfWidth => (Upper - Lower) / 2;
}

/// <summary>
/// A paired bootstrap of the difference between two models' mean scores on the same test images
/// (and the same seeds). Scores come per seed as one value per image of a shared index (NaN where
/// the model did not score the image). One resample draws the images with replacement — one draw
/// shared by both models and every seed — and, when there are several seeds, the seeds with
/// replacement; a model's score in it is the mean over its scored images among those drawn (with
/// their multiplicity) for each drawn seed, then the mean over the drawn seeds. The interval is the
/// percentile interval of the resampled differences; the point estimate is the difference of the
/// plain means (per seed over the scored images, then over seeds). Resamples in which a model has
/// no scored image are left out.
/// </summary>
public static class PairedBootstrap
{
    public static DifferenceInterval Difference(IReadOnlyList<double[]> model, IReadOnlyList<double[]> reference, BootstrapSettings settings)
    {
        if (model.Count == 0 || model.Count != reference.Count)
            throw new ArgumentException($"Both models need scores for the same seeds, got {model.Count} and {reference.Count}.");
        int images = model[0].Length, seeds = model.Count;
        if (model.Concat(reference).Any(s => s.Length != images))
            throw new ArgumentException("Every seed's scores must cover the same image indices for both models.");
        var all = Enumerable.Repeat(1, images).ToArray();
        var allSeeds = Enumerable.Repeat(1, seeds).ToArray();
        double estimate = Mean(model, all, allSeeds) - Mean(reference, all, allSeeds);
        if (double.IsNaN(estimate)) return new DifferenceInterval(double.NaN, double.NaN, double.NaN);

        var random = new SeededRandom(SeededRandom.Derive(settings.Seed, "paired-bootstrap"));
        var differences = new List<double>(settings.Resamples);
        var imageCounts = new int[images];
        var seedCounts = new int[seeds];
        for (int b = 0; b < settings.Resamples; b++)
        {
            Array.Clear(imageCounts);
            for (int k = 0; k < images; k++) imageCounts[random.NextInt(images)]++;
            Array.Clear(seedCounts);
            if (seeds == 1) seedCounts[0] = 1;
            else for (int k = 0; k < seeds; k++) seedCounts[random.NextInt(seeds)]++;
            double d = Mean(model, imageCounts, seedCounts) - Mean(reference, imageCounts, seedCounts);
            if (!double.IsNaN(d)) differences.Add(d);
        }
        if (differences.Count == 0) return new DifferenceInterval(estimate, double.NaN, double.NaN);
        differences.Sort();
        double tail = (1 - settings.Level) / 2;
        return new DifferenceInterval(estimate, Quantile(differences, tail), Quantile(differences, 1 - tail));
    }

    /// <summary>The weighted mean over scored images per seed, then the weighted mean over the seeds that have one.</summary>
    private static double Mean(IReadOnlyList<double[]> scores, int[] imageCounts, int[] seedCounts)
    {
        double total = 0, weight = 0;
        for (int s = 0; s < scores.Count; s++)
        {
            if (seedCounts[s] == 0) continue;
            double sum = 0, count = 0;
            var values = scores[s];
            for (int i = 0; i < values.Length; i++)
            {
                if (imageCounts[i] == 0 || double.IsNaN(values[i])) continue;
                sum += imageCounts[i] * values[i];
                count += imageCounts[i];
            }
            if (count == 0) continue;
            total += seedCounts[s] * sum / count;
            weight += seedCounts[s];
        }
        return weight > 0 ? total / weight : double.NaN;
    }

    /// <summary>The q-quantile of sorted values, interpolating linearly between order statistics (numpy's default).</summary>
    private static double Quantile(List<double> sorted, double q)
    {
        double position = q * (sorted.Count - 1);
        int below = (int)Math.Floor(position);
        int above = Math.Min(below + 1, sorted.Count - 1);
        return sorted[below] + (position - below) * (sorted[above] - sorted[below]);
    }
}
