using static TorchSharp.torch;

namespace Salient.Data;

/// <summary>A pixel-space ROI box in the original image's coordinates (inclusive corners, as GTSRB's CSVs), and that image's size when known.</summary>
public readonly record struct RoiBox(int X1, int Y1, int X2, int Y2, int ImageWidth = 0, int ImageHeight = 0)
{
    /// <summary>
    /// The box in the image resized to size×size (row-major, 1 where at least half of a pixel lies in
    /// the box, as the synthetic signs' masks); all zero when the original size is unknown.
    /// </summary>
    public float[] MaskAt(int size)
    {
        var mask = new float[size * size];
        if (ImageWidth < 1 || ImageHeight < 1) return mask;
        // Resized pixel j covers [j, j + 1) · original / size of the original axis; the box covers [first, last + 1).
        double Covered(int j, int first, int last, int original) =>
            Math.Max(0, Math.Min(last + 1.0, (j + 1.0) * original / size) - Math.Max(first, (double)j * original / size)) * size / original;
        for (int y = 0; y < size; y++)
            for (int x = 0; x < size; x++)
                mask[y * size + x] = Covered(x, X1, X2, ImageWidth) * Covered(y, Y1, Y2, ImageHeight) >= 0.5 ? 1 : 0;
        return mask;
    }
}

/// <summary>
/// Images as one N×3×S×S float tensor in pixel space [0,1], with labels, class names and where each
/// image came from. Optional per-image extras: ROI box, physical-sign track (the group a split must
/// not cut), and a ground-truth sign mask (synthetic signs).
/// </summary>
public sealed class SignDataset : IDisposable
{
    public SignDataset(Tensor images, long[] labels, IReadOnlyList<string> classNames, string[] sources,
        string[]? groups = null, RoiBox?[]? rois = null, Tensor? masks = null)
    {
        if (images.dim() != 4 || images.shape[1] != 3)
            throw new ArgumentException($"Images must be N×3×H×W, got [{string.Join(",", images.shape)}].");
        long n = images.shape[0];
        if (labels.Length != n || sources.Length != n || (groups?.Length ?? n) != n || (rois?.Length ?? n) != n || (masks?.shape[0] ?? n) != n)
            throw new ArgumentException("Every per-image array must have one entry per image.");
        Images = images;
        Labels = labels;
        ClassNames = classNames;
        Sources = sources;
        Groups = groups ?? sources;
        Rois = rois ?? new RoiBox?[n];
        Masks = masks;
    }

    public Tensor Images { get; }
    public long[] Labels { get; }
    public IReadOnlyList<string> ClassNames { get; }
    /// <summary>Where each image came from (file path relative to the data folder, or a generator id).</summary>
    public string[] Sources { get; }
    /// <summary>Images sharing a group (a physical sign's track) go to the same side of a split.</summary>
    public string[] Groups { get; }
    public RoiBox?[] Rois { get; }
    /// <summary>N×S×S sign masks (1 = sign), when known: synthetic signs, and GTSRB's ROI boxes unless cropped to them; an all-zero mask = unknown for that image.</summary>
    public Tensor? Masks { get; }

    public int Count => Labels.Length;
    public int ImageSize => (int)Images.shape[2];

    public Tensor LabelTensor() => tensor(Labels, ScalarType.Int64);

    /// <summary>N×size×size masks of uncropped images from their ROI boxes; null when no box knows its image's size.</summary>
    public static Tensor? RoiMasks(IReadOnlyList<RoiBox?> rois, int size) =>
        rois.Any(r => r is { ImageWidth: > 0, ImageHeight: > 0 })
            ? tensor(rois.SelectMany(r => r?.MaskAt(size) ?? new float[size * size]).ToArray(), [rois.Count, size, size])
            : null;

    public SignDataset Subset(IReadOnlyList<int> indices)
    {
        using var idx = tensor(indices.Select(i => (long)i).ToArray(), ScalarType.Int64);
        return new SignDataset(
            Images.index_select(0, idx),
            indices.Select(i => Labels[i]).ToArray(),
            ClassNames,
            indices.Select(i => Sources[i]).ToArray(),
            indices.Select(i => Groups[i]).ToArray(),
            indices.Select(i => Rois[i]).ToArray(),
            Masks?.index_select(0, idx));
    }

    /// <summary>
    /// <paramref name="count"/> images spread evenly over the set (all of them if it has fewer): a
    /// fair sample even when the set is sorted by class, as test sets often are.
    /// </summary>
    public SignDataset EvenlySpaced(int count) =>
        Subset(Enumerable.Range(0, Math.Min(count, Count)).Select(i => EvenlySpacedIndex(i, count, Count)).ToArray());

    /// <summary>The index in a set of <paramref name="total"/> images of the <paramref name="i"/>-th of <see cref="EvenlySpaced"/>(<paramref name="count"/>).</summary>
    public static int EvenlySpacedIndex(int i, int count, int total) => (int)((long)i * total / Math.Min(count, total));

    /// <summary>Per-class image counts, indexed by class id.</summary>
    public int[] ClassCounts()
    {
        var counts = new int[ClassNames.Count];
        foreach (var l in Labels) counts[l]++;
        return counts;
    }

    public void Dispose()
    {
        Images.Dispose();
        Masks?.Dispose();
    }
}

/// <summary>A train/test pair sharing one class list.</summary>
public sealed record DataSplit(SignDataset Train, SignDataset Test, string Description) : IDisposable
{
    public IReadOnlyList<string> ClassNames => Train.ClassNames;

    public void Dispose()
    {
        Train.Dispose();
        Test.Dispose();
    }
}
