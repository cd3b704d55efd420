using Salient.Training;
using static TorchSharp.torch;

namespace Salient.Tests.Training;

public class AugmentationTests
{
    private const int Side = 8;

    /// <summary>Two images whose every pixel and channel differs, so any misplaced pixel shows.</summary>
    private static Tensor Images()
    {
        using var generator = new Generator(17);
        return rand([2, 3, Side, Side], generator: generator);
    }

    private static float At(Tensor t, int n, int c, int y, int x) => t[n, c, y, x].item<float>();

    [Fact]
    public void NoSettingsLeaveTheImagesUntouched()
    {
        using var images = Images();
        using var same = Augmentation.Apply(images, new AugmentationSettings(), seed: 1);
        Assert.True(same.equal(images).all().item<bool>());
        using var none = Augmentation.Apply(images, [Distortion.None, Distortion.None]);
        Assert.True(none.allclose(images, rtol: 0, atol: 1e-6));
    }

    [Fact]
    public void AShiftOfWholePixelsMovesTheContentAndRepeatsTheEdge()
    {
        using var images = Images();
        // 2/8 of the side = 2 pixels right, 1/8 = 1 pixel down.
        using var shifted = Augmentation.Apply(images, [Distortion.None with { ShiftX = 2.0 / Side, ShiftY = 1.0 / Side }, Distortion.None]);
        for (int c = 0; c < 3; c++)
            for (int y = 0; y < Side; y++)
                for (int x = 0; x < Side; x++)
                    Assert.Equal(At(images, 0, c, Math.Max(y - 1, 0), Math.Max(x - 2, 0)), At(shifted, 0, c, y, x), 5);
        Assert.True(shifted[1].allclose(images[1], rtol: 0, atol: 1e-6), "each image has its own distortion");
    }

    [Fact]
    public void APositiveQuarterTurnRotatesClockwiseAsDisplayed()
    {
        using var images = Images();
        using var turned = Augmentation.Apply(images, [Distortion.None with { RotateDegrees = 90 }, Distortion.None with { RotateDegrees = -90 }]);
        for (int c = 0; c < 3; c++)
            for (int y = 0; y < Side; y++)
                for (int x = 0; x < Side; x++)
                {
                    // Clockwise: the top row becomes the right column.
                    Assert.Equal(At(images, 0, c, Side - 1 - x, y), At(turned, 0, c, y, x), 5);
                    Assert.Equal(At(images, 1, c, x, Side - 1 - y), At(turned, 1, c, y, x), 5);
                }
    }

    [Fact]
    public void ZoomingInTwiceSpreadsTheCentralPixelsOverTheImage()
    {
        using var images = Images();
        using var zoomed = Augmentation.Apply(images, [Distortion.None with { Zoom = 2 }, Distortion.None]);
        // Output pixel centre (x + 0.5) maps to input position (x + 0.5 − 4)/2 + 4 − 0.5 = x/2 + 1.75 in pixel indices.
        for (int y = 0; y < Side; y++)
            for (int x = 0; x < Side; x++)
            {
                double sx = x / 2.0 + 1.75, sy = y / 2.0 + 1.75;
                int x0 = (int)Math.Floor(sx), y0 = (int)Math.Floor(sy);
                double fx = sx - x0, fy = sy - y0;
                double expected = (1 - fy) * ((1 - fx) * At(images, 0, 1, y0, x0) + fx * At(images, 0, 1, y0, x0 + 1))
                    + fy * ((1 - fx) * At(images, 0, 1, y0 + 1, x0) + fx * At(images, 0, 1, y0 + 1, x0 + 1));
                Assert.Equal(expected, At(zoomed, 0, 1, y, x), 5);
            }
    }

    [Fact]
    public void ContrastScalesDeviationsFromTheImageMeanThenBrightnessScalesAllClampedToOne()
    {
        // One image: half the pixels 0.2, half 0.6 (mean 0.4).
        using var image = zeros(1, 3, 2, 2);
        image[.., .., 0].fill_(0.2);
        image[.., .., 1].fill_(0.6);
        using var result = Augmentation.Apply(image, [Distortion.None with { Contrast = 0.5, Brightness = 1.5 }]);
        // Contrast: 0.4 ± 0.1 → 0.3 / 0.5; brightness ×1.5 → 0.45 / 0.75.
        Assert.Equal(0.45, At(result, 0, 2, 0, 1), 5);
        Assert.Equal(0.75, At(result, 0, 0, 1, 0), 5);
        using var bright = Augmentation.Apply(image, [Distortion.None with { Brightness = 1.9 }]);
        Assert.Equal(1.0, At(bright, 0, 1, 1, 1), 6);
        Assert.Equal(0.38, At(bright, 0, 1, 0, 1), 5);
    }

    [Fact]
    public void DrawsRepeatForASeedStayInTheirRangesAndNeverMirror()
    {
        var widest = new AugmentationSettings { Translate = 0.5, RotateDegrees = 180, Scale = 0.99, Brightness = 0.99, Contrast = 0.99 };
        var draws = Augmentation.Draw(widest, 2000, seed: 5);
        Assert.Equal(draws, Augmentation.Draw(widest, 2000, seed: 5));
        Assert.NotEqual(draws, Augmentation.Draw(widest, 2000, seed: 6));
        Assert.All(draws, d =>
        {
            Assert.InRange(d.ShiftX, -0.5, 0.5);
            Assert.InRange(d.ShiftY, -0.5, 0.5);
            Assert.InRange(d.RotateDegrees, -180, 180);
            // Rotations keep orientation; only a zoom ≤ 0 could mirror the image.
            Assert.InRange(d.Zoom, 0.01, 1.99);
            Assert.InRange(d.Brightness, 0.01, 1.99);
            Assert.InRange(d.Contrast, 0.01, 1.99);
        });
        // The draws fill their ranges rather than sitting at one value.
        Assert.True(draws.Min(d => d.RotateDegrees) < -170 && draws.Max(d => d.RotateDegrees) > 170);
        var only = Augmentation.Draw(new AugmentationSettings { RotateDegrees = 10 }, 50, seed: 5);
        Assert.All(only, d => Assert.Equal(Distortion.None with { RotateDegrees = d.RotateDegrees }, d));
    }

    [Fact]
    public void RandomDistortionsKeepPixelsInRange()
    {
        using var images = Images();
        var settings = new AugmentationSettings { Translate = 0.1, RotateDegrees = 10, Scale = 0.1, Brightness = 0.5, Contrast = 0.5 };
        using var result = Augmentation.Apply(images, settings, seed: 3);
        Assert.Equal(images.shape, result.shape);
        Assert.True(result.min().item<float>() >= 0 && result.max().item<float>() <= 1);
        Assert.False(result.allclose(images, rtol: 0, atol: 1e-3));
    }

    [Theory]
    [InlineData(double.NaN, 0, 0, "augmentation.translate")]
    [InlineData(0.6, 0, 0, "--augment-translate")]
    [InlineData(0, -1, 0, "augmentation.rotateDegrees")]
    [InlineData(0, 0, 1, "augmentation.scale")]
    public void BadSettingsNameTheSetting(double translate, double rotate, double scale, string named)
    {
        var e = Assert.Throws<SalientException>(new AugmentationSettings { Translate = translate, RotateDegrees = rotate, Scale = scale }.Validate);
        Assert.Contains(named, e.Message);
    }
}
