using System.Runtime.InteropServices;
using SkiaSharp;
using static TorchSharp.torch;

namespace Salient.Reporting;

/// <summary>PNG figures of saliency maps: the paper-style grid, and one map over its image with a colour bar.</summary>
public static class SaliencyFigures
{
    private const int Cell = 96, LabelWidth = 150, HeaderHeight = 24;

    /// <summary>One row of a grid: a label, the input image (3×H×W pixels) and one H×W map per column (null = blank).</summary>
    public sealed record GridRow(string Label, Tensor Image, IReadOnlyList<Tensor?> Maps);

    /// <summary>Rows = models, columns = the input image then each method's map (each map scaled by its own maximum).</summary>
    public static void Grid(string path, IReadOnlyList<string> columns, IReadOnlyList<GridRow> rows)
    {
        int width = LabelWidth + Cell * (1 + columns.Count), height = HeaderHeight + Cell * rows.Count;
        using var surface = SKSurface.Create(new SKImageInfo(width, height));
        var canvas = surface.Canvas;
        canvas.Clear(SKColors.White);
        using var font = new SKFont(SKTypeface.Default, 13);
        using var ink = new SKPaint { Color = SKColors.Black, IsAntialias = true };
        canvas.DrawText("input", LabelWidth + Cell / 2f, 17, SKTextAlign.Center, font, ink);
        for (int c = 0; c < columns.Count; c++)
            canvas.DrawText(columns[c], LabelWidth + Cell * (c + 1.5f), 17, SKTextAlign.Center, font, ink);
        for (int r = 0; r < rows.Count; r++)
        {
            float top = HeaderHeight + r * Cell;
            canvas.DrawText(rows[r].Label, 6, top + Cell / 2f + 5, SKTextAlign.Left, font, ink);
            var (h, w) = ((int)rows[r].Image.shape[1], (int)rows[r].Image.shape[2]);
            Draw(canvas, ImageRgba(rows[r].Image), w, h, new SKRect(LabelWidth + 2, top + 2, LabelWidth + Cell - 2, top + Cell - 2));
            for (int c = 0; c < rows[r].Maps.Count; c++)
            {
                if (rows[r].Maps[c] is not { } map) continue;
                using var batch = map.unsqueeze(0);
                float left = LabelWidth + Cell * (c + 1);
                Draw(canvas, Heatmaps.Colourise(batch)[0], w, h, new SKRect(left + 2, top + 2, left + Cell - 2, top + Cell - 2));
            }
        }
        Save(surface, path);
    }

    /// <summary>The heat map alone and blended over the image, side by side, with a colour bar from 0 to the map's maximum.</summary>
    public static void Overlay(string path, Tensor image, Tensor map, string title)
    {
        const int side = 256, margin = 10, bar = 18;
        int width = margin * 3 + side * 2 + bar + 100, height = side + 2 * margin + 24;
        using var surface = SKSurface.Create(new SKImageInfo(width, height));
        var canvas = surface.Canvas;
        canvas.Clear(SKColors.White);
        using var font = new SKFont(SKTypeface.Default, 13);
        using var ink = new SKPaint { Color = SKColors.Black, IsAntialias = true };
        canvas.DrawText(title, margin, 17, SKTextAlign.Left, font, ink);
        var (h, w) = ((int)image.shape[1], (int)image.shape[2]);
        using var maps = map.unsqueeze(0);
        using var pixels = image.unsqueeze(0);
        float top = 24 + margin;
        Draw(canvas, Heatmaps.Colourise(maps)[0], w, h, new SKRect(margin, top, margin + side, top + side));
        Draw(canvas, Heatmaps.Overlay(maps, pixels)[0], w, h, new SKRect(2 * margin + side, top, 2 * margin + 2 * side, top + side));
        float barLeft = 3 * margin + 2 * side;
        for (int y = 0; y < side; y++)
        {
            var (r, g, b) = Heatmaps.Inferno(1 - y / (double)(side - 1));
            using var paint = new SKPaint { Color = new SKColor(r, g, b) };
            canvas.DrawRect(barLeft, top + y, bar, 1, paint);
        }
        double max = map.max().item<float>();
        canvas.DrawText($"{max:G3}", barLeft + bar + 4, top + 10, SKTextAlign.Left, font, ink);
        canvas.DrawText("0", barLeft + bar + 4, top + side, SKTextAlign.Left, font, ink);
        Save(surface, path);
    }

    /// <summary>A 3×H×W pixel-space image as RGBA bytes.</summary>
    public static byte[] ImageRgba(Tensor image)
    {
        using var hwc = (image.clamp(0, 1) * 255).round().to(ScalarType.Byte).permute(1, 2, 0).contiguous();
        var rgb = hwc.data<byte>().ToArray();
        var rgba = new byte[rgb.Length / 3 * 4];
        for (int i = 0; i < rgb.Length / 3; i++)
        {
            (rgba[4 * i], rgba[4 * i + 1], rgba[4 * i + 2], rgba[4 * i + 3]) = (rgb[3 * i], rgb[3 * i + 1], rgb[3 * i + 2], 255);
        }
        return rgba;
    }

    /// <summary>Draws RGBA pixels scaled (nearest neighbour, so pixels stay visible) into a rectangle.</summary>
    private static void Draw(SKCanvas canvas, byte[] rgba, int w, int h, SKRect where)
    {
        using var bitmap = new SKBitmap(new SKImageInfo(w, h, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        Marshal.Copy(rgba, 0, bitmap.GetPixels(), rgba.Length);
        using var image = SKImage.FromBitmap(bitmap);
        canvas.DrawImage(image, where, new SKSamplingOptions(SKFilterMode.Nearest), null);
    }

    private static void Save(SKSurface surface, string path)
    {
        using var snapshot = surface.Snapshot();
        using var png = snapshot.Encode(SKEncodedImageFormat.Png, 100);
        AtomicFile.Write(path, png.SaveTo);
    }
}
