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

/// <summary>Decodes a list of entries into a <see cref="SignDataset"/>, in parallel, failing on the first bad row.</summary>
public static class ImageSet
{
    public static SignDataset Load(IReadOnlyList<ImageEntry> entries, IReadOnlyList<string> classNames, LoadOptions options, string baseFolder)
    {
        int s = options.ImageSize;
        int per = 3 * s * s;
        var pixels = new float[(long)entries.Count * per];
        var errors = new SalientException?[entries.Count];
        Parallel.For(0, entries.Count, i =>
        {
            var e = entries[i];
            if (e.ClassId < 0 || e.ClassId >= classNames.Count)
            {
                errors[i] = new SalientException($"{e.Where} has class id {e.ClassId}, outside 0…{classNames.Count - 1}; fix the id or delete that row.");
                return;
            }
            try
            {
                ImageFiles.LoadInto(e.FilePath, s, options.CropToRoi ? e.Roi : null, pixels.AsSpan(i * per, per), e.Where);
            }
            catch (SalientException ex)
            {
                errors[i] = ex;
            }
        });
        // Report the first bad row in file order, so the message does not depend on thread timing.
        if (errors.FirstOrDefault(x => x is not null) is { } first) throw first;

        var images = tensor(pixels, [entries.Count, 3, s, s]);
        return new SignDataset(images,
            entries.Select(e => (long)e.ClassId).ToArray(),
            classNames,
            entries.Select(e => Path.GetRelativePath(baseFolder, e.FilePath)).ToArray(),
            entries.Select(e => e.Group).ToArray(),
            entries.Select(e => e.Roi).ToArray(),
            options.CropToRoi ? null : SignDataset.RoiMasks(entries.Select(e => e.Roi).ToArray(), s));
    }
}
