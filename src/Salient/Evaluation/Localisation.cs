namespace Salient.Evaluation;

/// <summary>
/// Does a map point at the object? Three scores of one channel-summed map against a ground-truth
/// mask (a pixel belongs to the object when its mask value is above ½), each as its paper defines
/// it, with Quantus' edge cases: an empty mask gives NaN (the image has no ground truth). A mask
/// that covers the whole image gives NaN too (Quantus would score it 1): it cannot tell where a map
/// points, and it is what a data set without boxes writes (GTSRB's layout written from synthetic
/// signs has whole-image boxes).
/// </summary>
public static class Localisation
{
    /// <summary>
    /// Relevance mass accuracy (Arras et al. 2022): the share of the map's positive relevance that lies
    /// inside the mask. Negative relevance (IG's) is left out, as the paper does; NaN when the map has
    /// no positive relevance (nothing to share out).
    /// </summary>
    public static double MassAccuracy(ReadOnlySpan<float> map, ReadOnlySpan<float> mask)
    {
        CheckSizes(map, mask);
        if (!Informative(mask)) return double.NaN;
        double inside = 0, total = 0;
        for (int i = 0; i < map.Length; i++)
        {
            if (!(map[i] > 0)) continue;
            total += map[i];
            if (Inside(mask[i])) inside += map[i];
        }
        return total > 0 ? inside / total : double.NaN;
    }

    /// <summary>
    /// Relevance rank accuracy (Arras et al. 2022): with K the mask's pixel count, the share of the K
    /// highest-valued pixels that lie inside the mask. Pixels tied at the K-th value share the places
    /// left among them, each counting as the fraction a random tie-break would give it, so the score
    /// does not depend on the order of equal values.
    /// </summary>
    public static double RankAccuracy(ReadOnlySpan<float> map, ReadOnlySpan<float> mask)
    {
        CheckSizes(map, mask);
        if (!Informative(mask)) return double.NaN;
        int k = 0;
        foreach (var m in mask) if (Inside(m)) k++;
        var sorted = map.ToArray();
        Array.Sort(sorted);
        float threshold = sorted[^k]; // the K-th highest value
        int above = 0, aboveInside = 0, tied = 0, tiedInside = 0;
        for (int i = 0; i < map.Length; i++)
        {
            bool inside = Inside(mask[i]);
            if (map[i] > threshold) { above++; if (inside) aboveInside++; }
            else if (map[i] == threshold) { tied++; if (inside) tiedInside++; }
        }
        double placesLeft = k - above;
        return (aboveInside + placesLeft * tiedInside / tied) / k;
    }

    /// <summary>
    /// The pointing game (Zhang et al. 2018): 1 when the map's maximum lies inside the mask, else 0.
    /// When several pixels share the maximum, one inside is a hit (Quantus' rule); no tolerance
    /// margin around the mask (the paper's 15 pixels would cover half of a 32×32 sign image).
    /// </summary>
    public static double PointingGame(ReadOnlySpan<float> map, ReadOnlySpan<float> mask)
    {
        CheckSizes(map, mask);
        if (!Informative(mask)) return double.NaN;
        float max = float.NegativeInfinity;
        foreach (var v in map) if (v > max) max = v;
        for (int i = 0; i < map.Length; i++)
            if (map[i] == max && Inside(mask[i])) return 1;
        return 0;
    }

    private static bool Inside(float maskValue) => maskValue > 0.5f;

    /// <summary>Some pixels inside the object and some outside.</summary>
    private static bool Informative(ReadOnlySpan<float> mask)
    {
        bool inside = false, outside = false;
        foreach (var m in mask) if (Inside(m)) inside = true; else outside = true;
        return inside && outside;
    }

    private static void CheckSizes(ReadOnlySpan<float> map, ReadOnlySpan<float> mask)
    {
        if (map.Length != mask.Length || map.Length == 0)
            throw new ArgumentException($"A map of {map.Length} pixels cannot be scored against a mask of {mask.Length}; both must be one H×W image.");
    }
}
