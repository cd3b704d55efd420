using Salient.Reporting;
using static TorchSharp.torch;

namespace Salient.Tests.Reporting;

public class HeatmapsTests
{
    [Fact]
    public void InfernoRunsFromNearBlackToPaleYellowThroughItsStops()
    {
        Assert.Equal(((byte)0, (byte)0, (byte)4), Heatmaps.Inferno(0));
        Assert.Equal(((byte)0xFC, (byte)0xFF, (byte)0xA4), Heatmaps.Inferno(1));
        Assert.Equal(((byte)0xBC, (byte)0x37, (byte)0x54), Heatmaps.Inferno(0.5));
        // Halfway between the first two stops (0x00,0x00,0x04) and (0x16,0x0B,0x39).
        Assert.Equal(((byte)11, (byte)6, (byte)30), Heatmaps.Inferno(0.05));
        Assert.Equal(Heatmaps.Inferno(1), Heatmaps.Inferno(3));
        Assert.Equal(Heatmaps.Inferno(0), Heatmaps.Inferno(-2));
    }

    [Fact]
    public void EachMapIsScaledByItsOwnMaximumAndNegativesShowAsZero()
    {
        var maps = tensor(new float[] { 0, 2, 4, -1, 10, 10, 10, 10 }).view(2, 2, 2);
        var rgba = Heatmaps.Colourise(maps);
        Assert.Equal(2, rgba.Length);
        byte[] Pixel(int n, int i) => rgba[n][(4 * i)..(4 * i + 4)];
        var (r0, g0, b0) = Heatmaps.Inferno(0);
        var (r1, g1, b1) = Heatmaps.Inferno(1);
        var (rh, gh, bh) = Heatmaps.Inferno(0.5);
        Assert.Equal([r0, g0, b0, 255], Pixel(0, 0));
        Assert.Equal([rh, gh, bh, 255], Pixel(0, 1));
        Assert.Equal([r1, g1, b1, 255], Pixel(0, 2));
        Assert.Equal([r0, g0, b0, 255], Pixel(0, 3));
        Assert.All(Enumerable.Range(0, 4), i => Assert.Equal([r1, g1, b1, 255], Pixel(1, i)));
    }

    [Fact]
    public void OverlayBlendsImageAndColours()
    {
        var maps = tensor(new float[] { 0, 1, 2, 3 }).view(1, 2, 2);
        var image = tensor(new float[] { 0, 0.2f, 0.4f, 1, 1, 1, 0, 0, 0.5f, 0.5f, 0.5f, 0.5f }).view(1, 3, 2, 2);
        var colours = Heatmaps.Colourise(maps)[0];
        var imageOnly = Heatmaps.Overlay(maps, image, opacity: 0)[0];
        Assert.Equal(new byte[] { 0, 255, 128, 255, 51, 255, 128, 255 }, imageOnly[..8]);
        Assert.Equal(colours, Heatmaps.Overlay(maps, image, opacity: 1)[0]);
        var half = Heatmaps.Overlay(maps, image, opacity: 0.5)[0];
        Assert.Equal((byte)Math.Round(0.5 * 0.4 * 255 + 0.5 * colours[8]), half[8]);
        Assert.Throws<SalientException>(() => Heatmaps.Overlay(maps, zeros(1, 3, 4, 4)));
        Assert.Throws<SalientException>(() => Heatmaps.Colourise(zeros(4, 4)));
    }
}
