using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Salient.Attribution;
using Salient.Data;
using Salient.Evaluation;
using Salient.Evaluation.Metrics;
using Salient.Execution.Slurm;
using Salient.Pruning;
using Salient.Training;
using Salient.Workflows;

namespace Salient.Studies;

/// <summary>
/// One study in one file: data, model, recipes, attack, pruning, explanation and metric settings,
/// and seeds. Every number of SPEC.md is a setting here; presets give the quick demo and the paper.
/// </summary>
public sealed record StudySettings
{
    public string Name { get; init; } = "quick";
    public StudyData Data { get; init; } = new();
    public ModelSettings Model { get; init; } = new();
    /// <summary>The natural recipe; adversarial and pruned models derive from it.</summary>
    public TrainingRecipe Training { get; init; } = new();
    public PgdSettings Attack { get; init; } = new();
    /// <summary>"natural" and/or "adversarial" (unpruned models).</summary>
    public string[] Strategies { get; init; } = ["natural", "adversarial"];
    /// <summary>
    /// More adversarial models beside Adv, one per radius: the study's attack at that ε, its step scaled
    /// in proportion, named Adv-eps&lt;ε&gt;. The paper's strong variant (ε = 0.1, its Table 5 and Figure 5) is [0.1].
    /// </summary>
    public double[] ExtraAdversarialEpsilons { get; init; } = [];
    public string[] PruningMethods { get; init; } = ["l1", "global", "layered"];
    public string[] PruningFlows { get; init; } = ["pre", "post-ft", "post-noft"];
    public StudyPruning Pruning { get; init; } = new();
    public StudyExplanations Explanations { get; init; } = new();
    /// <summary>The metrics to compute, by name, each with its own settings (see <see cref="ExplanationMetrics"/>); all of them by default.</summary>
    public Dictionary<string, JsonObject> Metrics { get; init; } = DefaultMetrics();
    public ulong[] Seeds { get; init; } = [0];
    /// <summary>How each cell's job asks Slurm for resources and starts salient on a node (<c>--executor slurm</c>); no cell's hash depends on it.</summary>
    public SlurmSettings Slurm { get; init; } = new();
    /// <summary>How the report computes what it shows from the store (changing it recomputes nothing).</summary>
    public StudyReportSettings Report { get; init; } = new();
    /// <summary>
    /// Why settings differ from the paper's protocol (SPEC.md, the <c>paper</c> preset), by setting path
    /// as the report names it (e.g. "training.learningRate"); the report lists every difference, with
    /// the reason given here.
    /// </summary>
    public Dictionary<string, string> Deviations { get; init; } = [];

    public static readonly string[] PresetNames = ["quick", "gtsrb", "paper", "tiny"];

    public static StudySettings Preset(string name) => name switch
    {
        // The README's main job: every model, method and metric, small enough for ~10 minutes on 2 cores.
        "quick" => new StudySettings
        {
            // Easy synthetic signs and VGG-16 with BatchNorm, so a few epochs give a model worth explaining;
            // the paper's plain VGG-16 needs far more steps to leave its initial plateau.
            Name = "quick",
            // 15 classes of 200 images: a 43-class set needs twice the epochs for the same accuracy, and
            // training is most of the study's time (its convolutions are compute-bound on any CPU).
            Data = new StudyData { SyntheticClasses = 15, SyntheticTrainImages = 3000, SyntheticTestImages = 300, SyntheticDifficulty = "easy" },
            Model = new ModelSettings { Width = 0.25, BatchNorm = true },
            Training = new TrainingRecipe
            {
                Epochs = 9, BatchSize = 64, LearningRate = 0.05, RobustTestImages = 64,
                Schedule = new LearningRateSchedule { Shape = LearningRateSchedule.Cosine, WarmupEpochs = 0.5 },
            },
            Attack = PgdSettings.FastFgsm(0.01),
            Pruning = new StudyPruning { FineTuneEpochs = 1 },
            Explanations = new StudyExplanations { Images = 64, IgSteps = 16, SgSamples = 10 },
            // The costly checks on a few images, so together they add a small share of the study's time.
            // ROAD's curves at five levels instead of nine; the costly checks on a few images.
            Metrics = DefaultMetrics(("road", new RoadSettings { Percentages = [10, 30, 50, 70, 90] }),
                ("mprt", new ModelRandomisationSettings { Images = 5, Every = 2 }),
                ("random-logit", new RandomLogitSettings { Images = 10 }),
                ("max-sensitivity", new MaxSensitivitySettings { Images = 5, Samples = 10 })),
            Deviations = new()
            {
                ["data"] = "Built-in easy synthetic signs, 15 classes × 200 training images (300 test), instead of GTSRB's 43 classes: nothing to download, and learned in a few epochs (43 classes need twice the epochs for the same accuracy).",
                ["model.width"] = "A quarter of the channels: 1/16 of the multiply-adds, so every model trains in seconds.",
                ["model.batchNorm"] = "BatchNorm after every convolution: the small model learns in a few epochs, where the paper's plain VGG-16 sits on its initial plateau for hundreds of steps.",
                ["model.normalization"] = "The training split's own mean and standard deviation; the reference notebooks' constants are GTSRB's.",
                ["training"] = "SGD 0.05, batch 64, half-epoch warm-up and cosine decay over 9 epochs: Nat reaches about 93% in 20 s here, and training is most of the study's time.",
                ["training.robustTestImages"] = "The adversarial model's per-epoch robust check on 64 test images.",
                ["attack"] = "Fast FGSM with a random start (one step of 1.25ε) instead of PGD-40: 2 passes per training step instead of 41.",
                ["extraAdversarialEpsilons"] = "No strong adversarial model (ε = 0.1, the paper's Table 5 and Figure 5, on LISA): one adversarial model shows the strategy.",
                ["pruning.fineTuneEpochs"] = "1 fine-tuning epoch instead of 50.",
                ["explanations"] = "64 explained images and IG with 16 Gauss–Legendre steps: every explanation and metric cell scales with both.",
                ["metrics.road"] = "ROAD at five levels instead of nine.",
                ["metrics.mprt"] = "Not one of the paper's metrics; 5 images and every second layer keep this costly check to a few seconds.",
                ["metrics.random-logit"] = "Not one of the paper's metrics; 10 images.",
                ["metrics.max-sensitivity"] = "Not one of the paper's metrics; 5 images × 10 samples instead of Quantus' 20 × 200.",
            },
        },
        // The whole grid on real GTSRB with the paper's plain VGG-16, sized for about 12 hours on a 2-core machine.
        "gtsrb" => new StudySettings
        {
            Name = "gtsrb",
            Data = new StudyData { Source = "gtsrb" },
            Model = new ModelSettings { Width = 1 },
            Training = TrainingRecipe.Gtsrb with { Epochs = 12 },
            Attack = PgdSettings.FastFgsm(0.01),
            Pruning = new StudyPruning { FineTuneEpochs = 3 },
            Explanations = new StudyExplanations { Images = 500, IgSteps = 50, SgSamples = 10 },
            // Max-sensitivity explains every image once per sample (IG-50: 50 passes each): on 200 samples
            // it alone would cost more than all the training.
            Metrics = DefaultMetrics(("mprt", new ModelRandomisationSettings { Images = 10, Every = 2 }),
                ("max-sensitivity", new MaxSensitivitySettings { Images = 10, Samples = 10 })),
            Deviations = new()
            {
                ["metrics.mprt"] = "Not one of the paper's metrics; 10 images and every second layer keep it to a few minutes per map kind.",
                ["metrics.max-sensitivity"] = "Not one of the paper's metrics; 10 images × 10 samples instead of Quantus' 20 × 200, which with IG-50 would cost more than all the training.",
                ["explanations.images"] = "500 explained test images per model instead of every correctly classified one: the explanation and metric cells scale with it, and 500 give intervals of a few hundredths on every score.",
                ["model.normalization"] = "The training split's own mean and standard deviation instead of the reference notebooks' constants (SPEC.md allows either; the constants came from another data pipeline).",
                ["training.epochs"] = "12 epochs of the gtsrb recipe instead of 100 of the paper's: with its warm-up, cosine schedule and augmentation the plain VGG-16 reaches the paper's grade in far fewer epochs, which the 12-hour budget of the 11 models needs.",
                ["training.learningRate"] = "0.05 instead of 0.01: at 0.01 the plain VGG-16 (no BatchNorm) sits on its initial plateau for hundreds of steps.",
                ["training.schedule"] = "A half-epoch linear warm-up, then cosine decay to 0, instead of a constant rate: the usual way to reach a high rate safely and end converged in few epochs.",
                ["training.augmentation"] = "Small shifts, rotations, zooms and brightness/contrast changes (never a mirror image) as the best GTSRB entries used, instead of none: fewer epochs need more varied images.",
                ["attack"] = "Fast FGSM with a random start (Wong et al. 2020; one step of 1.25ε) instead of PGD-40: PGD-40 costs about 29 plain steps per step (40 attack passes at 0.7 of a step each), ≈ 58 CPU-hours for this preset's Adv model by the dry run's estimate, 16× the fast attack; a PGD-10 check every epoch guards against catastrophic overfitting, and evaluate --robust still uses PGD-40.",
                ["pruning.fineTuneEpochs"] = "3 fine-tuning epochs instead of 50: a pruned model that starts from the trained one recovers within a few epochs, and 50 would dominate the budget.",
                ["extraAdversarialEpsilons"] = "No strong adversarial model (ε = 0.1): the paper trained it on LISA only (its Table 5 and Figure 5).",
            },
        },
        "paper" => new StudySettings
        {
            Name = "paper",
            Data = new StudyData { Source = DataSettings.Synthetic },
            Model = new ModelSettings { Width = 1, Normalization = "paper" },
            Training = new TrainingRecipe(),
            Attack = new PgdSettings(),
            // The strong adversarial model of the paper's Table 5 and Figure 5 (trained there on LISA).
            ExtraAdversarialEpsilons = [0.1],
            Pruning = new StudyPruning(),
            Explanations = new StudyExplanations { Images = 1000, IgSteps = 50, SgSamples = 10 },
        },
        // For tests and smoke runs: two classes, a tiny model, one epoch.
        "tiny" => new StudySettings
        {
            Name = "tiny",
            Data = new StudyData { SyntheticClasses = 2, SyntheticTrainImages = 32, SyntheticTestImages = 16 },
            Model = new ModelSettings { Width = 0.0625 },
            Training = new TrainingRecipe { Epochs = 1, BatchSize = 16 },
            Attack = new PgdSettings { Epsilon = 0.01, Iterations = 2 },
            Pruning = new StudyPruning { FineTuneEpochs = 1 },
            Explanations = new StudyExplanations { Images = 8, IgSteps = 4, SgSamples = 2, FigureSgSamples = 3, FigureImages = 2 },
            Metrics = DefaultMetrics(("road", new RoadSettings { Percentages = [25, 50, 75] }), ("mprt", new ModelRandomisationSettings { Images = 2, Every = 8 }),
                ("random-logit", new RandomLogitSettings { Images = 4 }), ("max-sensitivity", new MaxSensitivitySettings { Images = 2, Samples = 3 })),
        },
        _ => throw new SalientException($"Unknown study preset '{name}'; use one of: {string.Join(", ", PresetNames)}."),
    };

    /// <summary>
    /// Every setting whose value differs from the paper's protocol (the <c>paper</c> preset), with the
    /// study's reason when it gives one. The data source, the name and the report's own settings are
    /// not part of the protocol.
    /// </summary>
    public IReadOnlyList<(string Setting, string Paper, string Study, string Why)> DifferencesFromPaper()
    {
        var ignored = new HashSet<string> { "name", "data.source", "report", "deviations", "slurm" };
        ignored.UnionWith(GridSettings);
        var list = new List<(string, string, string, string)>();
        string? Reason(params string[] paths) => Deviations
            .Where(d => paths.Any(path => path == d.Key || path.StartsWith(d.Key + ".")))
            .OrderByDescending(d => d.Key.Length).Select(d => d.Value).FirstOrDefault();
        // The grid's three lists are compared by the models they make, not as written: their order,
        // spelling, and post-ft's un-fine-tuned parent (always made and reported) are no deviation.
        // Extra adversarial models are compared as their setting is written (below).
        static List<string> GridModels(StudySettings s) => StudyGrid.Models(s).Where(m => m.AttackEpsilon is null).Select(m => m.Name).ToList();
        var paperModels = GridModels(Preset("paper"));
        var studyModels = GridModels(this).ToHashSet();
        if (!studyModels.SetEquals(paperModels))
        {
            var without = paperModels.Where(m => !studyModels.Contains(m)).ToList();
            list.Add((string.Join(", ", GridSettings), $"{paperModels.Count} models",
                $"{studyModels.Count} models, without {string.Join(", ", without)}",
                Reason(GridSettings) ?? NoReason));
        }
        void Walk(string path, JsonNode? paper, JsonNode? study)
        {
            if (ignored.Contains(path)) return;
            if (paper is JsonObject po && study is JsonObject so)
            {
                foreach (var key in po.Select(p => p.Key).Union(so.Select(p => p.Key)))
                    Walk(path.Length == 0 ? key : $"{path}.{key}", po[key], so[key]);
                return;
            }
            string p = paper?.ToJsonString() ?? "–", s = study?.ToJsonString() ?? "–";
            if (p == s) return;
            list.Add((path, p, s, Reason(path) ?? NoReason));
        }
        Walk("", JsonSerializer.SerializeToNode(Preset("paper"), Json), JsonSerializer.SerializeToNode(this, Json));
        return list;
    }

    /// <summary>The settings that choose the grid's models (<see cref="StudyGrid.Models"/>).</summary>
    private static readonly string[] GridSettings = ["strategies", "pruningMethods", "pruningFlows"];

    private const string NoReason = "(no reason given in the study's 'deviations')";

    /// <summary>Every metric with its default settings, except the ones given.</summary>
    public static Dictionary<string, JsonObject> DefaultMetrics(params (string Name, object Settings)[] overrides) =>
        ExplanationMetrics.All.ToDictionary(m => m.Name, m => ExplanationMetrics.WriteSettings(
            overrides.FirstOrDefault(o => o.Name == m.Name).Settings ?? m.DefaultSettings()));

    /// <summary>The study's metrics with their settings read and validated, in the registry's order.</summary>
    public IReadOnlyList<MetricChoice> MetricChoices() =>
        ExplanationMetrics.All.Where(m => Metrics.ContainsKey(m.Name))
            .Select(m => new MetricChoice(m, ExplanationMetrics.ReadSettings(m, Metrics[m.Name]))).ToList();

    public void Validate()
    {
        if (Seeds.Length == 0) throw new SalientException("The study needs at least one seed (setting 'seeds').");
        if (Seeds.Distinct().Count() != Seeds.Length) throw new SalientException($"The setting 'seeds' lists a seed twice ([{string.Join(", ", Seeds)}]); give each seed once.");
        foreach (var s in Strategies)
            if (s is not ("natural" or "adversarial")) throw new SalientException($"Unknown strategy '{s}' in 'strategies'; use natural and/or adversarial.");
        if (ExtraAdversarialEpsilons.Length > 0 && !Strategies.Contains("adversarial"))
            throw new SalientException("'extraAdversarialEpsilons' adds adversarial models beside Adv; add 'adversarial' to 'strategies' (or make the only radius the attack's: 'attack.epsilon').");
        if (ExtraAdversarialEpsilons.Length > 0 && Attack.Epsilon == 0 && Attack.StepSize is not null)
            throw new SalientException("'extraAdversarialEpsilons' scale the attack's step with its radius, but 'attack.epsilon' is 0 with a fixed 'attack.stepSize'; give the attack a radius or leave its step size unset.");
        foreach (var e in ExtraAdversarialEpsilons)
        {
            if (!(e > 0 && e <= 1))
                throw new SalientException($"The radius {e} in 'extraAdversarialEpsilons' is outside (0, 1] on the pixel scale; use e.g. 0.1 (the paper's strong variant).");
            if (e == Attack.Epsilon || ExtraAdversarialEpsilons.Count(x => x == e) > 1)
                throw new SalientException($"The radius {e} appears twice among 'attack.epsilon' and 'extraAdversarialEpsilons'; give each adversarial model's radius once.");
        }
        if (PruningMethods.Length > 0 && !Strategies.Contains("natural") && PruningFlows.Any(f => f != "pre"))
            throw new SalientException("Post-train pruning flows start from the natural model; add 'natural' to 'strategies' or keep only the 'pre' flow.");
        foreach (var m in PruningMethods) PruningSettings.ParseMethod(m);
        foreach (var f in PruningFlows) PruningFlowNames.Parse(f);
        Explanations.Validate();
        Model.Validate();
        if (PruningMethods.Length > 0 && PruningFlows.Select(PruningFlowNames.Parse).Contains(PruningFlow.PostFineTune) && Pruning.FineTuneEpochs < 1)
            throw new SalientException($"'pruning.fineTuneEpochs' is {Pruning.FineTuneEpochs} but the post-ft flow fine-tunes; give at least 1 epoch (the paper: 50) or drop 'post-ft' from 'pruningFlows'.");
        foreach (var name in Metrics.Keys)
            if (!ExplanationMetrics.Names.Contains(name))
                throw new SalientException($"Unknown metric '{name}' in 'metrics'; use any of: {string.Join(", ", ExplanationMetrics.Names)}.");
        MetricChoices();
        Training.Validate();
        Attack.Validate();
        Pruning.For(PruningMethod.L1Unstructured).Validate();
        Pruning.For(PruningMethod.GlobalUnstructured).Validate();
        Pruning.For(PruningMethod.LayeredStructured).Validate();
        Slurm.Validate();
        Report.Bootstrap.Validate();
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

/// <summary>A study's <see cref="DataSettings"/> and <see cref="LoadOptions"/> in one flat object, with their defaults.</summary>
public sealed record StudyData
{
    private static readonly DataSettings Defaults = new();

    public string Source { get; init; } = Defaults.Source;
    public int ImageSize { get; init; } = Defaults.Load.ImageSize;
    public ulong Seed { get; init; } = Defaults.Load.Seed;
    public bool CropToRoi { get; init; } = Defaults.Load.CropToRoi;
    public bool LisaPaperClasses { get; init; } = Defaults.Load.LisaPaperClasses;
    public int SyntheticTrainImages { get; init; } = Defaults.SyntheticTrainImages;
    public int SyntheticTestImages { get; init; } = Defaults.SyntheticTestImages;
    public int SyntheticClasses { get; init; } = Defaults.SyntheticClasses;
    public string SyntheticDifficulty { get; init; } = Defaults.SyntheticDifficulty;

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

public sealed record StudyReportSettings
{
    /// <summary>The intervals of every difference to the natural model.</summary>
    public BootstrapSettings Bootstrap { get; init; } = new();
}

/// <summary>The study's pruning amounts, flat; the defaults are the paper's (<see cref="PruningSettings.Paper"/>), which `train --prune` and `prune` use too.</summary>
public sealed record StudyPruning
{
    public double L1ConvAmount { get; init; } = PruningSettings.Paper(PruningMethod.L1Unstructured).Amount;
    public double L1LinearAmount { get; init; } = PruningSettings.Paper(PruningMethod.L1Unstructured).LinearAmount;
    public double GlobalAmount { get; init; } = PruningSettings.Paper(PruningMethod.GlobalUnstructured).Amount;
    /// <summary>Layered: the share of output channels/neurons removed from every conv and hidden linear layer.</summary>
    public double LayeredAmount { get; init; } = PruningSettings.Paper(PruningMethod.LayeredStructured).Amount;
    public int FineTuneEpochs { get; init; } = 50;

    public PruningSettings For(PruningMethod method) => method switch
    {
        PruningMethod.L1Unstructured => PruningSettings.Paper(method) with { Amount = L1ConvAmount, LinearAmount = L1LinearAmount },
        PruningMethod.GlobalUnstructured => PruningSettings.Paper(method) with { Amount = GlobalAmount },
        _ => PruningSettings.Paper(method) with { Amount = LayeredAmount, LinearAmount = LayeredAmount },
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
    /// <summary>SG noise samples of the maps that are scored (the reference notebooks: 10).</summary>
    public int SgSamples { get; init; } = SmoothGradSettings.SamplesForMetrics;
    /// <summary>SG noise samples of the maps in the saliency figures (SPEC.md §4: 50).</summary>
    public int FigureSgSamples { get; init; } = SmoothGradSettings.SamplesForFigures;
    public double SgSigma { get; init; } = new SmoothGradSettings().Sigma;
    /// <summary>Images shown in the saliency grids (the first ones of the explained images).</summary>
    public int FigureImages { get; init; } = 4;
    public int BatchSize { get; init; } = AttributionSettings.DefaultBatchSize;

    public void Validate()
    {
        foreach (var m in Methods)
            if (!AttributionMethods.Names.Contains(m)) throw new SalientException($"Unknown explanation method '{m}' in 'explanations.methods'; use vg, ig and/or sg.");
        if (Methods.Distinct().Count() != Methods.Length) throw new SalientException("'explanations.methods' lists a method twice; give each once.");
        if (Images < 1) throw new SalientException($"'explanations.images' must be at least 1, got {Images}.");
        if (FigureImages < 0 || FigureImages > Images)
            throw new SalientException($"'explanations.figureImages' is {FigureImages}; give a number from 0 to 'explanations.images' ({Images}).");
        if (IgSteps < 1) throw new SalientException($"'explanations.igSteps' must be at least 1, got {IgSteps} (the paper: 50).");
        if (SgSamples < 1) throw new SalientException($"'explanations.sgSamples' must be at least 1, got {SgSamples} (the paper: 10 for metrics).");
        if (FigureSgSamples < 1) throw new SalientException($"'explanations.figureSgSamples' must be at least 1, got {FigureSgSamples} (the paper: 50 for figures).");
        if (!(SgSigma >= 0) || double.IsInfinity(SgSigma)) throw new SalientException($"'explanations.sgSigma' must be a finite number ≥ 0, got {SgSigma} (the paper: 0.15).");
        if (BatchSize < 1) throw new SalientException($"'explanations.batchSize' must be at least 1, got {BatchSize}.");
    }

    /// <summary>The settings one method's maps depend on (a change reruns that method's cells only).</summary>
    public object MethodSettings(string method, bool forFigures = false) => method switch
    {
        "ig" => new IntegratedGradientsSettings { Steps = IgSteps, Rule = IgRule, Baseline = IgBaseline },
        "sg" => new SmoothGradSettings { Sigma = SgSigma, Samples = forFigures ? FigureSgSamples : SgSamples },
        _ => "vg",
    };

    /// <summary>The attribution settings of a cell; SG's noise is seeded by the study seed.</summary>
    public AttributionSettings ToAttributionSettings(long seed, bool forFigures = false) => new()
    {
        BatchSize = BatchSize,
        IntegratedGradients = (IntegratedGradientsSettings)MethodSettings("ig"),
        SmoothGrad = (SmoothGradSettings)MethodSettings("sg", forFigures) with { Seed = seed },
    };
}
