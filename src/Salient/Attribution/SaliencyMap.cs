using static TorchSharp.torch;

namespace Salient.Attribution;

/// <summary>From model-space attributions N×3×H×W to saliency maps N×H×W.</summary>
public static class SaliencyMap
{
    /// <summary>
    /// Sums over the colour channels. Methods that define an absolute value (VG, SG) have already
    /// applied it per channel; IG stays signed unless <paramref name="clipNegatives"/> (as figures show it).
    /// </summary>
    public static Tensor Reduce(Tensor attributions, bool clipNegatives = false)
    {
        if (attributions.dim() != 4)
            throw new SalientException($"Attributions must be N×C×H×W, got shape [{string.Join("×", attributions.shape)}]; pass the output of an attribution method.");
        var map = attributions.sum(1);
        return clipNegatives ? map.clamp_min_(0) : map;
    }
}
