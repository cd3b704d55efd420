using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace Salient.Tests.Data;

/// <summary>Small image files with known pixels, written the way the real data sets store them.</summary>
public static class Fixtures
{
    /// <summary>A solid-colour image; ".ppm" is written as binary colour PPM like GTSRB's.</summary>
    public static void SolidImage(string path, int width, int height, Rgb24 colour) =>
        Image(path, width, height, (_, _) => colour);

    public static void Image(string path, int width, int height, Func<int, int, Rgb24> pixel)
    {
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(path)!);
        using var image = new Image<Rgb24>(width, height);
        var rgb = new byte[3 * width * height];
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
            {
                var p = image[x, y] = pixel(x, y);
                (rgb[3 * (y * width + x)], rgb[3 * (y * width + x) + 1], rgb[3 * (y * width + x) + 2]) = (p.R, p.G, p.B);
            }
        if (path.EndsWith(".ppm")) Salient.Data.Netpbm.WriteP6(path, width, height, rgb);
        else image.Save(path);
    }

    /// <summary>
    /// An official-layout GTSRB training folder: classes 0..classes-1, `tracks` tracks of `frames`
    /// frames each; class c has colour (10c, 200 − 10c, 50), images of varying size.
    /// </summary>
    public static string OfficialGtsrb(TempFolder temp, int classes, int tracks, int frames)
    {
        var images = temp["GTSRB/Final_Training/Images"];
        for (int c = 0; c < classes; c++)
        {
            var dir = System.IO.Path.Combine(images, $"{c:D5}");
            var lines = new List<string> { Salient.Data.Gtsrb.OfficialHeader };
            for (int t = 0; t < tracks; t++)
                for (int f = 0; f < frames; f++)
                {
                    var name = $"{t:D5}_{f:D5}.ppm";
                    int size = 20 + 7 * f + t;
                    SolidImage(System.IO.Path.Combine(dir, name), size, size + 3, ClassColour(c));
                    lines.Add($"{name};{size};{size + 3};1;1;{size - 2};{size};{c}");
                }
            File.WriteAllLines(System.IO.Path.Combine(dir, $"GT-{c:D5}.csv"), lines);
        }
        return temp["GTSRB"];
    }

    public static Rgb24 ClassColour(int c) => new((byte)(10 * c), (byte)(200 - 10 * c), 50);
}
