namespace Salient.Evaluation.Metrics;

/// <summary>Relevance mass accuracy (Arras et al. 2022): the share of positive relevance inside the sign's mask.</summary>
public sealed class MassAccuracyMetric : LocalisationMetric
{
    public override string Name => "mass-accuracy";
    public override string Title => "Relevance mass accuracy";
    public override string Description => "Share of the map's positive relevance inside the sign (synthetic masks, GTSRB's ROI box), over correctly classified images with ground truth; higher = the map points at the sign.";
    protected override double Score(ReadOnlySpan<float> map, ReadOnlySpan<float> mask) => Localisation.MassAccuracy(map, mask);
}
