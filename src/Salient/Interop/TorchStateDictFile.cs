using System.Collections;
using System.IO.Compression;
using System.Text.Json;
using Salient.Models;
using TorchSharp.PyBridge;
using static TorchSharp.torch;

namespace Salient.Interop;

/// <summary>A state dict as read from a file: its tensors (the caller disposes them) and the string metadata stored beside them.</summary>
public sealed record StateDictContents(Dictionary<string, Tensor> Tensors, IReadOnlyDictionary<string, string> Metadata) : IDisposable
{
    public void Dispose()
    {
        foreach (var t in Tensors.Values) t.Dispose();
    }
}

/// <summary>
/// Reads and writes plain PyTorch state dicts: torch.save's zip-pickle files (.pt, .pth, .bin,
/// through TorchSharp.PyBridge) and safetensors files. Metadata travels in the safetensors header,
/// or in a torch.save file as one extra archive record (<see cref="MetadataRecord"/>), which
/// torch.load ignores: the file stays a state dict that load_state_dict takes as it is.
/// </summary>
public static class TorchStateDictFile
{
    /// <summary>Extensions read and written as torch.save's format; anything else but .safetensors is refused.</summary>
    public static readonly string[] PickleExtensions = [".pt", ".pth", ".bin"];

    /// <summary>Name of the JSON record (string → string) inside a torch.save archive's folder.</summary>
    public const string MetadataRecord = "salient.json";

    // Training scripts often save {"state_dict": …} or {"model": …, "optimizer": …, "epoch": …}.
    private static readonly string[] WrapperKeys = ["state_dict", "model", "model_state_dict"];

    public static bool IsSafeTensors(string path) => Path.GetExtension(path).Equals(".safetensors", StringComparison.OrdinalIgnoreCase);
    public static bool IsPickle(string path) => PickleExtensions.Contains(Path.GetExtension(path).ToLowerInvariant());

    /// <summary>The tensors of the file, keyed by their names, unwrapped from a checkpoint dictionary if needed, and its metadata.</summary>
    public static StateDictContents Read(string path)
    {
        if (!File.Exists(path)) throw new SalientException($"PyTorch file '{path}' does not exist; check the --from path.");
        if (IsSafeTensors(path))
        {
            var contents = SafeTensors.Read(path);
            return new StateDictContents(contents.Tensors, contents.Metadata);
        }
        if (!IsPickle(path))
            throw new SalientException($"'{path}' is neither a torch.save file (.pt, .pth, .bin) nor .safetensors; save the state dict with torch.save(model.state_dict(), 'model.pth') or safetensors.");
        Hashtable table;
        Dictionary<string, string> metadata;
        try
        {
            using (var stream = File.OpenRead(path))
                table = PyTorchUnpickler.UnpickleStateDict(stream);
            metadata = ReadMetadataRecord(path);
        }
        // PyBridge and its unpickler signal a foreign or damaged file with many exception types (not a zip,
        // no data.pkl, an unknown global or storage type); all mean the same to the user.
        catch (Exception e) when (e is not SalientException and not OutOfMemoryException)
        {
            throw new SalientException($"'{path}' could not be read as a PyTorch state dict ({e.Message.TrimEnd('.')}); re-save it with torch.save(model.state_dict(), path) from PyTorch 1.6 or later.", e);
        }
        return new StateDictContents(Flatten(Unwrap(table, path), path), metadata);
    }

    private static Dictionary<string, string> ReadMetadataRecord(string path)
    {
        using var archive = ZipFile.OpenRead(path);
        var entry = archive.Entries.FirstOrDefault(e => e.FullName == ArchiveFolder(archive) + "/" + MetadataRecord);
        if (entry is null) return [];
        using var stream = entry.Open();
        try
        {
            return JsonSerializer.Deserialize<Dictionary<string, string>>(stream) ?? [];
        }
        catch (JsonException e)
        {
            throw new SalientException($"'{path}': its record '{entry.FullName}' is not a JSON object of strings ({e.Message.TrimEnd('.')}); re-export the model or delete that record.", e);
        }
    }

    // torch.save puts every record in one folder, named by the first record (torch.load reads it the same way).
    private static string ArchiveFolder(ZipArchive archive)
    {
        var first = archive.Entries.FirstOrDefault()?.FullName ?? "";
        int slash = first.IndexOf('/');
        return slash > 0 ? first[..slash] : "archive";
    }

    private static Hashtable Unwrap(Hashtable table, string path)
    {
        if (table.Values.OfType<Tensor>().Any()) return table;
        foreach (var key in WrapperKeys)
            if (table[key] is Hashtable inner) return Unwrap(inner, path);
        var keys = string.Join(", ", table.Keys.Cast<object>().Take(5));
        throw new SalientException($"'{path}' holds no tensors at its top level nor under 'state_dict' or 'model' (its keys: {keys}); save model.state_dict() itself.");
    }

    private static Dictionary<string, Tensor> Flatten(Hashtable table, string path)
    {
        var result = new Dictionary<string, Tensor>();
        foreach (DictionaryEntry entry in table)
            if (entry.Value is Tensor t) result[(string)entry.Key] = t;
        if (result.Count == 0) throw new SalientException($"'{path}' holds no tensors; save model.state_dict() with torch.save.");
        return result;
    }

    /// <summary>Writes atomically (temporary file, then rename), in torch.save's format or as safetensors by extension.</summary>
    public static void Write(string path, IReadOnlyList<KeyValuePair<string, Tensor>> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        if (IsSafeTensors(path))
        {
            SafeTensors.Write(path, tensors, metadata);
            return;
        }
        if (!IsPickle(path))
            throw new SalientException($"Cannot tell the format of '{path}' from its extension; name it *.safetensors, *.pt or *.pth.");
        var table = new Hashtable();
        using var archive = new MemoryStream();
        using (NewDisposeScope())
        {
            foreach (var (name, t) in tensors) table[name] = t.detach().cpu().contiguous();
            PyTorchPickler.PickleStateDict(archive, table, leaveOpen: true);
        }
        if (metadata is { Count: > 0 })
        {
            using var zip = new ZipArchive(archive, ZipArchiveMode.Update, leaveOpen: true);
            var entry = zip.CreateEntry(ArchiveFolder(zip) + "/" + MetadataRecord, CompressionLevel.NoCompression);
            using var stream = entry.Open();
            JsonSerializer.Serialize(stream, metadata);
        }
        archive.Position = 0;
        AtomicFile.Write(path, archive.CopyTo);
    }
}
