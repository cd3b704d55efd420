using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using static TorchSharp.torch;

namespace Salient.Models;

/// <summary>
/// Reads and writes the safetensors format (8-byte little-endian header length, a JSON header of
/// name → dtype/shape/offsets plus string metadata, then raw little-endian data). Salient's
/// checkpoints are safetensors files, so PyTorch can read them with no converter.
/// </summary>
public static class SafeTensors
{
    private static readonly Dictionary<ScalarType, string> DTypeNames = new()
    {
        [ScalarType.Float32] = "F32", [ScalarType.Float64] = "F64", [ScalarType.Float16] = "F16",
        [ScalarType.BFloat16] = "BF16", [ScalarType.Int64] = "I64", [ScalarType.Int32] = "I32",
        [ScalarType.Int16] = "I16", [ScalarType.Int8] = "I8", [ScalarType.Byte] = "U8", [ScalarType.Bool] = "BOOL",
    };

    /// <summary>Writes atomically: to a temporary file beside <paramref name="path"/>, then renamed over it.</summary>
    public static void Write(string path, IEnumerable<KeyValuePair<string, Tensor>> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var ordered = tensors.Select(kv => (kv.Key, Tensor: kv.Value.detach().cpu().contiguous())).ToList();
        var header = new JsonObject();
        if (metadata is { Count: > 0 })
        {
            var meta = new JsonObject();
            foreach (var (k, v) in metadata) meta[k] = v;
            header["__metadata__"] = meta;
        }
        long offset = 0;
        foreach (var (name, t) in ordered)
        {
            if (!DTypeNames.TryGetValue(t.dtype, out var dt))
                throw new NotSupportedException($"Tensor '{name}' has dtype {t.dtype}, which safetensors cannot store here.");
            long size = t.NumberOfElements * t.ElementSize;
            header[name] = new JsonObject
            {
                ["dtype"] = dt,
                ["shape"] = new JsonArray(t.shape.Select(s => (JsonNode)s).ToArray()),
                ["data_offsets"] = new JsonArray(offset, offset + size),
            };
            offset += size;
        }
        var headerBytes = Encoding.UTF8.GetBytes(header.ToJsonString());
        int padded = (headerBytes.Length + 7) / 8 * 8; // align data to 8 bytes, padding with spaces as the format allows

        try
        {
            AtomicFile.Write(path, fs =>
            {
                var len = new byte[8];
                BinaryPrimitives.WriteUInt64LittleEndian(len, (ulong)padded);
                fs.Write(len);
                fs.Write(headerBytes);
                for (int i = headerBytes.Length; i < padded; i++) fs.WriteByte((byte)' ');
                foreach (var (_, t) in ordered) fs.Write(t.bytes);
            });
        }
        finally
        {
            foreach (var (_, t) in ordered) t.Dispose();
        }
    }

    public sealed record Contents(Dictionary<string, Tensor> Tensors, Dictionary<string, string> Metadata);

    /// <summary>The metadata of a safetensors file, reading only its header (not the tensors).</summary>
    public static Dictionary<string, string> ReadMetadata(string path)
    {
        if (!File.Exists(path)) throw new SalientException($"Checkpoint file '{path}' does not exist; check the path or train a model first.");
        using var file = File.OpenRead(path);
        var start = new byte[Math.Min(8, file.Length)];
        file.ReadExactly(start);
        var header = new byte[HeaderLength(path, start, file.Length)];
        file.ReadExactly(header);
        return MetadataOf(ParseHeader(path, header));
    }

    public static Contents Read(string path)
    {
        if (!File.Exists(path)) throw new SalientException($"Checkpoint file '{path}' does not exist; check the path or train a model first.");
        byte[] all = File.ReadAllBytes(path);
        long headerLen = HeaderLength(path, all, all.Length);
        var header = ParseHeader(path, all.AsSpan(8, (int)headerLen));

        long dataStart = 8 + headerLen;
        var metadata = MetadataOf(header);
        var tensors = new Dictionary<string, Tensor>();
        foreach (var (name, node) in header)
        {
            if (name == "__metadata__") continue;
            var dtName = node!["dtype"]!.GetValue<string>();
            var dtype = DTypeNames.FirstOrDefault(kv => kv.Value == dtName).Key;
            if (!DTypeNames.ContainsValue(dtName)) throw Damaged(path, $"tensor '{name}' has unknown dtype {dtName}");
            long[] shape = node["shape"]!.AsArray().Select(s => s!.GetValue<long>()).ToArray();
            var offs = node["data_offsets"]!.AsArray().Select(s => s!.GetValue<long>()).ToArray();
            long begin = dataStart + offs[0], end = dataStart + offs[1];
            if (end > all.Length || begin > end) throw Damaged(path, $"tensor '{name}' lies outside the file");
            var t = empty(shape, dtype);
            if (end - begin != t.NumberOfElements * t.ElementSize) throw Damaged(path, $"tensor '{name}' has {end - begin} bytes for shape [{string.Join(",", shape)}]");
            if (end > begin) t.bytes = all.AsSpan((int)begin, (int)(end - begin));
            tensors[name] = t;
        }
        return new Contents(tensors, metadata);
    }

    /// <summary>The header's length from the file's first bytes, refusing one that does not fit the file.</summary>
    private static long HeaderLength(string path, ReadOnlySpan<byte> start, long fileLength)
    {
        if (start.Length < 8) throw Damaged(path, "it is shorter than a header");
        ulong headerLen = BinaryPrimitives.ReadUInt64LittleEndian(start);
        if (headerLen > (ulong)(fileLength - 8)) throw Damaged(path, "its header length points past the end of the file");
        return (long)headerLen;
    }

    private static JsonObject ParseHeader(string path, ReadOnlySpan<byte> header)
    {
        try { return JsonNode.Parse(header)!.AsObject(); }
        catch (JsonException e) { throw new SalientException($"Checkpoint '{path}' is not a safetensors file (its header is not JSON); pass a file written by Salient or safetensors.", e); }
    }

    private static Dictionary<string, string> MetadataOf(JsonObject header)
    {
        var metadata = new Dictionary<string, string>();
        if (header["__metadata__"] is JsonObject meta)
            foreach (var (k, v) in meta) metadata[k] = v!.GetValue<string>();
        return metadata;
    }

    private static SalientException Damaged(string path, string why) =>
        new($"Checkpoint '{path}' is damaged ({why}); re-create it or restore a good copy.");
}
