using System.IO.Compression;

namespace Salient.Data;

/// <summary>
/// Zip entries whose path starts with <see cref="From"/> (a folder ending in '/', or "" for the
/// whole archive) or equals it (one file) are unpacked to <see cref="To"/> + the rest of the path,
/// relative to the data folder. This is how an archive's own layout becomes the layout the reader takes.
/// </summary>
public sealed record ArchiveMapping(string From, string To)
{
    public string? Map(string entry)
    {
        if (From.Length == 0 || From.EndsWith('/')) return entry.StartsWith(From, StringComparison.Ordinal) ? To + entry[From.Length..] : null;
        return entry == From ? To : null;
    }
}

/// <summary>One archive of a data set: its file name, its published MD5, and what of it goes where.</summary>
public sealed record DataArchive(string FileName, string Md5, IReadOnlyList<ArchiveMapping> Unpack);

/// <summary>What an install did: the data set's folder and a line describing it, or that it was already there.</summary>
public sealed record InstallResult(string Folder, string Description, bool AlreadyPresent);

/// <summary>
/// Installing a data set folder from archives: everything is unpacked into a temporary sibling
/// folder (<c>NAME.unpacking</c>), checked, and only then renamed to the data set's folder, so a
/// failed or stopped install never leaves a folder that looks complete.
/// </summary>
public static class DataInstall
{
    /// <summary>True when <paramref name="target"/> already holds something: an install never overwrites it.</summary>
    public static bool IsPresent(string target) =>
        Directory.Exists(target) && Directory.EnumerateFileSystemEntries(target).Any();

    /// <summary>
    /// Runs <paramref name="unpack"/> into a fresh temporary folder, then <paramref name="check"/> on it
    /// (which returns the description, or throws), then renames it to <paramref name="target"/>.
    /// </summary>
    public static InstallResult Install(string target, Action<string> unpack, Func<string, string> check)
    {
        var full = Path.GetFullPath(target);
        var unpacking = full.TrimEnd(Path.DirectorySeparatorChar) + ".unpacking";
        if (Directory.Exists(unpacking)) Directory.Delete(unpacking, recursive: true); // left by a stopped run
        try
        {
            Directory.CreateDirectory(unpacking);
            unpack(unpacking);
            var description = check(unpacking);
            if (Directory.Exists(full)) Directory.Delete(full); // empty (IsPresent was false): the rename needs it gone
            Directory.Move(unpacking, full);
            return new InstallResult(full, description, AlreadyPresent: false);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new SalientException($"Cannot write the data set into '{Path.GetDirectoryName(full)}': {e.Message.TrimEnd('.')}; check that the folder is writable and the disk has room (pass --into to choose another folder).", e);
        }
        finally
        {
            if (Directory.Exists(unpacking)) Directory.Delete(unpacking, recursive: true);
        }
    }

    /// <summary>
    /// Unpacks the entries of a zip archive that a mapping selects into <paramref name="folder"/>. Every
    /// mapping must select something: an archive that lacks a part is not the archive expected.
    /// </summary>
    public static void Unpack(string archive, IReadOnlyList<ArchiveMapping> mappings, string folder, IProgress<DataProgress>? progress)
    {
        var root = Path.GetFullPath(folder) + Path.DirectorySeparatorChar;
        var name = Path.GetFileName(archive);
        try
        {
            using var zip = ZipFile.OpenRead(archive);
            var selected = new List<(ZipArchiveEntry Entry, string Relative)>();
            var used = new bool[mappings.Count];
            foreach (var entry in zip.Entries)
            {
                var path = entry.FullName.Replace('\\', '/');
                if (path.EndsWith('/')) continue; // folders are made for the files in them
                for (int m = 0; m < mappings.Count; m++)
                {
                    if (mappings[m].Map(path) is not { Length: > 0 } relative) continue;
                    selected.Add((entry, relative));
                    used[m] = true;
                    break;
                }
            }
            if (Array.IndexOf(used, false) is var missing and >= 0)
                throw new SalientException($"{archive} holds nothing at '{mappings[missing].From}', so it is not the archive expected; fetch {name} again from its official source.");

            long total = selected.Sum(s => s.Entry.Length), done = 0;
            foreach (var (entry, relative) in selected)
            {
                var destination = Path.GetFullPath(Path.Combine(root, relative));
                if (!destination.StartsWith(root, StringComparison.Ordinal))
                    throw new SalientException($"{archive} has an entry '{entry.FullName}' that points outside the folder it unpacks into; the archive is not safe to unpack.");
                Directory.CreateDirectory(Path.GetDirectoryName(destination)!);
                entry.ExtractToFile(destination, overwrite: true);
                done += entry.Length;
                progress?.Report(new DataProgress($"unpacking {name}", done, total));
            }
        }
        catch (InvalidDataException e)
        {
            throw new SalientException($"{archive} is not a readable zip archive ({e.Message.TrimEnd('.')}); fetch {name} again.", e);
        }
    }
}
