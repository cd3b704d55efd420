using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;
using Salient.Attribution;
using Salient.Models;
using static TorchSharp.torch;

namespace Salient.Evaluation.Metrics;

/// <summary>Which way a metric's per-image score is better.</summary>
public enum MetricDirection { HigherIsBetter, LowerIsBetter }

/// <summary>What a metric scores: one method's maps of a model, or the model itself (no method).</summary>
public enum MetricScope { Maps, Model }

/// <summary>
/// Everything a metric may look at for one model (and, for map metrics, one method): the explained
/// pixel-space images with their labels and the model's predictions, the channel-summed maps, the
/// method itself (to explain perturbed inputs or a randomised model), the ground-truth sign masks
/// when the data has them, and the seed of every random choice.
/// </summary>
public sealed class MetricInput
{
    public required SalientModel Model { get; init; }
    /// <summary>N×3×H×W pixels in [0,1].</summary>
    public required Tensor Images { get; init; }
    /// <summary>N true classes (int64); the maps explain these.</summary>
    public required Tensor Labels { get; init; }
    public required long[] Predictions { get; init; }
    /// <summary>N×H×W channel-summed maps (signed for IG); null for model metrics.</summary>
    public Tensor? Maps { get; init; }
    public IAttributionMethod? Method { get; init; }
    /// <summary>N×H×W, 1 inside the sign, when the data set knows where the sign is; an image whose mask is all zero has none.</summary>
    public Tensor? GroundTruth { get; init; }
    public long Seed { get; init; }
    public IProgress<double>? Progress { get; init; }

    public int Count => Predictions.Length;

    /// <summary>Indices of the images the model classifies correctly (the protocol scores maps of those only).</summary>
    public int[] CorrectIndices()
    {
        var labels = Labels.data<long>().ToArray();
        return Enumerable.Range(0, Count).Where(i => Predictions[i] == labels[i]).ToArray();
    }

    /// <summary>
    /// The correctly classified among <paramref name="spreadOver"/> images spread evenly over the batch
    /// (all of them if it has fewer): the same candidates for every model, so costly metrics that look
    /// at a few images still compare models on the same ones.
    /// </summary>
    public int[] CorrectIndices(int spreadOver)
    {
        int n = Math.Min(spreadOver, Count);
        var candidates = Enumerable.Range(0, n).Select(i => (int)((long)i * Count / n)).ToHashSet();
        return CorrectIndices().Where(candidates.Contains).ToArray();
    }
}

/// <summary>
/// What a metric cell's cost depends on besides the metric's settings: the images explained, what one
/// explanation of one image costs (forward+backward passes of the method), and the model's layers.
/// </summary>
public sealed record MetricWorkload(int Images, double PassesPerExplanation, int ModelLayers);

/// <summary>
/// A per-image number a metric reports and the tables compare between models: its key (stored and
/// used in file names), a title, and which way is better.
/// </summary>
public sealed record MetricSummary(string Key, string Title, MetricDirection Direction);

/// <summary>One extra number of one image (a curve point, a layer), named by its key.</summary>
public readonly record struct MetricDetail(int Image, string Key, double Value);

/// <summary>
/// A metric's result for a batch: per summary key, one score per image (NaN where the image is not
/// scored, e.g. misclassified), and optional details per image (the points of a curve) that the
/// metric's own report views aggregate.
/// </summary>
public sealed record MetricScores(IReadOnlyDictionary<string, double[]> Values, IReadOnlyList<MetricDetail> Details)
{
    public static MetricScores Of(string key, double[] values) => new(new Dictionary<string, double[]> { [key] = values }, []);

    /// <summary>Scores for the images at <paramref name="indices"/> of a batch of <paramref name="count"/>; NaN elsewhere.</summary>
    public static double[] Scatter(int count, IReadOnlyList<int> indices, IReadOnlyList<double> values)
    {
        var all = Enumerable.Repeat(double.NaN, count).ToArray();
        for (int k = 0; k < indices.Count; k++) all[indices[k]] = values[k];
        return all;
    }
}

/// <summary>
/// One way of scoring explanations: per-image scores from a batch, a declared direction, its own
/// settings record (defaults declared there), and a cost estimate. Every non-abstract subclass in
/// this assembly is found by <see cref="ExplanationMetrics"/>, so a new metric is one file that the
/// study, `evaluate-explanations` and the report pick up.
/// </summary>
public interface IExplanationMetric
{
    /// <summary>Short name used in settings, cells and file names ("gini", "road-morf").</summary>
    string Name { get; }
    string Title { get; }
    /// <summary>One sentence for the report: what the score is and which way is better.</summary>
    string Description { get; }
    MetricScope Scope { get; }
    /// <summary>The per-image numbers it reports (most metrics: one, keyed by the metric's name).</summary>
    IReadOnlyList<MetricSummary> Summaries { get; }
    Type SettingsType { get; }
    object DefaultSettings();
    /// <summary>Checks settings before any work; one clear sentence naming the setting otherwise.</summary>
    void Validate(object settings);
    MetricScores Evaluate(MetricInput input, object settings);
    /// <summary>Checks before any work that the metric can score this model (one clear sentence otherwise).</summary>
    void CheckModel(SalientModel model);
    /// <summary>Rough cost in model forward+backward passes per explained image, for time estimates.</summary>
    double PassesPerImage(object settings, MetricWorkload workload);
}

public abstract class ExplanationMetric<TSettings> : IExplanationMetric where TSettings : class, new()
{
    public abstract string Name { get; }
    public abstract string Title { get; }
    public abstract string Description { get; }
    public virtual MetricScope Scope => MetricScope.Maps;
    public abstract IReadOnlyList<MetricSummary> Summaries { get; }
    public Type SettingsType => typeof(TSettings);
    public object DefaultSettings() => new TSettings();
    public void Validate(object settings) => Validate((TSettings)settings);
    public MetricScores Evaluate(MetricInput input, object settings)
    {
        if (Scope == MetricScope.Maps && input.Maps is null)
            throw new ArgumentException($"Metric '{Name}' scores saliency maps; the input has none.");
        return Evaluate(input, (TSettings)settings);
    }
    public double PassesPerImage(object settings, MetricWorkload workload) => PassesPerImage((TSettings)settings, workload);

    public virtual void CheckModel(SalientModel model) { }
    protected virtual void Validate(TSettings settings) { }
    protected abstract MetricScores Evaluate(MetricInput input, TSettings settings);
    protected abstract double PassesPerImage(TSettings settings, MetricWorkload workload);
}

/// <summary>Settings of a metric that has none.</summary>
public sealed record NoSettings;

/// <summary>The metrics of this assembly by name, and their settings as JSON.</summary>
public static class ExplanationMetrics
{
    // The paper's metrics first, in its order, then localisation, sanity checks and robustness; any others follow by name.
    private static readonly string[] PreferredOrder =
        ["gini", "road", "grad-norm", "mass-accuracy", "rank-accuracy", "pointing-game", "mprt", "random-logit", "max-sensitivity"];

    private static readonly Lazy<IReadOnlyList<IExplanationMetric>> all = new(() =>
        typeof(IExplanationMetric).Assembly.GetTypes()
            .Where(t => !t.IsAbstract && typeof(IExplanationMetric).IsAssignableFrom(t) && t.GetConstructor(Type.EmptyTypes) is not null)
            .Select(t => (IExplanationMetric)Activator.CreateInstance(t)!)
            .OrderBy(m => Array.IndexOf(PreferredOrder, m.Name) is var i && i < 0 ? int.MaxValue : i).ThenBy(m => m.Name)
            .ToList());

    public static IReadOnlyList<IExplanationMetric> All => all.Value;

    public static IReadOnlyList<string> Names => All.Select(m => m.Name).ToList();

    public static IExplanationMetric Get(string name) =>
        All.FirstOrDefault(m => m.Name == name)
        ?? throw new SalientException($"Unknown metric '{name}'; use one of: {string.Join(", ", Names)}.");

    public static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        WriteIndented = false,
        Converters = { new System.Text.Json.Serialization.JsonStringEnumConverter() },
    };

    /// <summary>A metric's settings from JSON (missing properties keep their defaults), validated.</summary>
    public static object ReadSettings(IExplanationMetric metric, JsonNode? json)
    {
        object settings;
        try
        {
            settings = json is null ? metric.DefaultSettings() : json.Deserialize(metric.SettingsType, Json) ?? metric.DefaultSettings();
        }
        catch (JsonException e)
        {
            throw new SalientException($"The settings of metric '{metric.Name}' are not valid ({e.Message}); write the defaults with 'salient study --write-settings' and compare.", e);
        }
        metric.Validate(settings);
        return settings;
    }

    public static JsonObject WriteSettings(object settings) => (JsonObject)JsonSerializer.SerializeToNode(settings, settings.GetType(), Json)!;
}
