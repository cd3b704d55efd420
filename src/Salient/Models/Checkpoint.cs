using System.Text.Json;
using static TorchSharp.torch;

namespace Salient.Models;

/// <summary>
/// A trained model on disk: one safetensors file holding the state dict (including pruning masks
/// and the normalisation constants), the architecture, the class names and free-form metadata
/// (training history, recipe). Tensors whose names start with <see cref="TrainingStatePrefix"/>
/// hold optimizer state for resuming and are not part of the model.
/// </summary>
public sealed class Checkpoint : IDisposable
{
    public const string TrainingStatePrefix = "optimizer/";
    private const string SpecKey = "salient.spec", ClassesKey = "salient.classes", FormatKey = "salient.format";
    /// <summary>Metadata a study's training cell and the import verb leave: the grid model's name, and the import's source and ignored keys (JSON).</summary>
    public const string StudyModelKey = "salient.study.model", ImportKey = "salient.import";

    public required SalientModel Model { get; init; }
    public required IReadOnlyList<string> ClassNames { get; init; }
    /// <summary>Metadata other than the spec and classes (e.g. "salient.training").</summary>
    public required IReadOnlyDictionary<string, string> Metadata { get; init; }
    /// <summary>Optimizer state tensors, keyed without the prefix.</summary>
    public required IReadOnlyDictionary<string, Tensor> TrainingState { get; init; }
    public required string Path { get; init; }

    public static void Save(string path, SalientModel model, IReadOnlyList<string> classNames,
        IReadOnlyDictionary<string, string>? metadata = null, IEnumerable<KeyValuePair<string, Tensor>>? trainingState = null)
    {
        if (classNames.Count != model.Spec.NumClasses)
            throw new ArgumentException($"{classNames.Count} class names for a model with {model.Spec.NumClasses} outputs.");
        var meta = new Dictionary<string, string>(metadata ?? new Dictionary<string, string>())
        {
            [FormatKey] = "1",
            [SpecKey] = model.Spec.ToJson(),
            [ClassesKey] = JsonSerializer.Serialize(classNames),
        };
        var tensors = model.state_dict().AsEnumerable();
        if (trainingState is not null)
            tensors = tensors.Concat(trainingState.Select(kv => KeyValuePair.Create(TrainingStatePrefix + kv.Key, kv.Value)));
        SafeTensors.Write(path, tensors, meta);
    }

    public static Checkpoint Load(string path)
    {
        var (contents, spec, classes) = ReadRecorded(path);
        SalientModel? model = null;
        try
        {
            model = spec.Architecture == ScriptedModel.ArchitectureName
                ? ScriptedModel.FromArchiveTensor(spec, contents.Tensors.GetValueOrDefault(ScriptedModel.ArchiveKey) ?? throw NotACheckpoint(path), path)
                : ModelFactory.Create(spec);
            LoadState(model, contents.Tensors.Where(kv => !kv.Key.StartsWith(TrainingStatePrefix)).ToDictionary(), path);
        }
        catch
        {
            model?.Dispose();
            throw;
        }
        var state = contents.Tensors.Where(kv => kv.Key.StartsWith(TrainingStatePrefix))
            .ToDictionary(kv => kv.Key[TrainingStatePrefix.Length..], kv => kv.Value);
        var meta = contents.Metadata.Where(kv => kv.Key is not (SpecKey or ClassesKey or FormatKey)).ToDictionary();
        return new Checkpoint { Model = model, ClassNames = classes, Metadata = meta, TrainingState = state, Path = path };
    }

    /// <summary>The file's tensors with the architecture and class names it records, refusing a file that records none.</summary>
    private static (SafeTensors.Contents Contents, ModelSpec Spec, string[] Classes) ReadRecorded(string path)
    {
        var contents = SafeTensors.Read(path);
        if (!contents.Metadata.TryGetValue(SpecKey, out var specJson) || !contents.Metadata.TryGetValue(ClassesKey, out var classesJson))
        {
            foreach (var t in contents.Tensors.Values) t.Dispose();
            throw NotACheckpoint(path);
        }
        return (contents, ModelSpec.FromJson(specJson), JsonSerializer.Deserialize<string[]>(classesJson) ?? []);
    }

    private static SalientException NotACheckpoint(string path) =>
        new($"'{path}' is a safetensors file but not a Salient checkpoint (no architecture recorded); bring a PyTorch state dict in with 'salient import'.");

    /// <summary>Loads a checkpoint's weights into an existing model, refusing another architecture; returns the checkpoint's metadata.</summary>
    public static IReadOnlyDictionary<string, string> LoadWeightsInto(SalientModel model, string path)
    {
        using var ckpt = Load(path);
        var theirs = ckpt.Model.Spec;
        var ours = model.Spec;
        if (theirs.Architecture != ours.Architecture || theirs.NumClasses != ours.NumClasses || theirs.Width != ours.Width || theirs.Stem != ours.Stem || theirs.BatchNorm != ours.BatchNorm
            || !(theirs.LayerWidths ?? []).SequenceEqual(ours.LayerWidths ?? []))
            throw new SalientException(
                $"Checkpoint '{path}' holds a {Describe(theirs)} but the model is a {Describe(ours)}; use a checkpoint of the same architecture, width and class count.");
        LoadState(model, ckpt.Model.state_dict(), path);
        return ckpt.Metadata;
    }

    /// <summary>
    /// A model for <paramref name="classCount"/> classes that starts from a checkpoint trained on other
    /// classes, as the paper's ResNet-18 starts from ImageNet weights: every tensor (masks and
    /// normalisation included) is the checkpoint's except the output layer's, which keeps a new model's
    /// initialisation (seed the torch generator first for a reproducible one). A model that
    /// <see cref="ModelSpec.TakesAnyInputSize"/> may be given another <paramref name="inputSize"/>.
    /// </summary>
    public static SalientModel WithNewOutputLayer(string path, int classCount, int? inputSize = null) =>
        StartFrom(path, classCount, inputSize, _ => true);

    /// <summary>
    /// The model a training run starts from when given initial weights: the whole checkpoint when it was
    /// trained on <paramref name="classNames"/>, else all of it but the output layer (<see cref="WithNewOutputLayer"/>).
    /// </summary>
    public static SalientModel StartingPoint(string path, IReadOnlyList<string> classNames, int? inputSize = null) =>
        StartFrom(path, classNames.Count, inputSize, classes => !classes.SequenceEqual(classNames));

    /// <summary>The architecture, class names and other metadata a checkpoint records, read from its header alone.</summary>
    public static (ModelSpec Spec, IReadOnlyList<string> ClassNames, IReadOnlyDictionary<string, string> Metadata) ReadDescription(string path)
    {
        var metadata = SafeTensors.ReadMetadata(path);
        if (!metadata.TryGetValue(SpecKey, out var specJson) || !metadata.TryGetValue(ClassesKey, out var classesJson))
            throw NotACheckpoint(path);
        return (ModelSpec.FromJson(specJson), JsonSerializer.Deserialize<string[]>(classesJson) ?? [],
            metadata.Where(kv => kv.Key is not (SpecKey or ClassesKey or FormatKey)).ToDictionary());
    }

    private static SalientModel StartFrom(string path, int classCount, int? inputSize, Func<string[], bool> newOutputLayer)
    {
        // The new model is the only one created, so the generator's next draws are its initialisation.
        var (contents, spec, classes) = ReadRecorded(path);
        try
        {
            if (inputSize is { } size && size != spec.InputSize && !spec.TakesAnyInputSize)
                throw new SalientException($"'{path}' holds a {Describe(spec)} for {spec.InputSize}×{spec.InputSize} images, whose weights do not fit {size}×{size} ones; use images of its size.");
            var model = ModelFactory.Create(spec with { NumClasses = classCount, InputSize = inputSize ?? spec.InputSize });
            var replaced = newOutputLayer(classes) ? model.OutputLayerName + "." : null;
            try
            {
                var source = contents.Tensors.Where(kv => !kv.Key.StartsWith(TrainingStatePrefix) && (replaced is null || !kv.Key.StartsWith(replaced)))
                    .Concat(replaced is null ? [] : model.state_dict().Where(kv => kv.Key.StartsWith(replaced))).ToDictionary();
                LoadState(model, source, path);
            }
            catch
            {
                model.Dispose();
                throw;
            }
            return model;
        }
        finally
        {
            foreach (var t in contents.Tensors.Values) t.Dispose();
        }
    }

    public static string Describe(ModelSpec s) => $"{s.Architecture}{(s.BatchNorm ? " with BatchNorm" : "")} (width {s.Width}, {s.NumClasses} classes{(s.Architecture == "resnet18" ? $", {s.Stem} stem" : "")}{(s.LayerWidths is { } w ? $", compacted to [{string.Join(",", w)}]" : "")})";

    /// <summary>Installs masks first (a masked layer has an extra buffer), then copies every tensor, naming the first mismatch.</summary>
    internal static void LoadState(SalientModel model, Dictionary<string, Tensor> source, string path)
    {
        var layers = model.MaskableLayers().ToDictionary(l => l.Name, l => l.Layer);
        foreach (var (key, t) in source)
        {
            if (!key.EndsWith(".weight_mask")) continue;
            var layerName = key[..^".weight_mask".Length];
            if (!layers.TryGetValue(layerName, out var layer))
                throw new SalientException($"Checkpoint '{path}' has a pruning mask for '{layerName}', which this {model.Spec.Architecture} does not have; it belongs to another architecture.");
            if (!t.shape.SequenceEqual(layer.Weight.shape))
                throw new SalientException($"Checkpoint '{path}': mask '{key}' has shape [{string.Join(",", t.shape)}] but the layer's weight is [{string.Join(",", layer.Weight.shape)}]; it belongs to another architecture or width.");
            layer.SetMask(t);
        }
        var target = model.state_dict();
        var missing = target.Keys.Where(k => !source.ContainsKey(k)).ToList();
        if (missing.Count > 0)
            throw new SalientException($"Checkpoint '{path}' lacks '{missing[0]}' (and {missing.Count - 1} more) needed by a {model.Spec.Architecture}; it was saved from another architecture.");
        var unexpected = source.Keys.Where(k => !target.ContainsKey(k)).ToList();
        if (unexpected.Count > 0)
            throw new SalientException($"Checkpoint '{path}' has '{unexpected[0]}', which a {model.Spec.Architecture} does not have; it was saved from another architecture.");
        using (no_grad())
        {
            foreach (var (key, dst) in target)
            {
                var src = source[key];
                if (!src.shape.SequenceEqual(dst.shape))
                    throw new SalientException($"Checkpoint '{path}': '{key}' has shape [{string.Join(",", src.shape)}] but the model expects [{string.Join(",", dst.shape)}]; it was saved with another width, input size or class count.");
                dst.copy_(src);
            }
        }
        model.WeightsChanged();
    }

    public void Dispose()
    {
        Model.Dispose();
        foreach (var t in TrainingState.Values) t.Dispose();
    }
}
