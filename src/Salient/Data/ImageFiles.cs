using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using SixLabors.ImageSharp.Processing;
using static TorchSharp.torch;

namespace Salient.Data;

/// <summary>Reads image files (PPM, PNG, JPEG, BMP, …) into pixel-space CHW floats of a fixed size.</summary>
public static class ImageFiles
{
    /// <summary>
    /// Loads <paramref name="path"/>, optionally crops <paramref name="crop"/> (inclusive corners),
    /// resizes to size×size with bilinear filtering and writes its 3·size·size 8-bit samples (CHW) into
    /// <paramref name="destination"/>; <see cref="ToPixels"/> makes them floats in [0,1]. Every image
    /// is 8-bit after resizing (ImageSharp resizes Rgb24 into Rgb24), so these bytes hold all a
    /// decoded image is. <paramref name="where"/> names the CSV line for error messages.
    /// </summary>
    public static void LoadBytesInto(string path, int size, RoiBox? crop, Span<byte> destination, string where)
    {
        if (!File.Exists(path))
            throw new SalientException($"{where} names '{path}', which does not exist; restore the image or delete that row.");
        Image<Rgb24> image;
        try
        {
            image = Decode(path);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            throw new SalientException($"{where} names '{path}', which is corrupt or not an image; replace the file or delete that row.", e);
        }
        using (image)
        {
            if (crop is { } box)
            {
                var rect = Rectangle.Intersect(new Rectangle(box.X1, box.Y1, box.X2 - box.X1 + 1, box.Y2 - box.Y1 + 1), new Rectangle(0, 0, image.Width, image.Height));
                if (rect.Width < 1 || rect.Height < 1)
                    throw new SalientException($"{where}: the box ({box.X1},{box.Y1})–({box.X2},{box.Y2}) lies outside the {image.Width}×{image.Height} image '{path}'; fix the box or delete that row.");
                image.Mutate(x => x.Crop(rect));
            }
            if (image.Width != size || image.Height != size)
                image.Mutate(x => x.Resize(size, size, KnownResamplers.Triangle));
            CopyPixels(image, destination);
        }
    }

    /// <summary>
    /// Decoded 8-bit samples as an N×3×size×size float tensor in [0,1]: the one conversion every
    /// loaded image goes through (byte / 255 in float32, computed by libtorch without a managed copy).
    /// </summary>
    public static Tensor ToPixels(byte[] samples, int count, int size)
    {
        using var bytes = tensor(samples, [count, 3, size, size], ScalarType.Byte);
        return bytes.to_type(ScalarType.Float32).div_(255f);
    }

    /// <summary>
    /// Loads image files (and every image in given folders) for a model of input size
    /// <paramref name="size"/>: N×3×size×size pixel-space tensor and the file paths. An image of another
    /// size is an error unless <paramref name="resize"/>; a grey image is an error (the models take colour).
    /// </summary>
    public static (Tensor Images, string[] Files) LoadForModel(IEnumerable<string> filesOrFolders, int size, bool resize)
    {
        var files = new List<string>();
        foreach (var p in filesOrFolders)
        {
            if (Directory.Exists(p)) files.AddRange(Directory.EnumerateFiles(p).Where(Gtsrb.IsImageFile).Order(StringComparer.Ordinal));
            else if (File.Exists(p)) files.Add(p);
            else throw new SalientException($"'{p}' is neither an image file nor a folder; check the path given to --images.");
        }
        if (files.Count == 0) throw new SalientException("No image files were found in --images (looked for .ppm, .png, .jpg, .jpeg, .bmp).");
        int per = 3 * size * size;
        var samples = new byte[files.Count * per];
        for (int i = 0; i < files.Count; i++)
        {
            var (w, h, channels) = Describe(files[i]);
            if (channels < 3)
                throw new SalientException($"'{files[i]}' has {channels} colour channel{(channels == 1 ? "" : "s")} but the model takes 3 (RGB); convert it to a colour image.");
            if ((w != size || h != size) && !resize)
                throw new SalientException($"'{files[i]}' is {w}×{h} but the model takes {size}×{size}; pass --resize to resize it (bilinear) or give images of that size.");
            LoadBytesInto(files[i], size, null, samples.AsSpan(i * per, per), $"'{files[i]}'");
        }
        return (ToPixels(samples, files.Count, size), files.ToArray());
    }

    /// <summary>Width, height and colour channels (1 for grey, 3 for colour) without decoding the pixels.</summary>
    private static (int Width, int Height, int Channels) Describe(string path)
    {
        try
        {
            if (Path.GetExtension(path).ToLowerInvariant() is ".ppm" or ".pgm" or ".pnm")
            {
                var magic = File.ReadAllBytes(path).AsSpan(0, 2).ToArray();
                var (w, h, _) = Netpbm.Read(path);
                return (w, h, magic[1] is (byte)'5' or (byte)'2' ? 1 : 3);
            }
            var info = Image.Identify(path) ?? throw new InvalidDataException("unknown format");
            int bits = info.PixelType.BitsPerPixel;
            return (info.Width, info.Height, bits <= 16 ? 1 : 3);
        }
        catch (Exception e) when (e is not SalientException)
        {
            throw new SalientException($"'{path}' is corrupt or not an image; replace it or leave it out of --images.", e);
        }
    }

    private static Image<Rgb24> Decode(string path)
    {
        if (Path.GetExtension(path).ToLowerInvariant() is ".ppm" or ".pgm" or ".pnm")
        {
            var (w, h, rgb) = Netpbm.Read(path);
            return Image.LoadPixelData<Rgb24>(rgb, w, h);
        }
        return Image.Load<Rgb24>(path);
    }

    private static void CopyPixels(Image<Rgb24> image, Span<byte> destination)
    {
        int plane = image.Width * image.Height;
        byte[] buffer = new byte[3 * plane]; // a span cannot be captured by the lambda below
        image.ProcessPixelRows(rows =>
        {
            for (int y = 0; y < rows.Height; y++)
            {
                var row = rows.GetRowSpan(y);
                for (int x = 0; x < row.Length; x++)
                {
                    int i = y * rows.Width + x;
                    buffer[i] = row[x].R;
                    buffer[plane + i] = row[x].G;
                    buffer[2 * plane + i] = row[x].B;
                }
            }
        });
        buffer.CopyTo(destination);
    }

    /// <summary>Writes a CHW float image in [0,1] as an 8-bit file; the format follows the extension (.ppm, .png, …).</summary>
    public static void Save(ReadOnlySpan<float> chw, int width, int height, string path)
    {
        int plane = width * height;
        var rgb = new byte[3 * plane];
        for (int i = 0; i < plane; i++)
            for (int c = 0; c < 3; c++)
                rgb[3 * i + c] = ToByte(chw[c * plane + i]);
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        if (Path.GetExtension(path).Equals(".ppm", StringComparison.OrdinalIgnoreCase))
            Netpbm.WriteP6(path, width, height, rgb);
        else
        {
            using var image = Image.LoadPixelData<Rgb24>(rgb, width, height);
            image.Save(path);
        }
    }

    private static byte ToByte(float v) => (byte)Math.Clamp((int)MathF.Round(v * 255f), 0, 255);
}
