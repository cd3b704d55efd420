using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Salient.Models;
using static TorchSharp.torch;

namespace Salient.Interop;

/// <summary>
/// How to rebuild a PyTorch model in Salient. A null setting comes from the file's metadata when
/// <see cref="StateDictExport"/> wrote it (<see cref="StateDictMetadata"/>), otherwise is inferred from
/// the tensors or takes <see cref="ModelSpec"/>'s default.
/// </summary>
public sealed record ImportOptions
{
    /// <summary>"vgg16" or "resnet18"; null: the file's metadata, which a plain PyTorch file lacks.</summary>
    public string? Architecture { get; init; }
    /// <summary>Null: the file's metadata, which a plain PyTorch file lacks.</summary>
    public IReadOnlyList<string>? ClassNames { get; init; }
    /// <summary>Null: the file's metadata, else the first convolution's output channels / 64.</summary>
    public double? Width { get; init; }
    /// <summary>Null: the file's metadata, else VGG-16 infers it from the first linear layer and ResNet-18 takes the default (32).</summary>
    public int? InputSize { get; init; }
    /// <summary>Null: ResNet-18's first convolution kernel (7 → imagenet, 3 → cifar).</summary>
    public string? Stem { get; init; }
    /// <summary>The normalisation the PyTorch pipeline applied; null: the file's metadata, else the paper's constants.</summary>
    public float[]? Mean { get; init; }
    public float[]? Std { get; init; }
}

/// <summary>
/// The imported model (the caller disposes it), its class names, the source keys that correspond to
/// nothing in it, and which of the normalisation's "mean" and "std" fell back to the paper's
/// constants because neither the options nor the file gave them.
/// </summary>
public sealed record ImportResult(SalientModel Model, IReadOnlyList<string> ClassNames, IReadOnlyList<string> UnplacedKeys, IReadOnlyList<string> PaperNormalization)
{
    /// <summary>What the import noticed about the model that may make its results inexact here (one sentence each).</summary>
    public IReadOnlyList<string> Warnings { get; init; } = [];
}

/// <summary>
/// Builds a Salient model from a PyTorch state dict in torchvision's or the paper's naming:
/// torch.nn.utils.prune's weight_orig/weight_mask pairs become Salient's weight and mask, a
/// DataParallel "module." prefix is dropped, torchvision's VGG classifier (Linear at 0, 3, 6) is
/// renamed onto the paper's (Dropout first: Linear at 1, 4, 6), and BatchNorm after VGG-16's
/// convolutions (torchvision's vgg16_bn layout) is recognised by its keys.
/// </summary>
public static class StateDictImport
{
    private const string MaskSuffix = ".weight_mask", OrigSuffix = ".weight_orig", DataParallelPrefix = "module.";

    public static ImportResult Import(string path, ImportOptions options)
    {
        if (File.Exists(path) && ScriptedModel.IsArchive(path)) return ImportScripted(path, options);
        if (options.Architecture is not null) CheckArchitecture(options.Architecture);
        using var source = TorchStateDictFile.Read(path);
        return Import(source.Tensors, options, path, source.Metadata);
    }

    /// <summary>
    /// Imports from tensors already in memory; <paramref name="sourceName"/> names them in errors and
    /// <paramref name="metadata"/> is what the file stored beside them. The tensors are copied, not kept.
    /// </summary>
    public static ImportResult Import(IReadOnlyDictionary<string, Tensor> stateDict, ImportOptions options, string sourceName,
        IReadOnlyDictionary<string, string>? metadata = null)
    {
        var recorded = StateDictMetadata.Parse(metadata ?? new Dictionary<string, string>(), sourceName);
        var architecture = options.Architecture ?? recorded.Architecture
            ?? throw new SalientException($"'{sourceName}' does not record its architecture; give --arch vgg16 or --arch resnet18.");
        CheckArchitecture(architecture);
        var classNames = options.ClassNames ?? recorded.ClassNames
            ?? throw new SalientException($"'{sourceName}' does not record its classes; give --classes with the class count or a file of class names.");
        var renamed = Rename(stateDict, architecture);
        var spec = InferSpec(renamed, options, recorded, architecture, classNames.Count, sourceName);
        var model = ModelFactory.Create(spec);
        try
        {
            var unplaced = Load(model, renamed, sourceName);
            var paperNormalization = new[] { ("mean", options.Mean ?? recorded.Mean), ("std", options.Std ?? recorded.Std) }
                .Where(s => s.Item2 is null).Select(s => s.Item1).ToList();
            return new ImportResult(model, classNames, unplaced, paperNormalization);
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>
    /// A TorchScript archive: its module as it is (<see cref="ScriptedModel"/>), told its classes, input
    /// size and normalisation, which the archive does not record; one forward pass of a blank image
    /// checks that it takes that size and returns one logit per class. Its input layout is the first of
    /// channels-last and NCHW in which this machine computes it consistently (<see cref="Consistency"/>);
    /// when neither is, it keeps channels-last and warns.
    /// </summary>
    private static ImportResult ImportScripted(string path, ImportOptions options)
    {
        if (options.Architecture is { } arch && arch != ScriptedModel.ArchitectureName)
            throw new SalientException($"'{path}' is a TorchScript archive, which brings its own architecture; leave out --arch {arch}.");
        if (options.Width is not null || options.Stem is not null)
            throw new SalientException($"'{path}' is a TorchScript archive; --width and --stem describe Salient's VGG-16 and ResNet-18, leave them out.");
        var classNames = options.ClassNames
            ?? throw new SalientException($"'{path}' does not record its classes; give --classes with the class count or a file of class names.");
        var defaults = new ModelSpec();
        var spec = new ModelSpec
        {
            Architecture = ScriptedModel.ArchitectureName, NumClasses = classNames.Count,
            InputSize = options.InputSize ?? defaults.InputSize, Mean = options.Mean ?? defaults.Mean, Std = options.Std ?? defaults.Std,
        };
        spec.Validate();
        var archive = File.ReadAllBytes(path);
        ScriptedModel Load(string layout)
        {
            try
            {
                var loaded = new ScriptedModel(spec with { InputLayout = layout == ScriptedModel.ChannelsLast ? null : layout }, archive);
                loaded.eval();
                return loaded;
            }
            catch (Exception e) when (e is not SalientException)
            {
                throw new SalientException($"'{path}' looks like a TorchScript archive but libtorch cannot load it ({e.Message.Split('\n')[0]}); save it again with torch.jit.save.", e);
            }
        }
        var model = Load(ScriptedModel.ChannelsLast);
        try
        {
            long[] shape;
            try
            {
                using var noGrad = no_grad();
                using var blank = zeros(1, 3, spec.InputSize, spec.InputSize);
                using var logits = model.forward(blank);
                shape = logits.shape;
            }
            catch (Exception e)
            {
                throw new SalientException($"'{path}' fails on a 3×{spec.InputSize}×{spec.InputSize} image ({e.Message.Split('\n')[0]}); its forward must take one N×3×H×W tensor and return one tensor of logits — give the size it takes with --input-size.", e);
            }
            if (shape.Length != 2 || shape[1] != classNames.Count)
                throw new SalientException($"'{path}' returns a [{string.Join(", ", shape)}] tensor for one image, not one logit for each of the {classNames.Count} classes --classes gives; check --classes.");
            var warnings = new List<string>();
            if (Consistency(model) is { } problem)
            {
                var nchw = Load(ScriptedModel.Nchw);
                if (Consistency(nchw) is null)
                {
                    model.Dispose();
                    model = nchw;
                }
                else
                {
                    nchw.Dispose();
                    warnings.Add($"'{path}' {problem} in either input layout (channels-last, NCHW): either the module mixes the images of a batch, which it should not in evaluation mode, or some of its layers compute wrongly on this machine; its explanations and scores may be wrong.");
                }
            }
            var paperNormalization = new[] { ("mean", options.Mean), ("std", options.Std) }.Where(s => s.Item2 is null).Select(s => s.Item1).ToList();
            return new ImportResult(model, classNames, [], paperNormalization) { Warnings = warnings };
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Null when the module computes consistently here: an image's logits and input gradient are the same
    /// alone as in a batch of four (seeded random images), and the gradients the same in repeated calls;
    /// else what differs. In evaluation mode both must hold for any classifier; on this machine some of
    /// libtorch's kernels break them for some channel counts and layouts (see <see cref="Convolution"/>),
    /// which Salient cannot mend inside a foreign module, only avoid by the layout it feeds it.
    /// </summary>
    private static string? Consistency(ScriptedModel model)
    {
        using var scope = NewDisposeScope();
        using var frozen = EvalScope.Frozen(model);
        using var generator = new Generator(0);
        int size = model.Spec.InputSize;
        var images = rand([4, 3, size, size], generator: generator);
        (Tensor Logits, Tensor Gradients) Run(Tensor x)
        {
            using var grad = enable_grad();
            var input = x.detach().requires_grad_(true);
            var logits = model.forward(input);
            return (logits.detach(), autograd.grad([logits[.., 0].sum()], [input])[0].detach());
        }
        static bool Same(Tensor a, Tensor b) =>
            a.isfinite().all().item<bool>() && b.isfinite().all().item<bool>()
            && (a - b).abs().max().item<float>() <= 1e-4 * Math.Max(b.abs().max().item<float>(), 1e-12);
        var (logits, gradients) = Run(images);
        for (int repeat = 0; repeat < 4; repeat++)
            if (!Same(Run(images).Gradients, gradients)) return "gives other input gradients for the same images in repeated calls";
        var alone = Enumerable.Range(0, 4).Select(i => Run(images.narrow(0, i, 1))).ToList();
        if (!Same(cat(alone.Select(a => a.Logits).ToList(), 0), logits)) return "gives other logits for an image in a batch of 4 than alone";
        if (!Same(cat(alone.Select(a => a.Gradients).ToList(), 0), gradients)) return "gives other input gradients for an image in a batch of 4 than alone";
        return null;
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

    private static ModelSpec InferSpec(Dictionary<string, (string Original, Tensor Tensor)> source, ImportOptions options, StateDictMetadata recorded,
        string architecture, int classCount, string sourceName)
    {
        bool vgg = architecture == "vgg16";
        var firstConvKey = vgg ? "features.0.weight" : "conv1.weight";
        if (!source.TryGetValue(firstConvKey, out var firstConv))
            throw new SalientException($"'{sourceName}' lacks '{firstConvKey}' (or its weight_orig), the first convolution of a {architecture}; check --arch or the file's key names.");
        var shape = firstConv.Tensor.shape;
        if (shape.Length != 4)
            throw new SalientException($"'{sourceName}': '{firstConv.Original}' has shape [{string.Join(",", shape)}], not a convolution's 4 dimensions; check --arch.");
        var defaults = new ModelSpec();
        var spec = new ModelSpec
        {
            Architecture = architecture,
            NumClasses = classCount,
            // Width × 64 rounds to the first convolution's channels, so only the recorded width gives the other layers' exact widths.
            Width = options.Width ?? recorded.Width ?? shape[0] / 64.0,
            // In the plain VGG-16 features.1 is a ReLU, which has no tensors; in vgg16_bn it is the first BatchNorm.
            BatchNorm = vgg && (source.ContainsKey("features.1.running_mean") || source.ContainsKey("features.1.weight")),
            InputSize = options.InputSize ?? recorded.InputSize ?? (vgg ? VggInputSize(source) : null) ?? defaults.InputSize,
            Stem = options.Stem ?? (!vgg && shape[3] == 3 ? "cifar" : defaults.Stem),
            Mean = options.Mean ?? recorded.Mean ?? defaults.Mean,
            Std = options.Std ?? recorded.Std ?? defaults.Std,
        };
        spec.Validate();
        return spec;
    }

    private static readonly Regex FeatureWeight = new(@"^features\.(\d+)\.weight$", RegexOptions.Compiled);

    /// <summary>VGG-16 flattens C×s×s after five halvings, so the first linear layer's fan-in over the last convolution's channels gives s.</summary>
    private static int? VggInputSize(Dictionary<string, (string Original, Tensor Tensor)> source)
    {
        var lastConv = source
            .Select(kv => (Match: FeatureWeight.Match(kv.Key), kv.Value.Tensor))
            .Where(c => c.Match.Success && c.Tensor.shape.Length == 4)
            .MaxBy(c => int.Parse(c.Match.Groups[1].Value, CultureInfo.InvariantCulture)).Tensor;
        if (lastConv is null || !source.TryGetValue("classifier.1.weight", out var firstLinear) || firstLinear.Tensor.shape.Length != 2) return null;
        long perPosition = lastConv.shape[0], fanIn = firstLinear.Tensor.shape[1];
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

        // Salient's own normalisation buffers come from the spec (options or metadata), never from the file's tensors.
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
        $"{s.Architecture}{(s.BatchNorm ? " with BatchNorm" : "")} (width {s.Width}, {s.NumClasses} classes{(s.Architecture == "resnet18" ? $", {s.Stem} stem" : "")})";
}

/// <summary>
/// What <see cref="StateDictExport"/> records beside the tensors (safetensors metadata, or the
/// torch.save archive's <see cref="TorchStateDictFile.MetadataRecord"/>), so that an import of an
/// exported file rebuilds the same model; every value is null when the file does not record it.
/// </summary>
public sealed record StateDictMetadata(string? Architecture, double? Width, int? InputSize, float[]? Mean, float[]? Std, IReadOnlyList<string>? ClassNames)
{
    public const string ArchitectureKey = "salient.architecture", WidthKey = "salient.width", InputSizeKey = "salient.input_size",
        MeanKey = "salient.mean", StdKey = "salient.std", ClassesKey = "salient.classes";

    public static Dictionary<string, string> Describe(ModelSpec spec, IReadOnlyList<string> classNames) => new()
    {
        [ArchitectureKey] = spec.Architecture,
        [WidthKey] = spec.Width.ToString("R", CultureInfo.InvariantCulture),
        [InputSizeKey] = spec.InputSize.ToString(CultureInfo.InvariantCulture),
        [MeanKey] = JsonSerializer.Serialize(spec.Mean),
        [StdKey] = JsonSerializer.Serialize(spec.Std),
        [ClassesKey] = JsonSerializer.Serialize(classNames),
    };

    public static StateDictMetadata Parse(IReadOnlyDictionary<string, string> metadata, string sourceName)
    {
        T Valid<T>(string key, string text, Func<string, T?> parse)
        {
            try
            {
                return parse(text) ?? throw new FormatException("null");
            }
            catch (Exception e) when (e is FormatException or JsonException or OverflowException)
            {
                throw new SalientException($"'{sourceName}' records {key} = '{text}', which is not valid; re-export the model, or give the setting on the command line.", e);
            }
        }
        var invariant = CultureInfo.InvariantCulture;
        return new StateDictMetadata(
            metadata.GetValueOrDefault(ArchitectureKey),
            metadata.TryGetValue(WidthKey, out var width) ? Valid(WidthKey, width, t => double.Parse(t, NumberStyles.Float, invariant)) : null,
            metadata.TryGetValue(InputSizeKey, out var size) ? Valid(InputSizeKey, size, t => int.Parse(t, NumberStyles.Integer, invariant)) : null,
            metadata.TryGetValue(MeanKey, out var mean) ? Valid(MeanKey, mean, t => JsonSerializer.Deserialize<float[]>(t)) : null,
            metadata.TryGetValue(StdKey, out var std) ? Valid(StdKey, std, t => JsonSerializer.Deserialize<float[]>(t)) : null,
            metadata.TryGetValue(ClassesKey, out var classes) ? Valid(ClassesKey, classes, t => JsonSerializer.Deserialize<string[]>(t)) : null);
    }
}
