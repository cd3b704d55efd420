using Salient.Attribution;
using Salient.Data;
using static TorchSharp.torch;

namespace Salient.Evaluation.Metrics;

/// <summary>Settings of the random-logit test; the other class of each image follows the study seed.</summary>
public sealed record RandomLogitSettings
{
    /// <summary>Images the test looks at, spread evenly over the explained ones (the correctly classified among them are scored); each costs one explanation.</summary>
    public int Images { get; init; } = 20;
}

/// <summary>
/// The random-logit test (Sixt et al. 2020, as Quantus implements it): the SSIM between an image's map
/// for its true class and its map for another class drawn at random (uniformly among the others, the
/// same draw for every model of a seed). Maps are divided by their largest magnitude first (Quantus'
/// defaults; the SSIM is taken over the 2-D map, where Quantus flattens it). A method whose map does
/// not change with the class explains the image, not the decision: lower is better.
/// </summary>
public sealed class RandomLogitMetric : ExplanationMetric<RandomLogitSettings>
{
    public override string Name => "random-logit";
    public override string Title => "Random-logit SSIM";
    public override string Description => "SSIM between each map for the true class and the map for a random other class (sanity check), over correctly classified images of an evenly spread subset; lower = the map depends on the class explained.";
    public override IReadOnlyList<MetricSummary> Summaries { get; } = [new("random-logit", "Random-logit SSIM", MetricDirection.LowerIsBetter)];

    protected override void Validate(RandomLogitSettings settings)
    {
        if (settings.Images < 1) throw new SalientException($"'random-logit.images' must be at least 1, got {settings.Images}.");
    }

    /// <summary>The other class image <paramref name="image"/> is explained for: uniform over the classes but <paramref name="label"/>, fixed by the seed and the image.</summary>
    public static long OtherClass(long seed, int image, long label, int classes)
    {
        long draw = new SeededRandom(SeededRandom.Derive((ulong)seed, $"random-logit/{image}")).NextInt(classes - 1);
        return draw >= label ? draw + 1 : draw;
    }

    protected override MetricScores Evaluate(MetricInput input, RandomLogitSettings settings)
    {
        var method = input.Method ?? throw new ArgumentException("The random-logit test explains another class: it needs the attribution method.");
        var scores = Enumerable.Repeat(double.NaN, input.Count).ToArray();
        int classes = input.Model.Spec.NumClasses;
        var chosen = input.CorrectIndices(settings.Images);
        if (chosen.Length == 0 || classes < 2) return MetricScores.Of(Name, scores);

        using var scope = NewDisposeScope();
        var labels = input.Labels.data<long>().ToArray();
        using var index = tensor(chosen.Select(i => (long)i).ToArray());
        var others = tensor(chosen.Select(i => OtherClass(input.Seed, i, labels[i], classes)).ToArray());
        input.Progress?.Report(0);
        var otherMaps = Values(SaliencyMap.Reduce(method.Attribute(input.Model, input.Images.index_select(0, index), others)));
        var trueMaps = Values(input.Maps!.index_select(0, index));
        int height = (int)input.Maps.shape[1], width = (int)input.Maps.shape[2], pixels = height * width;
        for (int j = 0; j < chosen.Length; j++)
            scores[chosen[j]] = MapSimilarity.Ssim(MapSimilarity.NormalisedByMax(trueMaps.AsSpan(j * pixels, pixels), absolute: false),
                MapSimilarity.NormalisedByMax(otherMaps.AsSpan(j * pixels, pixels), absolute: false), height, width);
        input.Progress?.Report(1);
        return MetricScores.Of(Name, scores);
    }

    private static float[] Values(Tensor maps)
    {
        using var values = maps.detach().to(float32).contiguous();
        return values.data<float>().ToArray();
    }

    // One explanation (for the other class) of each chosen image.
    protected override double PassesPerImage(RandomLogitSettings settings, MetricWorkload workload) =>
        Math.Min(settings.Images, workload.Images) / (double)workload.Images * workload.PassesPerExplanation;
}
