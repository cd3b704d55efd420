using static TorchSharp.torch;

namespace Salient.Data;

/// <summary>One image a loader found: its file, label, optional ROI box and track, and the CSV line that named it.</summary>
public sealed record ImageEntry(string FilePath, int ClassId, RoiBox? Roi, string Group, string Where);

/// <summary>Settings shared by the folder loaders.</summary>
public sealed record LoadOptions
{
    /// <summary>Images are resized to this square size (pixels).</summary>
    public int ImageSize { get; init; } = 32;
    /// <summary>Crop each image to its annotated ROI box before resizing (GTSRB); LISA always crops its boxes.</summary>
    public bool CropToRoi { get; init; }
    /// <summary>Drives every seeded split.</summary>
    public ulong Seed { get; init; } = 0;
    /// <summary>Share of tracks held out when a data set has no official test split.</summary>
    public double TestFraction { get; init; } = 0.2;
    /// <summary>LISA only: keep the paper's 14 classes (speed limits merged) instead of all 47 tags.</summary>
    public bool LisaPaperClasses { get; init; }
}

/// <summary>
/// Decodes a list of entries into a <see cref="SignDataset"/>, in parallel, failing on the first bad
/// row; the decoded pixels are cached (<see cref="DecodedCache"/>), so a folder is decoded once.
/// </summary>
public static class ImageSet
{
    public static SignDataset Load(IReadOnlyList<ImageEntry> entries, IReadOnlyList<string> classNames, LoadOptions options, string baseFolder) =>
        LoadParts(entries, classNames, options, baseFolder, Enumerable.Range(0, entries.Count).ToArray())[0];

    /// <summary>
    /// One data set per list of entry indices (a split's sides): all entries are decoded (or read from
    /// the cache) together, and each part's pixels are made once, without an intermediate whole set.
    /// </summary>
    public static SignDataset[] LoadParts(IReadOnlyList<ImageEntry> entries, IReadOnlyList<string> classNames, LoadOptions options, string baseFolder,
        params IReadOnlyList<int>[] parts)
    {
        int s = options.ImageSize;
        int per = 3 * s * s;
        if (entries.FirstOrDefault(e => e.ClassId < 0 || e.ClassId >= classNames.Count) is { } bad)
            throw new SalientException($"{bad.Where} has class id {bad.ClassId}, outside 0…{classNames.Count - 1}; fix the id or delete that row.");

        var samples = DecodedCache.GetOrDecode(entries, options, baseFolder, () => Decode(entries, options));
        return parts.Select(indices =>
        {
            var partSamples = new byte[checked(indices.Count * per)];
            for (int i = 0; i < indices.Count; i++) samples.AsSpan(indices[i] * per, per).CopyTo(partSamples.AsSpan(i * per, per));
            var part = indices.Select(i => entries[i]).ToList();
            return new SignDataset(ImageFiles.ToPixels(partSamples, part.Count, s),
                part.Select(e => (long)e.ClassId).ToArray(),
                classNames,
                part.Select(e => Path.GetRelativePath(baseFolder, e.FilePath)).ToArray(),
                part.Select(e => e.Group).ToArray(),
                part.Select(e => e.Roi).ToArray(),
                options.CropToRoi ? null : SignDataset.RoiMasks(part.Select(e => e.Roi).ToArray(), s));
        }).ToArray();
    }

    private static byte[] Decode(IReadOnlyList<ImageEntry> entries, LoadOptions options)
    {
        int s = options.ImageSize;
        int per = 3 * s * s;
        var samples = new byte[checked(entries.Count * per)];
        var errors = new SalientException?[entries.Count];
        Parallel.For(0, entries.Count, i =>
        {
            var e = entries[i];
            try
            {
                ImageFiles.LoadBytesInto(e.FilePath, s, options.CropToRoi ? e.Roi : null, samples.AsSpan(i * per, per), e.Where);
            }
            catch (SalientException ex)
            {
                errors[i] = ex;
            }
        });
        // Report the first bad row in file order, so the message does not depend on thread timing.
        if (errors.FirstOrDefault(x => x is not null) is { } first) throw first;
        return samples;
    }
}
