using System.Security.Cryptography;
using System.Text;

namespace Salient.Data;

/// <summary>
/// Decoded images kept in a file, so a data set is decoded once rather than on every load (the
/// whole GTSRB training split is 39,209 small files). The file is named by what selects the images
/// (image size, crop, the files' relative names and crop boxes) and stamped with what else
/// determines their pixels (each file's size and modification time, and <see cref="DecoderVersion"/>):
/// a file whose stamp differs is stale and is rebuilt, never read. It lives next to the data when
/// that folder is writable, else under the user's cache folder.
/// </summary>
public static class DecodedCache
{
    /// <summary>Raise this whenever decoding changes what pixels a file gives: every cache file then goes stale.</summary>
    public const int DecoderVersion = 1;

    public const string FolderName = ".salient-cache";
    private static readonly byte[] Magic = "SALDEC01"u8.ToArray();
    private const int StampBytes = 32;
    private const int HeaderBytes = 8 + StampBytes + 4 + 4;

    /// <summary>
    /// The 8-bit CHW samples of every entry (N·3·size·size bytes): read from a cache file whose stamp
    /// matches, or decoded by <paramref name="decode"/> and then cached. A cache that cannot be
    /// written anywhere only costs the next load its speed.
    /// </summary>
    public static byte[] GetOrDecode(IReadOnlyList<ImageEntry> entries, LoadOptions options, string baseFolder, Func<byte[]> decode)
    {
        var key = KeyOf(entries, options, baseFolder);
        if (key is null) return decode(); // a listed file is missing: decoding reports which
        int per = 3 * options.ImageSize * options.ImageSize;
        var (nextToData, userCache) = Locations(baseFolder, key.Value.Name);
        foreach (var path in new[] { nextToData, userCache })
            if (TryRead(path, key.Value.Stamp, entries.Count, options.ImageSize) is { } cached) return cached;

        var pixels = decode();
        if (pixels.Length != (long)entries.Count * per) throw new InvalidOperationException("Decoded pixels do not match the entries.");
        foreach (var path in MayWriteIn(baseFolder) ? [nextToData, userCache] : new[] { userCache })
        {
            try
            {
                AtomicFile.Write(path, stream => Write(stream, key.Value.Stamp, entries.Count, options.ImageSize, pixels));
                break;
            }
            catch (SalientException)
            {
                // Not writable after all (another user's folder, a full disk): try the next place.
            }
        }
        return pixels;
    }

    /// <summary>Where a data folder's cache file named <paramref name="name"/> is looked for and written, in that order.</summary>
    public static (string NextToData, string UserCache) Locations(string baseFolder, string name)
    {
        var full = Path.GetFullPath(baseFolder);
        var folderId = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(full)))[..16];
        return (Path.Combine(full, FolderName, name), Path.Combine(DataFolders.UserCache, "decoded", folderId, name));
    }

    /// <summary>
    /// The cache file's name and stamp, or null when a listed file does not exist. Names select the
    /// images, so they go in the file name (train and test of one folder get a file each); sizes and
    /// times only say whether the same files changed, so they go in the stamp.
    /// </summary>
    private static (string Name, byte[] Stamp)? KeyOf(IReadOnlyList<ImageEntry> entries, LoadOptions options, string baseFolder)
    {
        var selection = new StringBuilder($"size={options.ImageSize};crop={options.CropToRoi}\n");
        var stamp = new StringBuilder($"decoder={DecoderVersion}\n");
        foreach (var e in entries)
        {
            var file = new FileInfo(e.FilePath);
            if (!file.Exists) return null;
            selection.Append(Path.GetRelativePath(baseFolder, e.FilePath));
            if (options.CropToRoi && e.Roi is { } r) selection.Append($";{r.X1},{r.Y1},{r.X2},{r.Y2}");
            selection.Append('\n');
            stamp.Append($"{file.Length};{file.LastWriteTimeUtc.Ticks}\n");
        }
        var selectionHash = SHA256.HashData(Encoding.UTF8.GetBytes(selection.ToString()));
        var name = $"decoded-{options.ImageSize}px-{Convert.ToHexStringLower(selectionHash)[..16]}.bin";
        return (name, SHA256.HashData([.. selectionHash, .. Encoding.UTF8.GetBytes(stamp.ToString())]));
    }

    private static byte[]? TryRead(string path, byte[] stamp, int count, int size)
    {
        long pixelBytes = (long)count * 3 * size * size;
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20);
            if (stream.Length != HeaderBytes + pixelBytes) return null;
            var header = new byte[HeaderBytes];
            stream.ReadExactly(header);
            if (!header.AsSpan(0, 8).SequenceEqual(Magic) || !header.AsSpan(8, StampBytes).SequenceEqual(stamp)
                || BitConverter.ToInt32(header, 8 + StampBytes) != count || BitConverter.ToInt32(header, 12 + StampBytes) != size)
                return null;
            var pixels = GC.AllocateUninitializedArray<byte>(checked((int)pixelBytes));
            stream.ReadExactly(pixels);
            return pixels;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null; // absent or unreadable: decode instead
        }
    }

    private static void Write(Stream stream, byte[] stamp, int count, int size, byte[] pixels)
    {
        stream.Write(Magic);
        stream.Write(stamp);
        stream.Write(BitConverter.GetBytes(count));
        stream.Write(BitConverter.GetBytes(size));
        stream.Write(pixels);
    }

    /// <summary>
    /// Whether a folder is meant to be written: on Unix some write permission bit must be set, so a
    /// folder shared read-only (mode r-x) stays untouched even by root, who could write anyway.
    /// </summary>
    private static bool MayWriteIn(string folder)
    {
        if (OperatingSystem.IsWindows()) return true;
        const UnixFileMode anyWrite = UnixFileMode.UserWrite | UnixFileMode.GroupWrite | UnixFileMode.OtherWrite;
        return (File.GetUnixFileMode(folder) & anyWrite) != 0;
    }
}
