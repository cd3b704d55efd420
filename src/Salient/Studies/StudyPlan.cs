using System.Security.Cryptography;
using Salient.Evaluation;
using Salient.Evaluation.Metrics;
using Salient.Pruning;
using Salient.Training;

namespace Salient.Studies;

/// <summary>What a cell computes.</summary>
public enum CellKind
{
    /// <summary>Loads the data once and records what the report shows of it (the figure images).</summary>
    Data,
    /// <summary>Trains, prunes and/or fine-tunes one model of the grid; writes its checkpoint.</summary>
    Train,
    /// <summary>Explains the study's images with one method on one model; writes the maps.</summary>
    Explain,
    /// <summary>Scores one method's maps (or, for model metrics, the model) with one metric.</summary>
    Metric,
}

/// <summary>
/// One unit of a study: a pure function of its settings (summarised by <see cref="Hash"/>) and of
/// the files its dependencies wrote. Any process on any machine that sees the study folder can run
/// it; its outcome goes to its own file (<see cref="OutcomeFile"/>).
/// </summary>
public sealed record CellPlan
{
    public required string Id { get; init; }
    public required CellKind Kind { get; init; }
    public required string Hash { get; init; }
    public required ulong Seed { get; init; }
    public IReadOnlyList<string> DependsOn { get; init; } = [];
    /// <summary>The grid model (train cells, and the model explained or scored).</summary>
    public ModelPlan? Model { get; init; }
    public string? Method { get; init; }
    public string? Metric { get; init; }
    /// <summary>The file the cell leaves for its dependants (checkpoint or maps), relative to the study folder.</summary>
    public string? Artefact { get; init; }
    /// <summary>Estimated cost in model forward+backward passes of one image (see <see cref="StudyPlan.Passes"/>).</summary>
    public double Passes { get; init; }

    /// <summary>True when the cell leaves no artefact or its artefact is in <paramref name="studyFolder"/>.</summary>
    public bool HasArtefactIn(string studyFolder) => Artefact is null || File.Exists(Path.Combine(studyFolder, Artefact));

    /// <summary>The outcome file, relative to the study folder.</summary>
    public string OutcomeFile => Path.Combine(StudyPlan.CellsFolder, Id.Replace('/', '~') + ".json");
}

/// <summary>
/// A study's cells in an order where every cell comes after the ones it needs, with the settings hash
/// of each: the cache key that decides whether a finished cell can be reused. Computed from the
/// settings alone, so every process (the coordinator, a local worker, a Slurm job) agrees on it.
/// </summary>
public sealed class StudyPlan
{
    public const string CellsFolder = "cells", ModelsFolder = "models", MapsFolder = "maps";

    private readonly Dictionary<string, CellPlan> byId;

    public StudySettings Settings { get; }
    public IReadOnlyList<CellPlan> Cells { get; }
    public IReadOnlyList<ModelPlan> Models { get; }

    private StudyPlan(StudySettings settings, List<CellPlan> cells, IReadOnlyList<ModelPlan> models)
    {
        Settings = settings;
        Cells = cells;
        Models = models;
        byId = cells.ToDictionary(c => c.Id);
    }

    public CellPlan Get(string id) => byId.TryGetValue(id, out var cell) ? cell
        : throw new SalientException($"The study has no cell '{id}'; list its cells with 'salient study --settings ... --dry-run'.");

    public bool Contains(string id) => byId.ContainsKey(id);

    public static StudyPlan Build(StudySettings settings)
    {
        settings.Validate();
        var models = StudyGrid.Models(settings);
        var metrics = settings.MetricChoices();
        var cells = new List<CellPlan>();
        var explanations = settings.Explanations;
        int images = explanations.Images;

        var dataHash = StudySettings.Hash("data", settings.Data, images, explanations.FigureImages);
        var data = new CellPlan { Id = "data", Kind = CellKind.Data, Hash = dataHash, Seed = 0, Passes = 0 };
        cells.Add(data);

        // Initial weights count by their content: another file under the same name retrains the models.
        string? initialWeights = settings.Model.InitialWeights is { } weights && File.Exists(weights) ? ContentHash(weights) : null;
        foreach (var seed in settings.Seeds)
        {
            var trainCells = new Dictionary<string, CellPlan>();
            foreach (var plan in models)
            {
                var upstream = plan.Upstream is null ? null : trainCells[plan.Upstream];
                var recipe = RecipeFor(settings, plan, seed);
                var pruning = plan.Method is { } m ? settings.Pruning.For(m) : null;
                object?[] parts = ["train", settings.Data, settings.Model, recipe, pruning, seed, upstream?.Hash];
                var hash = StudySettings.Hash(initialWeights is null ? parts : [.. parts, initialWeights]);
                var train = new CellPlan
                {
                    Id = $"train/{plan.Name}/s{seed}", Kind = CellKind.Train, Hash = hash, Seed = seed, Model = plan,
                    DependsOn = upstream is null ? [] : [upstream.Id],
                    Artefact = Path.Combine(ModelsFolder, $"{plan.Name}-s{seed}-{hash}.safetensors"),
                    Passes = TrainingPasses(settings, recipe),
                };
                trainCells[plan.Name] = train;
                cells.Add(train);
            }

            foreach (var plan in models)
            {
                var train = trainCells[plan.Name];
                foreach (var choice in metrics.Where(c => c.Metric.Scope == MetricScope.Model))
                    cells.Add(MetricCell(choice, plan, null, seed, train, data, Workload(settings, null)));
                foreach (var method in explanations.Methods)
                {
                    var hash = StudySettings.Hash("explain", train.Hash, dataHash, method, explanations.MethodSettings(method),
                        method == "sg" ? explanations.MethodSettings(method, forFigures: true) : null);
                    var explanation = new CellPlan
                    {
                        Id = $"explain/{plan.Name}/{method}/s{seed}", Kind = CellKind.Explain, Hash = hash, Seed = seed, Model = plan, Method = method,
                        DependsOn = [data.Id, train.Id],
                        Artefact = Path.Combine(MapsFolder, $"{plan.Name}-{method}-s{seed}-{hash}.safetensors"),
                        Passes = images * MethodPasses(explanations, method, forFigures: false)
                            + (method == "sg" ? explanations.FigureImages * MethodPasses(explanations, method, forFigures: true) : 0),
                    };
                    cells.Add(explanation);
                    foreach (var choice in metrics.Where(c => c.Metric.Scope == MetricScope.Maps))
                        cells.Add(MetricCell(choice, plan, method, seed, explanation, data, Workload(settings, method)));
                }
            }
        }
        return new StudyPlan(settings, cells, models);
    }

    private static CellPlan MetricCell(Workflows.MetricChoice choice, ModelPlan plan, string? method, ulong seed, CellPlan input, CellPlan data, MetricWorkload workload)
    {
        var name = choice.Metric.Name;
        return new CellPlan
        {
            Id = method is null ? $"metric/{name}/{plan.Name}/s{seed}" : $"metric/{name}/{plan.Name}/{method}/s{seed}",
            Kind = CellKind.Metric, Seed = seed, Model = plan, Method = method, Metric = name,
            Hash = StudySettings.Hash("metric", name, ExplanationMetrics.WriteSettings(choice.Settings), input.Hash, data.Hash, seed),
            DependsOn = input.Kind == CellKind.Train ? [data.Id, input.Id] : [data.Id, input.DependsOn[1], input.Id],
            Passes = workload.Images * choice.Metric.PassesPerImage(choice.Settings, workload),
        };
    }

    /// <summary>What a metric cell of <paramref name="method"/> (null: a model metric) has to work on, for its cost estimate.</summary>
    private static MetricWorkload Workload(StudySettings settings, string? method) => new(settings.Explanations.Images,
        method is null ? 0 : MethodPasses(settings.Explanations, method, forFigures: false), ModelRandomisation.LayerCount(settings.Model.Architecture));

    /// <summary>The recipe a grid model is trained with: the study's natural recipe, adapted per strategy and flow.</summary>
    public static TrainingRecipe RecipeFor(StudySettings settings, ModelPlan plan, ulong seed)
    {
        var recipe = settings.Training with { Seed = seed };
        return plan switch
        {
            { Strategy: "adversarial" } => recipe with { Strategy = "adversarial", Attack = plan.AttackEpsilon is { } e ? settings.Attack.AtEpsilon(e) : settings.Attack },
            { Flow: PruningFlow.PostNoFineTune } => recipe with { Epochs = 0 },
            { Flow: PruningFlow.PostFineTune } => recipe with { Epochs = settings.Pruning.FineTuneEpochs },
            _ => recipe,
        };
    }

    /// <summary>Forward+backward passes of one image a method costs: VG one, IG one per step, SG one per sample.</summary>
    public static double MethodPasses(StudyExplanations explanations, string method, bool forFigures) => method switch
    {
        "ig" => explanations.IgSteps,
        "sg" => forFigures ? explanations.FigureSgSamples : explanations.SgSamples,
        _ => 1,
    };

    // Training passes over the images plus a test evaluation (a forward is about a third of a pass); an
    // adversarial step adds an attack pass per iteration, and an adversarial epoch ends with its robust
    // check (attack and forward on the check images). The data size is not known before loading:
    // the estimate takes it from the data settings where it can.
    private static double TrainingPasses(StudySettings settings, TrainingRecipe recipe)
    {
        double trainImages = settings.Data.Source == Data.DataSettings.Synthetic ? settings.Data.SyntheticTrainImages : EstimatedRealTrainImages;
        double testImages = settings.Data.Source == Data.DataSettings.Synthetic ? settings.Data.SyntheticTestImages : EstimatedRealTrainImages / 4;
        if (recipe.Strategy != "adversarial") return recipe.Epochs * (trainImages + testImages / 3);
        double check = Math.Min(recipe.RobustTestImages, testImages) * (AttackPass * recipe.RobustCheckIterations + 1.0 / 3);
        return recipe.Epochs * (trainImages * (1 + AttackPass * recipe.Attack.Iterations) + testImages / 3 + check);
    }

    private static string ContentHash(string path)
    {
        using var file = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(file));
    }

    /// <summary>
    /// An attack iteration in training steps of one image: it computes no weight gradients and makes no
    /// update. Measured with the paper's VGG-16 at batch 128 here: PGD-7 0.71, FGSM-RS 0.78 (bench
    /// keys against the plain step), 0.67 in the real GTSRB study's adversarial epochs.
    /// </summary>
    private const double AttackPass = 0.7;

    /// <summary>For estimates before the data is loaded: GTSRB's training split, 80% of 39,209 images.</summary>
    public const double EstimatedRealTrainImages = 31_367;
}
