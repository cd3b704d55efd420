using System.Diagnostics;
using System.Formats.Tar;
using System.IO.Compression;
using Salient.Data;

namespace Salient.Bench;

/// <summary>
/// Loading the whole GTSRB training split (39,209 PPM files, 32×32) as training does: cold (no
/// decoded cache: every file decoded, then the cache written) and cached (the next load). The split
/// comes from gtsrb-train32.tar.gz (SALIENT_BENCH_GTSRB_TAR, default the shared copy), extracted
/// once into the temporary folder; without it both keys are skipped.
/// </summary>
public static class DataBench
{
    private static readonly string Tarball = Environment.GetEnvironmentVariable("SALIENT_BENCH_GTSRB_TAR") is { Length: > 0 } t
        ? t : "/work/shared/data/gtsrb-train32.tar.gz";

    private static readonly Lazy<string?> folder = new(() =>
    {
        var root = Path.Combine(Path.GetTempPath(), "salient-bench-gtsrb");
        var gtsrb = Path.Combine(root, "GTSRB");
        if (Directory.Exists(gtsrb)) return gtsrb;
        if (!File.Exists(Tarball))
        {
            Console.Error.WriteLine($"skipped: {Tarball} is absent (set SALIENT_BENCH_GTSRB_TAR to gtsrb-train32.tar.gz)");
            return null;
        }
        Console.Error.WriteLine($"extracting {Tarball} into {root} (once) ...");
        var unpacking = root + ".unpacking";
        if (Directory.Exists(unpacking)) Directory.Delete(unpacking, recursive: true);
        Directory.CreateDirectory(unpacking);
        using (var gzip = new GZipStream(File.OpenRead(Tarball), CompressionMode.Decompress))
            TarFile.ExtractToDirectory(gzip, unpacking, overwriteFiles: false);
        if (Directory.Exists(root)) Directory.Delete(root, recursive: true);
        Directory.Move(unpacking, root);
        return gtsrb;
    });

    /// <summary>First load of the split: decodes every file and writes the decoded cache.</summary>
    public static double ColdLoad()
    {
        if (folder.Value is not { } gtsrb) return double.NaN;
        var cache = Path.Combine(gtsrb, DecodedCache.FolderName);
        if (Directory.Exists(cache)) Directory.Delete(cache, recursive: true);
        return TimeLoad(gtsrb);
    }

    /// <summary>A load that finds the decoded cache (after <see cref="ColdLoad"/> or an earlier run).</summary>
    public static double CachedLoad()
    {
        if (folder.Value is not { } gtsrb) return double.NaN;
        // The warm-up load builds the cache when the cold key was not measured.
        return Benchmarks.Median(() => Load(gtsrb), repeats: 3, warmup: 1);
    }

    private static double TimeLoad(string gtsrb)
    {
        var watch = Stopwatch.StartNew();
        Load(gtsrb);
        return watch.Elapsed.TotalSeconds;
    }

    private static void Load(string gtsrb)
    {
        using var split = Gtsrb.Load(gtsrb, new LoadOptions());
    }
}
