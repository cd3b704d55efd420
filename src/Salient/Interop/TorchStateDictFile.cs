using System.Collections;
using Salient.Models;
using TorchSharp.PyBridge;
using static TorchSharp.torch;

namespace Salient.Interop;

/// <summary>
/// Reads and writes plain PyTorch state dicts: torch.save's zip-pickle files (.pt, .pth, .bin,
/// through TorchSharp.PyBridge) and safetensors files. No Salient metadata is involved, so these
/// are the files a PyTorch user has or wants.
/// </summary>
public static class TorchStateDictFile
{
    /// <summary>Extensions read and written as torch.save's format; anything else but .safetensors is refused.</summary>
    public static readonly string[] PickleExtensions = [".pt", ".pth", ".bin"];

    // Training scripts often save {"state_dict": …} or {"model": …, "optimizer": …, "epoch": …}.
    private static readonly string[] WrapperKeys = ["state_dict", "model", "model_state_dict"];

    public static bool IsSafeTensors(string path) => Path.GetExtension(path).Equals(".safetensors", StringComparison.OrdinalIgnoreCase);
    public static bool IsPickle(string path) => PickleExtensions.Contains(Path.GetExtension(path).ToLowerInvariant());

    /// <summary>The tensors of the file, keyed by their names, unwrapped from a checkpoint dictionary if needed.</summary>
    public static Dictionary<string, Tensor> Read(string path)
    {
        if (!File.Exists(path)) throw new SalientException($"PyTorch file '{path}' does not exist; check the --from path.");
        if (IsSafeTensors(path)) return SafeTensors.Read(path).Tensors;
        if (!IsPickle(path))
            throw new SalientException($"'{path}' is neither a torch.save file (.pt, .pth, .bin) nor .safetensors; save the state dict with torch.save(model.state_dict(), 'model.pth') or safetensors.");
        Hashtable table;
        try
        {
            using var stream = File.OpenRead(path);
            table = PyTorchUnpickler.UnpickleStateDict(stream);
        }
        // PyBridge and its unpickler signal a foreign or damaged file with many exception types (not a zip,
        // no data.pkl, an unknown global or storage type); all mean the same to the user.
        catch (Exception e) when (e is not SalientException and not OutOfMemoryException)
        {
            throw new SalientException($"'{path}' could not be read as a PyTorch state dict ({e.Message.TrimEnd('.')}); re-save it with torch.save(model.state_dict(), path) from PyTorch 1.6 or later.", e);
        }
        return Flatten(Unwrap(table, path), path);
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
        using (NewDisposeScope())
        {
            foreach (var (name, t) in tensors) table[name] = t.detach().cpu().contiguous();
            AtomicFile.Write(path, stream => PyTorchPickler.PickleStateDict(stream, table));
        }
    }
}
