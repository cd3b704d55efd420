using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Salient.Attribution;
using Salient.Data;
using Salient.Evaluation;
using Salient.Pruning;
using Salient.Training;

namespace Salient.Studies;

/// <summary>
/// One study in one file: data, model, recipes, attack, pruning, explanation and metric settings,
/// and seeds. Every number of SPEC.md is a setting here; presets give the quick demo and the paper.
/// </summary>
public sealed record StudySettings
{
    public string Name { get; init; } = "quick";
    public StudyData Data { get; init; } = new();
    public StudyModel Model { get; init; } = new();
    /// <summary>The natural recipe; adversarial and pruned models derive from it.</summary>
    public TrainingRecipe Training { get; init; } = new();
    public PgdSettings Attack { get; init; } = new();
    /// <summary>"natural" and/or "adversarial" (unpruned models).</summary>
    public string[] Strategies { get; init; } = ["natural", "adversarial"];
    public string[] PruningMethods { get; init; } = ["l1", "global", "layered"];
    public string[] PruningFlows { get; init; } = ["pre", "post-ft", "post-noft"];
    public StudyPruning Pruning { get; init; } = new();
    public StudyExplanations Explanations { get; init; } = new();
    public StudyMetrics Metrics { get; init; } = new();
    public ulong[] Seeds { get; init; } = [0];

    public static readonly string[] PresetNames = ["quick", "paper", "tiny"];

    public static StudySettings Preset(string name) => name switch
    {
        // The README's main job: every model, method and metric, small enough for ~10 minutes on 2 cores.
        "quick" => new StudySettings
        {
            // Easy synthetic signs and VGG-16 with BatchNorm, so a few epochs give a model worth explaining;
            // the paper's plain VGG-16 needs far more steps to leave its initial plateau.
            Name = "quick",
            Data = new StudyData { SyntheticTrainImages = 8600, SyntheticTestImages = 860, SyntheticDifficulty = "easy" },
            Model = new StudyModel { Width = 0.25, BatchNorm = true },
            Training = new TrainingRecipe { Epochs = 10, BatchSize = 64, LearningRate = 0.05, RobustTestImages = 128 },
            Attack = new PgdSettings { Epsilon = 0.01, Iterations = 2 },
            Pruning = new StudyPruning { FineTuneEpochs = 2 },
            Explanations = new StudyExplanations { Images = 200, IgSteps = 32, SgSamples = 10 },
        },
        "paper" => new StudySettings
        {
            Name = "paper",
            Data = new StudyData { Source = DataSettings.Synthetic, Normalization = "paper" },
            Model = new StudyModel { Width = 1 },
            Training = new TrainingRecipe(),
            Attack = new PgdSettings(),
            Pruning = new StudyPruning(),
            Explanations = new StudyExplanations { Images = 1000, IgSteps = 50, SgSamples = 10 },
        },
        // For tests and smoke runs: two classes, a tiny model, one epoch.
        "tiny" => new StudySettings
        {
            Name = "tiny",
            Data = new StudyData { SyntheticClasses = 2, SyntheticTrainImages = 32, SyntheticTestImages = 16 },
            Model = new StudyModel { Width = 0.0625 },
            Training = new TrainingRecipe { Epochs = 1, BatchSize = 16 },
            Attack = new PgdSettings { Epsilon = 0.01, Iterations = 2 },
            Pruning = new StudyPruning { FineTuneEpochs = 1 },
            Explanations = new StudyExplanations { Images = 8, IgSteps = 4, SgSamples = 2, FigureImages = 2 },
            Metrics = new StudyMetrics { RoadPercentages = [25, 50, 75] },
        },
        _ => throw new SalientException($"Unknown study preset '{name}'; use one of: {string.Join(", ", PresetNames)}."),
    };

    public void Validate()
    {
        if (Seeds.Length == 0) throw new SalientException("The study needs at least one seed (setting 'seeds').");
        foreach (var s in Strategies)
            if (s is not ("natural" or "adversarial")) throw new SalientException($"Unknown strategy '{s}' in 'strategies'; use natural and/or adversarial.");
        if (PruningMethods.Length > 0 && !Strategies.Contains("natural") && PruningFlows.Any(f => f != "pre"))
            throw new SalientException("Post-train pruning flows start from the natural model; add 'natural' to 'strategies' or keep only the 'pre' flow.");
        foreach (var m in PruningMethods) PruningSettings.ParseMethod(m);
        foreach (var f in PruningFlows) PruningFlowSettings.ParseFlow(f);
        foreach (var m in Explanations.Methods)
            if (!AttributionMethods.Names.Contains(m)) throw new SalientException($"Unknown explanation method '{m}' in 'explanations.methods'; use vg, ig and/or sg.");
        if (Explanations.Images < 1) throw new SalientException($"'explanations.images' must be at least 1, got {Explanations.Images}.");
        Training.Validate();
        Attack.Validate();
        Pruning.For(PruningMethod.L1Unstructured).Validate();
        Pruning.For(PruningMethod.GlobalUnstructured).Validate();
        Pruning.For(PruningMethod.LayeredStructured).Validate();
        Metrics.Road.Validate();
    }

    internal static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        Converters = { new JsonStringEnumConverter() },
        ReadCommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
    };

    public string ToJson() => JsonSerializer.Serialize(this, Json);

    public static StudySettings Load(string path)
    {
        if (!File.Exists(path)) throw new SalientException($"Study settings file '{path}' does not exist; write one with 'salient study --preset quick --write-settings {path}'.");
        try
        {
            var settings = JsonSerializer.Deserialize<StudySettings>(File.ReadAllText(path), Json)
                ?? throw new SalientException($"Study settings file '{path}' is empty.");
            settings.Validate();
            return settings;
        }
        catch (JsonException e)
        {
            throw new SalientException($"Study settings file '{path}' is not valid JSON for a study ({e.Message}); compare it with a preset written by --write-settings.", e);
        }
    }

    /// <summary>A short stable hash of any settings object's JSON: the cache key of a cell.</summary>
    public static string Hash(params object?[] parts)
    {
        var text = string.Join("\n", parts.Select(p => p as string ?? JsonSerializer.Serialize(p, Json)));
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)))[..16];
    }
}

public sealed record StudyData
{
    public string Source { get; init; } = DataSettings.Synthetic;
    public int ImageSize { get; init; } = 32;
    public ulong Seed { get; init; } = 0;
    public bool CropToRoi { get; init; }
    public bool LisaPaperClasses { get; init; }
    public int SyntheticTrainImages { get; init; } = 4300;
    public int SyntheticTestImages { get; init; } = 1075;
    public int SyntheticClasses { get; init; } = 43;
    public string SyntheticDifficulty { get; init; } = "standard";
    /// <summary>"data" (train-split mean/std) or "paper" (the reference constants).</summary>
    public string Normalization { get; init; } = "data";

    public DataSettings ToDataSettings() => new()
    {
        Source = Source,
        Load = new LoadOptions { ImageSize = ImageSize, Seed = Seed, CropToRoi = CropToRoi, LisaPaperClasses = LisaPaperClasses },
        SyntheticTrainImages = SyntheticTrainImages,
        SyntheticTestImages = SyntheticTestImages,
        SyntheticClasses = SyntheticClasses,
        SyntheticDifficulty = SyntheticDifficulty,
    };
}

public sealed record StudyModel
{
    public string Architecture { get; init; } = "vgg16";
    public double Width { get; init; } = 1;
    public string Stem { get; init; } = "imagenet";
    public bool BatchNorm { get; init; }
}

public sealed record StudyPruning
{
    public double L1ConvAmount { get; init; } = 0.2;
    public double L1LinearAmount { get; init; } = 0.1;
    public double GlobalAmount { get; init; } = 0.2;
    public double LayeredAmount { get; init; } = 0.1;
    public int FineTuneEpochs { get; init; } = 50;

    public PruningSettings For(PruningMethod method) => method switch
    {
        PruningMethod.L1Unstructured => new PruningSettings { Method = method, Amount = L1ConvAmount, LinearAmount = L1LinearAmount },
        PruningMethod.GlobalUnstructured => new PruningSettings { Method = method, Amount = GlobalAmount },
        _ => new PruningSettings { Method = method, Amount = LayeredAmount, LinearAmount = LayeredAmount },
    };
}

public sealed record StudyExplanations
{
    public string[] Methods { get; init; } = ["vg", "ig", "sg"];
    /// <summary>Test images explained and scored (evenly spaced over the test split).</summary>
    public int Images { get; init; } = 1000;
    public int IgSteps { get; init; } = 50;
    public QuadratureRule IgRule { get; init; } = QuadratureRule.GaussLegendre;
    public BaselineKind IgBaseline { get; init; } = BaselineKind.Black;
    public int SgSamples { get; init; } = 10;
    public double SgSigma { get; init; } = 0.15;
    /// <summary>Images shown in the saliency grids.</summary>
    public int FigureImages { get; init; } = 4;
    public int BatchSize { get; init; } = AttributionSettings.DefaultBatchSize;

    public AttributionSettings ToAttributionSettings(long seed) => new()
    {
        BatchSize = BatchSize,
        IntegratedGradients = new IntegratedGradientsSettings { Steps = IgSteps, Rule = IgRule, Baseline = IgBaseline },
        SmoothGrad = new SmoothGradSettings { Sigma = SgSigma, Samples = SgSamples, Seed = seed },
    };
}

public sealed record StudyMetrics
{
    public double[] RoadPercentages { get; init; } = [10, 20, 30, 40, 50, 60, 70, 80, 90];
    public double RoadNoise { get; init; } = NoisyLinearImputation.DefaultNoiseStd;

    [JsonIgnore]
    public RoadOptions Road => new() { Percentages = RoadPercentages, NoiseStd = RoadNoise };
}
