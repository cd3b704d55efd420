using System.Text;
using static TorchSharp.torch;

namespace Salient.Reporting;

/// <summary>Writes tensors as NumPy .npy files (format version 1.0, little-endian float32, C order).</summary>
public static class NpyWriter
{
    private static readonly byte[] Magic = [0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', 1, 0];

    /// <summary>Writes through a temporary file and a rename, so a crash never leaves half a file behind.</summary>
    public static void Write(string path, Tensor values)
    {
        var data = values.detach().to(float32).cpu().contiguous().data<float>().ToArray();
        AtomicFile.Write(path, stream => Write(stream, values.shape, data));
    }

    public static void Write(Stream stream, long[] shape, ReadOnlySpan<float> data)
    {
        if (shape.Aggregate(1L, (a, b) => a * b) != data.Length)
            throw new ArgumentException($"Shape [{string.Join(",", shape)}] does not hold {data.Length} values.");
        var header = Encoding.ASCII.GetBytes(Header(shape));
        stream.Write(Magic);
        Span<byte> length = [(byte)(header.Length & 0xFF), (byte)(header.Length >> 8)];
        stream.Write(length);
        stream.Write(header);
        var bytes = new byte[data.Length * sizeof(float)];
        for (int i = 0; i < data.Length; i++)
            BitConverter.TryWriteBytes(bytes.AsSpan(i * sizeof(float)), BitConverter.IsLittleEndian ? data[i] : ReverseEndianness(data[i]));
        stream.Write(bytes);
    }

    /// <summary>
    /// The dictionary literal NumPy parses, padded with spaces and ended by a newline so the data
    /// starts on a 64-byte boundary (magic 8 + length 2 + header).
    /// </summary>
    private static string Header(long[] shape)
    {
        // A 1-D shape needs the trailing comma to be a Python tuple.
        var tuple = shape.Length == 1 ? $"({shape[0]},)" : $"({string.Join(", ", shape)})";
        var dictionary = $"{{'descr': '<f4', 'fortran_order': False, 'shape': {tuple}, }}";
        int unpadded = Magic.Length + 2 + dictionary.Length + 1;
        int padding = (64 - unpadded % 64) % 64;
        return dictionary + new string(' ', padding) + "\n";
    }

    private static float ReverseEndianness(float value) =>
        BitConverter.Int32BitsToSingle(System.Buffers.Binary.BinaryPrimitives.ReverseEndianness(BitConverter.SingleToInt32Bits(value)));
}
