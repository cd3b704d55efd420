namespace Salient.Evaluation;

/// <summary>
/// How alike two maps of one image are, as the sanity checks measure it (Adebayo et al. 2018): the
/// Spearman rank correlation and the structural similarity index (SSIM).
/// </summary>
public static class MapSimilarity
{
    /// <summary>SSIM's window side and stabilising constants (Wang et al. 2004; scikit-image's defaults, which Quantus uses).</summary>
    public const int SsimWindow = 7;
    public const double SsimK1 = 0.01, SsimK2 = 0.03;

    /// <summary>
    /// The map divided by its largest magnitude (Quantus' normalise_by_max), after taking the absolute
    /// value when <paramref name="absolute"/>; an all-zero map stays zero.
    /// </summary>
    public static float[] NormalisedByMax(ReadOnlySpan<float> map, bool absolute)
    {
        var result = new float[map.Length];
        float max = 0;
        foreach (var v in map) max = Math.Max(max, Math.Abs(v));
        for (int i = 0; i < map.Length; i++)
        {
            float v = absolute ? Math.Abs(map[i]) : map[i];
            result[i] = max > 0 ? v / max : 0;
        }
        return result;
    }

    /// <summary>
    /// Spearman's ρ: the Pearson correlation of the two maps' ranks, tied values sharing their mean
    /// rank (as scipy.stats.spearmanr). NaN when either map is constant (no order to compare).
    /// </summary>
    public static double Spearman(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        if (a.Length != b.Length || a.Length < 2)
            throw new ArgumentException($"Spearman's ρ needs two maps of equal size (at least 2 pixels), got {a.Length} and {b.Length}.");
        var ra = Ranks(a);
        var rb = Ranks(b);
        double mean = (a.Length + 1) / 2.0, sab = 0, saa = 0, sbb = 0;
        for (int i = 0; i < ra.Length; i++)
        {
            double da = ra[i] - mean, db = rb[i] - mean;
            sab += da * db;
            saa += da * da;
            sbb += db * db;
        }
        return saa > 0 && sbb > 0 ? sab / Math.Sqrt(saa * sbb) : double.NaN;
    }

    /// <summary>Ranks 1…n, ties sharing the mean of the ranks they span.</summary>
    private static double[] Ranks(ReadOnlySpan<float> values)
    {
        var order = Enumerable.Range(0, values.Length).ToArray();
        var keys = values.ToArray();
        Array.Sort((float[])keys.Clone(), order);
        var ranks = new double[values.Length];
        for (int start = 0; start < order.Length;)
        {
            int end = start;
            while (end + 1 < order.Length && keys[order[end + 1]] == keys[order[start]]) end++;
            double shared = (start + end) / 2.0 + 1;
            for (int j = start; j <= end; j++) ranks[order[j]] = shared;
            start = end + 1;
        }
        return ranks;
    }

    /// <summary>
    /// The mean SSIM of two H×W maps over every 7×7 window that fits inside the image (scikit-image's
    /// structural_similarity with its defaults: uniform window, sample covariances, K1 = 0.01,
    /// K2 = 0.03), with the data range taken over both maps together, as Quantus does. Two identical
    /// constant maps (range 0) are identical: 1.
    /// </summary>
    public static double Ssim(ReadOnlySpan<float> a, ReadOnlySpan<float> b, int height, int width)
    {
        if (a.Length != height * width || b.Length != height * width)
            throw new ArgumentException($"SSIM needs two {height}×{width} maps, got {a.Length} and {b.Length} values.");
        if (height < SsimWindow || width < SsimWindow)
            throw new ArgumentException($"SSIM's {SsimWindow}×{SsimWindow} window does not fit a {height}×{width} map.");
        float low = float.PositiveInfinity, high = float.NegativeInfinity;
        for (int i = 0; i < a.Length; i++)
        {
            low = Math.Min(low, Math.Min(a[i], b[i]));
            high = Math.Max(high, Math.Max(a[i], b[i]));
        }
        double range = high - low;
        if (range == 0) return 1;
        double c1 = SsimK1 * range * SsimK1 * range, c2 = SsimK2 * range * SsimK2 * range;
        const int n = SsimWindow * SsimWindow;
        const double sampleCorrection = n / (n - 1.0);
        double sum = 0;
        int windows = 0;
        for (int y = 0; y + SsimWindow <= height; y++)
            for (int x = 0; x + SsimWindow <= width; x++)
            {
                double sa = 0, sb = 0, saa = 0, sbb = 0, sab = 0;
                for (int dy = 0; dy < SsimWindow; dy++)
                    for (int dx = 0; dx < SsimWindow; dx++)
                    {
                        int i = (y + dy) * width + x + dx;
                        double va = a[i], vb = b[i];
                        sa += va; sb += vb; saa += va * va; sbb += vb * vb; sab += va * vb;
                    }
                double ma = sa / n, mb = sb / n;
                double varA = sampleCorrection * (saa / n - ma * ma), varB = sampleCorrection * (sbb / n - mb * mb);
                double cov = sampleCorrection * (sab / n - ma * mb);
                sum += (2 * ma * mb + c1) * (2 * cov + c2) / ((ma * ma + mb * mb + c1) * (varA + varB + c2));
                windows++;
            }
        return sum / windows;
    }
}
