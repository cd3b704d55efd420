using System.Globalization;
using System.Text.Json;
using Salient.Models;
using static TorchSharp.torch;

namespace Salient.Interop;

/// <summary>What an export wrote, and the normalisation a PyTorch pipeline must apply before the model.</summary>
public sealed record ExportResult(IReadOnlyList<string> Keys, float[] Mean, float[] Std);

/// <summary>
/// Writes a Salient model as a plain PyTorch state dict: pruned layers as torch.nn.utils.prune
/// leaves them (weight_orig + weight_mask), without Salient's normalisation buffers (PyTorch
/// pipelines normalise in their transforms) and without optimizer state.
/// </summary>
public static class StateDictExport
{
    public static ExportResult Export(Checkpoint checkpoint, string path) => Export(checkpoint.Model, checkpoint.ClassNames, path);

    public static ExportResult Export(SalientModel model, IReadOnlyList<string> classNames, string path)
    {
        if (model.Spec.LayerWidths is not null)
            throw new SalientException($"This checkpoint is a compacted VGG-16, whose offset maps no PyTorch VGG has; export the masked checkpoint (prune without --compact) instead.");
        var masked = model.MaskableLayers().Where(l => l.Layer.WeightMask is not null).Select(l => l.Name + ".weight").ToHashSet();
        var tensors = model.state_dict()
            .Where(kv => !kv.Key.StartsWith("normalize."))
            .Select(kv => KeyValuePair.Create(masked.Contains(kv.Key) ? kv.Key[..^".weight".Length] + ".weight_orig" : kv.Key, kv.Value))
            .ToList();
        var spec = model.Spec;
        // safetensors metadata is free text: enough for a PyTorch user to rebuild the pipeline.
        var metadata = new Dictionary<string, string>
        {
            ["format"] = "pt",
            ["salient.architecture"] = spec.Architecture,
            ["salient.width"] = spec.Width.ToString(CultureInfo.InvariantCulture),
            ["salient.input_size"] = spec.InputSize.ToString(CultureInfo.InvariantCulture),
            ["salient.mean"] = JsonSerializer.Serialize(spec.Mean),
            ["salient.std"] = JsonSerializer.Serialize(spec.Std),
            ["salient.classes"] = JsonSerializer.Serialize(classNames),
        };
        TorchStateDictFile.Write(path, tensors, metadata);
        return new ExportResult(tensors.Select(kv => kv.Key).ToList(), spec.Mean, spec.Std);
    }
}
