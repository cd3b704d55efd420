namespace Salient.Data;

/// <summary>
/// Reads and writes PPM/PGM images (P6/P3 colour, P5/P2 grey). Written here because ImageSharp
/// 2.1's decoder skips every whitespace byte after the header instead of exactly one, which shifts
/// the raster of any image whose first sample is 9, 10, 13 or 32 — a real GTSRB image can start so.
/// </summary>
public static class Netpbm
{
    /// <summary>Returns width, height and interleaved 8-bit RGB samples (16-bit samples are scaled down).</summary>
    public static (int Width, int Height, byte[] Rgb) Read(string path)
    {
        var data = File.ReadAllBytes(path);
        int pos = 0;
        string magic = Token(data, ref pos, path);
        bool colour = magic is "P6" or "P3", binary = magic is "P6" or "P5";
        if (magic is not ("P6" or "P3" or "P5" or "P2"))
            throw new InvalidDataException($"'{path}' is not a PPM/PGM image (magic '{magic}').");
        int width = Number(data, ref pos, path), height = Number(data, ref pos, path), maxValue = Number(data, ref pos, path);
        if (width < 1 || height < 1 || maxValue is < 1 or > 65535)
            throw new InvalidDataException($"'{path}' has an invalid PPM header ({width}×{height}, max {maxValue}).");
        int channels = colour ? 3 : 1;
        long samples = (long)width * height * channels;
        var values = new int[samples];
        if (binary)
        {
            pos++; // exactly one whitespace byte separates the header from the raster
            int bytesPer = maxValue < 256 ? 1 : 2;
            if (pos + samples * bytesPer > data.Length)
                throw new InvalidDataException($"'{path}' is truncated: {data.Length - pos} raster bytes for {width}×{height}.");
            for (long i = 0; i < samples; i++)
                values[i] = bytesPer == 1 ? data[pos + i] : (data[pos + 2 * i] << 8) | data[pos + 2 * i + 1];
        }
        else
        {
            for (long i = 0; i < samples; i++) values[i] = Number(data, ref pos, path);
        }
        var rgb = new byte[(long)width * height * 3];
        for (long p = 0; p < (long)width * height; p++)
            for (int c = 0; c < 3; c++)
            {
                int v = values[p * channels + (colour ? c : 0)];
                rgb[p * 3 + c] = (byte)Math.Clamp((int)Math.Round(v * 255.0 / maxValue), 0, 255);
            }
        return (width, height, rgb);
    }

    /// <summary>Writes binary colour PPM (P6), the format of GTSRB's files.</summary>
    public static void WriteP6(string path, int width, int height, ReadOnlySpan<byte> rgb)
    {
        using var fs = File.Create(path);
        fs.Write(System.Text.Encoding.ASCII.GetBytes($"P6\n{width} {height}\n255\n"));
        fs.Write(rgb);
    }

    private static string Token(byte[] data, ref int pos, string path)
    {
        while (true)
        {
            while (pos < data.Length && IsSpace(data[pos])) pos++;
            if (pos < data.Length && data[pos] == '#')
            {
                while (pos < data.Length && data[pos] != '\n' && data[pos] != '\r') pos++;
                continue;
            }
            break;
        }
        int start = pos;
        while (pos < data.Length && !IsSpace(data[pos]) && data[pos] != '#') pos++;
        if (start == pos) throw new InvalidDataException($"'{path}' ends inside its PPM header.");
        return System.Text.Encoding.ASCII.GetString(data, start, pos - start);
    }

    private static int Number(byte[] data, ref int pos, string path) =>
        int.TryParse(Token(data, ref pos, path), out var v) ? v : throw new InvalidDataException($"'{path}' has a non-numeric PPM header field.");

    private static bool IsSpace(byte b) => b is (byte)' ' or (byte)'\t' or (byte)'\n' or (byte)'\r' or 0x0B or 0x0C;
}
