using static TorchSharp.torch;

namespace Salient.Reporting;

/// <summary>
/// Saliency maps as RGBA pixels (row-major, 4 bytes per pixel), coloured with an inferno-like
/// scale (black → purple → red → orange → pale yellow), alone or blended over the explained image.
/// </summary>
public static class Heatmaps
{
    // Inferno sampled at 0, 0.1, …, 1; colours between stops are interpolated linearly.
    private static readonly (byte R, byte G, byte B)[] InfernoStops =
    [
        (0x00, 0x00, 0x04), (0x16, 0x0B, 0x39), (0x42, 0x0A, 0x68), (0x6A, 0x17, 0x6E), (0x93, 0x26, 0x67), (0xBC, 0x37, 0x54),
        (0xDD, 0x51, 0x3A), (0xF3, 0x78, 0x19), (0xFC, 0xA5, 0x0A), (0xF6, 0xD7, 0x46), (0xFC, 0xFF, 0xA4),
    ];

    /// <summary>The colour of a value in [0,1] (values outside are clamped).</summary>
    public static (byte R, byte G, byte B) Inferno(double value)
    {
        double position = Math.Clamp(double.IsNaN(value) ? 0 : value, 0, 1) * (InfernoStops.Length - 1);
        int low = Math.Min((int)position, InfernoStops.Length - 2);
        double fraction = position - low;
        var (a, b) = (InfernoStops[low], InfernoStops[low + 1]);
        static byte Mix(byte x, byte y, double f) => (byte)Math.Round(x + (y - x) * f);
        return (Mix(a.R, b.R, fraction), Mix(a.G, b.G, fraction), Mix(a.B, b.B, fraction));
    }

    /// <summary>
    /// One RGBA image per map of an N×H×W tensor. Each map is scaled by its own maximum, so the
    /// brightest pixel is the most salient one of that image; negative values (signed IG) show as 0.
    /// </summary>
    public static byte[][] Colourise(Tensor maps)
    {
        var scaled = ScaledMaps(maps);
        var result = new byte[scaled.Length][];
        for (int n = 0; n < scaled.Length; n++)
        {
            var rgba = result[n] = new byte[scaled[n].Length * 4];
            for (int i = 0; i < scaled[n].Length; i++)
            {
                var (r, g, b) = Inferno(scaled[n][i]);
                (rgba[4 * i], rgba[4 * i + 1], rgba[4 * i + 2], rgba[4 * i + 3]) = (r, g, b, 255);
            }
        }
        return result;
    }

    /// <summary>
    /// The heat map blended over pixel-space images (N×3×H×W in [0,1]):
    /// (1 − opacity)·image + opacity·colour, per channel.
    /// </summary>
    public static byte[][] Overlay(Tensor maps, Tensor pixels, double opacity = 0.5)
    {
        if (pixels.dim() != 4 || pixels.shape[1] != 3 || maps.dim() != 3 || pixels.shape[0] != maps.shape[0]
            || pixels.shape[2] != maps.shape[1] || pixels.shape[3] != maps.shape[2])
            throw new SalientException($"An overlay needs images N×3×H×W matching the maps N×H×W, got [{string.Join("×", pixels.shape)}] and [{string.Join("×", maps.shape)}]; pass the images that were explained.");
        if (!(opacity >= 0 && opacity <= 1))
            throw new SalientException($"The overlay opacity must lie in [0,1], got {opacity}.");
        var colours = Colourise(maps);
        var images = pixels.detach().to(float32).cpu().clamp(0, 1).contiguous().data<float>().ToArray();
        int area = (int)(maps.shape[1] * maps.shape[2]);
        for (int n = 0; n < colours.Length; n++)
            for (int i = 0; i < area; i++)
                for (int c = 0; c < 3; c++)
                {
                    double image = images[(n * 3 + c) * area + i] * 255.0;
                    colours[n][4 * i + c] = (byte)Math.Round((1 - opacity) * image + opacity * colours[n][4 * i + c]);
                }
        return colours;
    }

    private static float[][] ScaledMaps(Tensor maps)
    {
        if (maps.dim() != 3)
            throw new SalientException($"Saliency maps must be N×H×W, got shape [{string.Join("×", maps.shape)}]; reduce attributions with SaliencyMap.Reduce first.");
        long count = maps.shape[0], area = maps.shape[1] * maps.shape[2];
        var values = maps.detach().to(float32).cpu().contiguous().data<float>().ToArray();
        var result = new float[count][];
        for (long n = 0; n < count; n++)
        {
            var map = values.AsSpan((int)(n * area), (int)area).ToArray();
            float max = map.Max();
            for (int i = 0; i < map.Length; i++) map[i] = max > 0 ? Math.Max(map[i], 0) / max : 0;
            result[n] = map;
        }
        return result;
    }
}
