using Salient.Models;
using static TorchSharp.torch;

namespace Salient.Interop;

/// <summary>What an export wrote, and the normalisation a PyTorch pipeline must apply before the model.</summary>
public sealed record ExportResult(IReadOnlyList<string> Keys, float[] Mean, float[] Std);

/// <summary>
/// Writes a Salient model as a plain PyTorch state dict: pruned layers as torch.nn.utils.prune
/// leaves them (weight_orig + weight_mask), without Salient's normalisation buffers (PyTorch
/// pipelines normalise in their transforms) and without optimizer state. The normalisation, the
/// class names and the spec's settings go into the file's metadata (<see cref="StateDictMetadata"/>),
/// so that <see cref="StateDictImport"/> rebuilds the same model, bit for bit.
/// </summary>
public static class StateDictExport
{
    public static ExportResult Export(Checkpoint checkpoint, string path) => Export(checkpoint.Model, checkpoint.ClassNames, path);

    public static ExportResult Export(SalientModel model, IReadOnlyList<string> classNames, string path)
    {
        ScriptedModel.Refuse(model, "export (its TorchScript file is already PyTorch's)");
        if (model.Spec.LayerWidths is not null)
            throw new SalientException($"This checkpoint is a compacted {model.Spec.Architecture}, whose offset maps and folded BatchNorms no PyTorch model of that architecture has; export the masked checkpoint (prune without --compact) instead.");
        var masked = model.MaskableLayers().Where(l => l.Layer.WeightMask is not null).Select(l => l.Name + ".weight").ToHashSet();
        var tensors = model.state_dict()
            .Where(kv => !kv.Key.StartsWith("normalize."))
            .Select(kv => KeyValuePair.Create(masked.Contains(kv.Key) ? kv.Key[..^".weight".Length] + ".weight_orig" : kv.Key, kv.Value))
            .ToList();
        var spec = model.Spec;
        // What an import needs to rebuild exactly this model; "format" tells safetensors readers these are PyTorch tensors.
        var metadata = StateDictMetadata.Describe(spec, classNames);
        metadata["format"] = "pt";
        TorchStateDictFile.Write(path, tensors, metadata);
        return new ExportResult(tensors.Select(kv => kv.Key).ToList(), spec.Mean, spec.Std);
    }
}
