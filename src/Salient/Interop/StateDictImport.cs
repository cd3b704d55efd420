using Salient.Models;
using static TorchSharp.torch;

namespace Salient.Interop;

/// <summary>How to rebuild a PyTorch model in Salient; null settings are inferred from the file or take <see cref="ModelSpec"/>'s defaults.</summary>
public sealed record ImportOptions
{
    public required string Architecture { get; init; }
    public required IReadOnlyList<string> ClassNames { get; init; }
    /// <summary>Null: the first convolution's output channels / 64.</summary>
    public double? Width { get; init; }
    /// <summary>Null: VGG-16 infers it from the first linear layer; ResNet-18 takes the default (32).</summary>
    public int? InputSize { get; init; }
    /// <summary>Null: ResNet-18's first convolution kernel (7 → imagenet, 3 → cifar).</summary>
    public string? Stem { get; init; }
    /// <summary>The normalisation the PyTorch pipeline applied; null: the paper's constants.</summary>
    public float[]? Mean { get; init; }
    public float[]? Std { get; init; }
}

/// <summary>The imported model (the caller disposes it) and the source keys that correspond to nothing in it.</summary>
public sealed record ImportResult(SalientModel Model, IReadOnlyList<string> UnplacedKeys);

/// <summary>
/// Builds a Salient model from a PyTorch state dict in torchvision's or the paper's naming:
/// torch.nn.utils.prune's weight_orig/weight_mask pairs become Salient's weight and mask, a
/// DataParallel "module." prefix is dropped, and torchvision's VGG classifier (Linear at 0, 3, 6)
/// is renamed onto the paper's (Dropout first: Linear at 1, 4, 6).
/// </summary>
public static class StateDictImport
{
    private const string MaskSuffix = ".weight_mask", OrigSuffix = ".weight_orig", DataParallelPrefix = "module.";

    public static ImportResult Import(string path, ImportOptions options)
    {
        CheckArchitecture(options.Architecture);
        var source = TorchStateDictFile.Read(path);
        try
        {
            return Import(source, options, path);
        }
        finally
        {
            foreach (var t in source.Values) t.Dispose();
        }
    }

    /// <summary>Imports from tensors already in memory; <paramref name="sourceName"/> names them in errors. The tensors are copied, not kept.</summary>
    public static ImportResult Import(IReadOnlyDictionary<string, Tensor> stateDict, ImportOptions options, string sourceName)
    {
        CheckArchitecture(options.Architecture);
        var renamed = Rename(stateDict, options.Architecture);
        var spec = InferSpec(renamed, options, sourceName);
        var model = ModelFactory.Create(spec);
        try
        {
            var unplaced = Load(model, renamed, sourceName);
            return new ImportResult(model, unplaced);
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    private static void CheckArchitecture(string architecture)
    {
        if (!ModelSpec.Architectures.Contains(architecture))
            throw new SalientException($"Unknown architecture '{architecture}' for --arch; use one of: {string.Join(", ", ModelSpec.Architectures)}.");
    }

    /// <summary>Salient's name for every source key (source name kept for messages).</summary>
    private static Dictionary<string, (string Original, Tensor Tensor)> Rename(IReadOnlyDictionary<string, Tensor> stateDict, string architecture)
    {
        static string Strip(string key) => key.StartsWith(DataParallelPrefix) ? key[DataParallelPrefix.Length..] : key;
        var keys = stateDict.Keys.Select(Strip).ToHashSet();
        bool torchvisionVgg = architecture == "vgg16"
            && (keys.Contains("classifier.0.weight") || keys.Contains("classifier.0" + OrigSuffix))
            && !keys.Contains("classifier.1.weight") && !keys.Contains("classifier.1" + OrigSuffix);
        var result = new Dictionary<string, (string, Tensor)>();
        foreach (var (original, tensor) in stateDict)
        {
            var key = Strip(original);
            if (torchvisionVgg) key = RenameTorchvisionClassifier(key);
            if (key.EndsWith(OrigSuffix)) key = key[..^OrigSuffix.Length] + ".weight";
            result[key] = (original, tensor);
        }
        return result;
    }

    private static string RenameTorchvisionClassifier(string key)
    {
        foreach (var (from, to) in new[] { ("classifier.0.", "classifier.1."), ("classifier.3.", "classifier.4.") })
            if (key.StartsWith(from)) return to + key[from.Length..];
        return key;
    }

    private static ModelSpec InferSpec(Dictionary<string, (string Original, Tensor Tensor)> source, ImportOptions options, string sourceName)
    {
        bool vgg = options.Architecture == "vgg16";
        var firstConvKey = vgg ? "features.0.weight" : "conv1.weight";
        if (!source.TryGetValue(firstConvKey, out var firstConv))
            throw new SalientException($"'{sourceName}' lacks '{firstConvKey}' (or its weight_orig), the first convolution of a {options.Architecture}; check --arch or the file's key names.");
        var shape = firstConv.Tensor.shape;
        if (shape.Length != 4)
            throw new SalientException($"'{sourceName}': '{firstConv.Original}' has shape [{string.Join(",", shape)}], not a convolution's 4 dimensions; check --arch.");
        double width = options.Width ?? shape[0] / 64.0;
        var defaults = new ModelSpec();
        string stem = options.Stem ?? (!vgg && shape[3] == 3 ? "cifar" : defaults.Stem);
        int inputSize = options.InputSize ?? (vgg ? VggInputSize(source) ?? defaults.InputSize : defaults.InputSize);
        var spec = new ModelSpec
        {
            Architecture = options.Architecture,
            NumClasses = options.ClassNames.Count,
            Width = width,
            InputSize = inputSize,
            Stem = stem,
            Mean = options.Mean ?? defaults.Mean,
            Std = options.Std ?? defaults.Std,
        };
        spec.Validate();
        return spec;
    }

    /// <summary>VGG-16 flattens C×s×s after five halvings, so the first linear layer's fan-in gives s.</summary>
    private static int? VggInputSize(Dictionary<string, (string Original, Tensor Tensor)> source)
    {
        if (!source.TryGetValue("features.28.weight", out var lastConv) || !source.TryGetValue("classifier.1.weight", out var firstLinear)) return null;
        if (lastConv.Tensor.shape.Length != 4 || firstLinear.Tensor.shape.Length != 2) return null;
        long perPosition = lastConv.Tensor.shape[0], fanIn = firstLinear.Tensor.shape[1];
        if (perPosition == 0 || fanIn % perPosition != 0) return null;
        int side = (int)Math.Round(Math.Sqrt(fanIn / perPosition));
        return side >= 1 && side * side * perPosition == fanIn ? side * 32 : null;
    }

    /// <summary>Installs masks, then copies every tensor the model needs; returns the source keys left over.</summary>
    private static IReadOnlyList<string> Load(SalientModel model, Dictionary<string, (string Original, Tensor Tensor)> source, string sourceName)
    {
        var placed = new HashSet<string>();
        var layers = model.MaskableLayers().ToDictionary(l => l.Name, l => l.Layer);
        foreach (var (key, (original, mask)) in source)
        {
            if (!key.EndsWith(MaskSuffix) || !layers.TryGetValue(key[..^MaskSuffix.Length], out var layer)) continue;
            if (!mask.shape.SequenceEqual(layer.Weight.shape))
                throw ShapeMismatch(sourceName, original, mask.shape, layer.Weight.shape);
            layer.SetMask(mask);
            placed.Add(key);
        }

        // Salient's own normalisation buffers come from the options, never from the PyTorch file.
        var target = model.state_dict().Where(kv => !kv.Key.StartsWith("normalize.")).ToList();
        var missing = target.Select(kv => kv.Key).Where(k => !source.ContainsKey(k)).ToList();
        if (missing.Count > 0)
            throw new SalientException(
                $"'{sourceName}' lacks '{missing[0]}'{(missing.Count > 1 ? $" (and {missing.Count - 1} more)" : "")}, which a {Describe(model.Spec)} needs; check --arch, --width and the file's key names.");
        using (no_grad())
        {
            foreach (var (key, dst) in target)
            {
                var (original, src) = source[key];
                // torch stores BatchNorm's num_batches_tracked as a 0-dimensional int64; some readers give it shape [1].
                bool sameShape = src.shape.SequenceEqual(dst.shape) || (dst.dim() == 0 && src.NumberOfElements == 1);
                if (!sameShape) throw ShapeMismatch(sourceName, original, src.shape, dst.shape);
                using (NewDisposeScope()) dst.copy_(src.reshape(dst.shape).to(dst.dtype));
                placed.Add(key);
            }
        }
        return source.Where(kv => !placed.Contains(kv.Key)).Select(kv => kv.Value.Original).Order(StringComparer.Ordinal).ToList();
    }

    private static SalientException ShapeMismatch(string sourceName, string key, long[] got, long[] expected) =>
        new($"'{sourceName}': '{key}' has shape [{string.Join(",", got)}] but the model expects [{string.Join(",", expected)}]; check --width, --classes, --input-size and --stem.");

    private static string Describe(ModelSpec s) =>
        $"{s.Architecture} (width {s.Width}, {s.NumClasses} classes{(s.Architecture == "resnet18" ? $", {s.Stem} stem" : "")})";
}
