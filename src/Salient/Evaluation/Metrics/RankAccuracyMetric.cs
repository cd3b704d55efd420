namespace Salient.Evaluation.Metrics;

/// <summary>Relevance rank accuracy (Arras et al. 2022): the share of the K most relevant pixels inside the sign's mask of K pixels.</summary>
public sealed class RankAccuracyMetric : LocalisationMetric
{
    public override string Name => "rank-accuracy";
    public override string Title => "Relevance rank accuracy";
    public override string Description => "Share of the K most relevant pixels inside the sign, K = the sign's area in pixels, over correctly classified images with ground truth; higher = the map points at the sign.";
    protected override double Score(ReadOnlySpan<float> map, ReadOnlySpan<float> mask) => Localisation.RankAccuracy(map, mask);
}
