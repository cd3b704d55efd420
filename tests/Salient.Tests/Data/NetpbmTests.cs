using Salient.Data;
using static TorchSharp.torch;

namespace Salient.Tests.Data;

public class NetpbmTests
{
    [Theory]
    [InlineData(10)]
    [InlineData(32)]
    [InlineData(9)]
    public void RasterStartingWithAWhitespaceByteIsReadExactly(byte first)
    {
        using var temp = new TempFolder();
        var path = temp["a.ppm"];
        File.WriteAllBytes(path, [.. "P6\n# comment\n2 1\n255\n"u8, first, 190, 50, 7, 8, 9]);
        var (w, h, rgb) = Netpbm.Read(path);
        Assert.Equal((2, 1), (w, h));
        Assert.Equal([first, 190, 50, 7, 8, 9], rgb);
    }

    [Fact]
    public void PlainGreyAndSixteenBitSamplesAreScaledTo8Bits()
    {
        using var temp = new TempFolder();
        File.WriteAllText(temp["g.pgm"], "P2 2 1 15 0 15");
        Assert.Equal([0, 0, 0, 255, 255, 255], Netpbm.Read(temp["g.pgm"]).Rgb);
        File.WriteAllBytes(temp["w.ppm"], [.. "P6 1 1 65535\n"u8, 0xFF, 0xFF, 0x80, 0x00, 0x00, 0x00]);
        Assert.Equal([255, 128, 0], Netpbm.Read(temp["w.ppm"]).Rgb);
    }

    [Fact]
    public void WrittenFilesReadBackThroughTheImageLoader()
    {
        using var temp = new TempFolder();
        float[] chw = [0f, 1f, 32 / 255f, 10 / 255f, 0.5f, 0.25f, 1f, 0f, 0.75f, 0.2f, 0.4f, 0.6f];
        ImageFiles.Save(chw, 2, 2, temp["x.ppm"]);
        var back = new byte[12];
        ImageFiles.LoadBytesInto(temp["x.ppm"], 2, null, back, "test");
        Assert.Equal(chw.Select(v => (byte)MathF.Round(v * 255)), back);
        // The float pixels are exactly byte / 255.
        using var pixels = ImageFiles.ToPixels(back, 1, 2);
        Assert.Equal(back.Select(b => b / 255f), pixels.data<float>().ToArray());
    }

    [Fact]
    public void EveryByteBecomesExactlyItsFractionOf255()
    {
        // All 256 values in several lane positions (libtorch vectorises the division in blocks).
        var samples = Enumerable.Range(0, 3 * 16 * 16 * 5).Select(i => (byte)(i * 7 % 256)).ToArray();
        using var pixels = ImageFiles.ToPixels(samples, 5, 16);
        Assert.Equal([5L, 3, 16, 16], pixels.shape);
        var floats = pixels.data<float>().ToArray();
        Assert.All(Enumerable.Range(0, samples.Length), i => Assert.Equal(BitConverter.SingleToInt32Bits(samples[i] / 255f), BitConverter.SingleToInt32Bits(floats[i])));
    }

    [Fact]
    public void TruncatedFileIsReportedAsCorrupt()
    {
        using var temp = new TempFolder();
        File.WriteAllBytes(temp["t.ppm"], [.. "P6 4 4 255\n"u8, 1, 2, 3]);
        var e = Assert.Throws<SalientException>(() => ImageFiles.LoadBytesInto(temp["t.ppm"], 32, null, new byte[3 * 32 * 32], "GT-00000.csv line 2"));
        Assert.Contains("corrupt", e.Message);
        Assert.Contains("GT-00000.csv line 2", e.Message);
    }
}
