namespace Salient.Evaluation.Metrics;

/// <summary>The pointing game (Zhang et al. 2018): is the map's maximum on the sign?</summary>
public sealed class PointingGameMetric : LocalisationMetric
{
    public override string Name => "pointing-game";
    public override string Title => "Pointing game";
    public override string Description => "Share of images whose map has its maximum inside the sign, over correctly classified images with ground truth; higher = the map points at the sign.";
    protected override double Score(ReadOnlySpan<float> map, ReadOnlySpan<float> mask) => Localisation.PointingGame(map, mask);
}
