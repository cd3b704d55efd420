using Salient.Data;
using SixLabors.ImageSharp.PixelFormats;
using static TorchSharp.torch;

namespace Salient.Tests.Data;

public class DecodedCacheTests
{
    /// <summary>Bit-identical: same shape, every element equal.</summary>
    private static bool Same(Tensor a, Tensor b) => a.shape.SequenceEqual(b.shape) && a.equal(b).all().item<bool>();

    private static string CacheFolder(string root) => Path.Combine(root, DecodedCache.FolderName);

    /// <summary>Overwrites a file with garbage of the same length and keeps its time: invisible to the cache's stamp, fatal to decoding.</summary>
    private static void CorruptKeepingStamp(string path)
    {
        var time = File.GetLastWriteTimeUtc(path);
        File.WriteAllBytes(path, Enumerable.Repeat((byte)'x', (int)new FileInfo(path).Length).ToArray());
        File.SetLastWriteTimeUtc(path, time);
    }

    [Fact]
    public void SecondLoadReadsTheCacheAndGivesTheSamePixels()
    {
        using var temp = new TempFolder();
        var root = Fixtures.OfficialGtsrb(temp, classes: 3, tracks: 2, frames: 3); // sizes 20–35 px: every image resized
        using var first = Gtsrb.Load(root, new LoadOptions { Seed = 1 });
        Assert.Single(Directory.GetFiles(CacheFolder(root)));

        // With every image unreadable, only the cache can give the pixels.
        foreach (var ppm in Directory.GetFiles(root, "*.ppm", SearchOption.AllDirectories)) CorruptKeepingStamp(ppm);
        using var second = Gtsrb.Load(root, new LoadOptions { Seed = 1 });
        Assert.True(Same(first.Train.Images, second.Train.Images));
        Assert.True(Same(first.Test.Images, second.Test.Images));
        Assert.Equal(first.Train.Labels, second.Train.Labels);
        Assert.Equal(first.Train.Sources, second.Train.Sources);

        // Without the cache the same load must decode, and fails on the first corrupt file.
        Directory.Delete(CacheFolder(root), recursive: true);
        var e = Assert.Throws<SalientException>(() => Gtsrb.Load(root, new LoadOptions { Seed = 1 }));
        Assert.Contains("corrupt", e.Message);
    }

    [Fact]
    public void ImageSizeAndCropHaveTheirOwnCacheFiles()
    {
        using var temp = new TempFolder();
        var root = Fixtures.OfficialGtsrb(temp, classes: 2, tracks: 2, frames: 2);
        // A white frame outside the ROI box (1,1)–(18,20) of this 20×23 image: the crop changes its pixels.
        Fixtures.Image(Path.Combine(root, "Final_Training", "Images", "00000", "00000_00000.ppm"), 20, 23,
            (x, y) => x == 0 || y == 0 ? new Rgb24(255, 255, 255) : Fixtures.ClassColour(0));
        var entries = Gtsrb.OfficialTrainingEntries(Path.Combine(root, "Final_Training", "Images"));
        var variants = new[] { new LoadOptions(), new LoadOptions { ImageSize = 16 }, new LoadOptions { CropToRoi = true } };
        var decoded = variants.Select(o => ImageSet.Load(entries, Gtsrb.ClassNames, o, root)).ToList();
        Assert.Equal(3, Directory.GetFiles(CacheFolder(root)).Length);
        Assert.Equal([entries.Count, 3L, 16, 16], decoded[1].Images.shape);
        Assert.False(Same(decoded[0].Images, decoded[2].Images));

        foreach (var ppm in Directory.GetFiles(root, "*.ppm", SearchOption.AllDirectories)) CorruptKeepingStamp(ppm);
        for (int v = 0; v < variants.Length; v++)
        {
            using var cached = ImageSet.Load(entries, Gtsrb.ClassNames, variants[v], root);
            Assert.True(Same(decoded[v].Images, cached.Images), $"variant {v}");
            decoded[v].Dispose();
        }
    }

    [Theory]
    [InlineData("same size, later time")]
    [InlineData("other size")]
    public void ChangedImageRebuildsTheCache(string change)
    {
        using var temp = new TempFolder();
        var root = Fixtures.OfficialGtsrb(temp, classes: 2, tracks: 1, frames: 2);
        var image = Path.Combine(root, "Final_Training", "Images", "00001", "00000_00001.ppm");
        var entries = Gtsrb.OfficialTrainingEntries(Path.Combine(root, "Final_Training", "Images"));
        int index = entries.FindIndex(e => e.FilePath == image);
        using (var before = ImageSet.Load(entries, Gtsrb.ClassNames, new LoadOptions(), root))
            Assert.Equal(Fixtures.ClassColour(1).R / 255f, before.Images[index, 0, 3, 3].item<float>());

        var white = new Rgb24(255, 255, 255);
        if (change == "other size")
            Fixtures.SolidImage(image, 40, 40, white);
        else
        {
            var time = File.GetLastWriteTimeUtc(image);
            var (w, h, _) = Netpbm.Read(image);
            Fixtures.SolidImage(image, w, h, white);
            File.SetLastWriteTimeUtc(image, time.AddSeconds(1)); // an edit made later, on a file system with coarse clocks
        }
        using var after = ImageSet.Load(entries, Gtsrb.ClassNames, new LoadOptions(), root);
        Assert.Equal(1f, after.Images[index].min().item<float>());
        Assert.Equal(Fixtures.ClassColour(0).G / 255f, after.Images[0, 1, 3, 3].item<float>());
        // One cache file for this selection of images: the stale one was replaced, not kept beside.
        Assert.Single(Directory.GetFiles(CacheFolder(root)));
    }

    [Fact]
    public void ReadOnlyDataFolderIsLeftAloneAndTheCacheGoesToTheUserCache()
    {
        if (OperatingSystem.IsWindows()) return; // folder modes are a Unix notion; Windows always writes next to the data
        using var temp = new TempFolder();
        using var userCache = new ScopedEnvironment("XDG_CACHE_HOME", temp["user-cache"]);
        var root = Fixtures.OfficialGtsrb(temp, classes: 2, tracks: 2, frames: 1);
        var mode = File.GetUnixFileMode(root);
        File.SetUnixFileMode(root, UnixFileMode.UserRead | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
        try
        {
            using var first = Gtsrb.Load(root, new LoadOptions());
            Assert.False(Directory.Exists(CacheFolder(root)));
            var cached = Directory.GetFiles(temp["user-cache/salient/decoded"], "*.bin", SearchOption.AllDirectories);
            Assert.Single(cached);
            Assert.Equal(DecodedCache.Locations(root, Path.GetFileName(cached[0])).UserCache, cached[0]);
            foreach (var ppm in Directory.GetFiles(root, "*.ppm", SearchOption.AllDirectories)) CorruptKeepingStamp(ppm);
            using var second = Gtsrb.Load(root, new LoadOptions());
            Assert.True(Same(first.Train.Images, second.Train.Images));
        }
        finally
        {
            File.SetUnixFileMode(root, mode);
        }
    }
}
