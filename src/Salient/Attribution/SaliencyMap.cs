using static TorchSharp.torch;

namespace Salient.Attribution;

/// <summary>From model-space attributions N×3×H×W to saliency maps N×H×W.</summary>
public static class SaliencyMap
{
    /// <summary>
    /// Sums over the colour channels. Methods that define an absolute value (VG, SG) have already
    /// applied it per channel; IG stays signed (figures clip it: <see cref="ForDisplay"/>).
    /// </summary>
    public static Tensor Reduce(Tensor attributions)
    {
        if (attributions.dim() != 4)
            throw new SalientException($"Attributions must be N×C×H×W, got shape [{string.Join("×", attributions.shape)}]; pass the output of an attribution method.");
        return attributions.sum(1);
    }

    /// <summary>
    /// A map as figures show it: negative values (IG's) clipped to 0 (SPEC.md §4); VG and SG maps are
    /// non-negative already. Scores are computed on the maps as they are, never on this.
    /// </summary>
    public static Tensor ForDisplay(Tensor maps) => maps.clamp_min(0);
}
