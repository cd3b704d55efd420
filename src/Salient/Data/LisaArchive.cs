using System.IO.Compression;

namespace Salient.Data;

/// <summary>
/// Installs LISA from the archive its authors hand out on request (signDatabasePublicFramesOnly.zip):
/// the folder that holds <see cref="Lisa.AnnotationFile"/> in the archive becomes the data set's
/// folder. No checksum is published, so the check is the content: the annotation file reads with
/// LISA's columns and every image it names is in the archive, before the long unpacking starts.
/// </summary>
public static class LisaArchive
{
    public static InstallResult Install(string archive, string target, IProgress<DataProgress>? progress)
    {
        var full = Path.GetFullPath(target);
        if (DataInstall.IsPresent(target))
            return new InstallResult(full, $"LISA is already in {full}; delete that folder to install it again.", AlreadyPresent: true);
        if (!File.Exists(archive))
            throw new SalientException($"--from-archive '{archive}' does not exist; pass the LISA zip archive (signDatabasePublicFramesOnly.zip).");

        var mapping = new ArchiveMapping(AnnotationFolder(archive), "");
        return DataInstall.Install(target,
            folder =>
            {
                DataInstall.Unpack(archive, [new ArchiveMapping(mapping.From + Lisa.AnnotationFile, Lisa.AnnotationFile)], folder, progress);
                RequireListedImages(archive, mapping, folder);
                DataInstall.Unpack(archive, [mapping], folder, progress);
            },
            folder =>
            {
                var (entries, classes) = Lisa.ReadEntries(folder, paperClasses: false);
                int images = entries.Select(e => e.FilePath).Distinct().Count();
                return $"LISA is in {full}: {entries.Count} signs of {classes.Count} annotation tags in {images} images.";
            });
    }

    /// <summary>The archive folder ("" or "DIR/") of its shallowest annotation file.</summary>
    private static string AnnotationFolder(string archive)
    {
        try
        {
            using var zip = ZipFile.OpenRead(archive);
            var csv = zip.Entries.Select(e => e.FullName.Replace('\\', '/'))
                .Where(n => n == Lisa.AnnotationFile || n.EndsWith("/" + Lisa.AnnotationFile, StringComparison.Ordinal))
                .OrderBy(n => n.Count(c => c == '/'))
                .FirstOrDefault()
                ?? throw new SalientException($"'{archive}' holds no {Lisa.AnnotationFile}, so it is not the LISA archive; pass signDatabasePublicFramesOnly.zip as its authors hand it out.");
            return csv[..^Lisa.AnnotationFile.Length];
        }
        catch (InvalidDataException e)
        {
            throw new SalientException($"'{archive}' is not a readable zip archive ({e.Message.TrimEnd('.')}); pass the LISA zip archive (signDatabasePublicFramesOnly.zip).", e);
        }
    }

    private static void RequireListedImages(string archive, ArchiveMapping mapping, string folder)
    {
        var (entries, _) = Lisa.ReadEntries(folder, paperClasses: false);
        using var zip = ZipFile.OpenRead(archive);
        var held = zip.Entries.Select(e => mapping.Map(e.FullName.Replace('\\', '/'))).OfType<string>().ToHashSet(StringComparer.Ordinal);
        var absent = entries.Select(e => Path.GetRelativePath(folder, e.FilePath).Replace('\\', '/')).FirstOrDefault(p => !held.Contains(p));
        if (absent is not null)
            throw new SalientException($"The archive's {Lisa.AnnotationFile} names '{absent}', which '{archive}' does not hold; the archive is incomplete: fetch it again.");
    }
}
