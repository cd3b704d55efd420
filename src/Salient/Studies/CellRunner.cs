using System.Diagnostics;
using System.Runtime.InteropServices;
using Salient.Attribution;
using Salient.Data;
using Salient.Evaluation;
using Salient.Evaluation.Metrics;
using Salient.Models;
using Salient.Pruning;
using Salient.Training;
using Salient.Workflows;
using static TorchSharp.torch;

namespace Salient.Studies;

/// <summary>Where a running cell is.</summary>
public readonly record struct CellProgress(string Cell, string Stage, double Fraction)
{
    /// <summary>
    /// The stage of a cell that continues an earlier run's work (a training cell after its last epoch
    /// checkpoint), reported once with the share of the cell that run did, which this run's time does not pay for.
    /// </summary>
    public const string ResumedStage = "resumed where an earlier run stopped";

    public bool IsResume => Stage == ResumedStage;
}

/// <summary>
/// Runs single cells of a study in this process, whichever process that is (the coordinator, a local
/// worker, a Slurm job): checks that the files it needs are there, computes, writes the cell's
/// artefact and then its outcome file. The data is loaded once per runner, on first need.
/// </summary>
public sealed class CellRunner(StudyPlan plan, string folder, IProgress<CellProgress>? progress = null, CancellationToken cancellation = default) : IDisposable
{
    private StudySettings Settings => plan.Settings;
    private DataSplit? data;
    private SignDataset? explained;
    private ModelSpec? spec;

    /// <summary>
    /// The cell's outcome file says it finished with these settings (same hash) and its artefact, if
    /// any, is there: running it again would only recompute the same result. Read from the outcome
    /// file, the one record every process writes, so asking opens no results store.
    /// </summary>
    public bool IsDone(CellPlan cell)
    {
        var path = Path.Combine(folder, cell.OutcomeFile);
        if (!File.Exists(path)) return false;
        var outcome = CellOutcome.Read(path);
        return outcome.Status == CellOutcome.Done && outcome.Hash == cell.Hash && cell.HasArtefactIn(folder);
    }

    /// <summary>
    /// Runs the cell and writes its outcome file (done or failed). A stop request
    /// (<see cref="OperationCanceledException"/>) propagates and writes nothing: the cell is simply not done.
    /// </summary>
    public CellOutcome Run(CellPlan cell)
    {
        var clock = Stopwatch.StartNew();
        CellOutcome outcome;
        try
        {
            Report(cell, "starting", 0);
            foreach (var need in cell.DependsOn.Select(plan.Get))
                if (!need.HasArtefactIn(folder))
                    throw new SalientException($"Cell {cell.Id} needs {need.Artefact} from cell {need.Id}, which is missing; run that cell first.");
            var tables = cell.Kind switch
            {
                CellKind.Data => DataCell(),
                CellKind.Train => TrainCell(cell),
                CellKind.Explain => ExplainCell(cell),
                CellKind.Metric => MetricCell(cell),
                _ => throw new ArgumentOutOfRangeException(nameof(cell)),
            };
            outcome = new CellOutcome { Cell = cell.Id, Kind = cell.Kind, Hash = cell.Hash, Status = CellOutcome.Done, Seconds = clock.Elapsed.TotalSeconds, Tables = tables };
        }
        catch (Exception e) when (e is not (OperationCanceledException or OutOfMemoryException))
        {
            var message = e is SalientException ? e.Message : $"{e.GetType().Name}: {e.Message}";
            outcome = new CellOutcome { Cell = cell.Id, Kind = cell.Kind, Hash = cell.Hash, Status = CellOutcome.Failed, Error = message, Seconds = clock.Elapsed.TotalSeconds };
        }
        outcome.Write(folder, cell);
        return outcome;
    }

    private void Report(CellPlan cell, string stage, double fraction)
    {
        cancellation.ThrowIfCancellationRequested();
        progress?.Report(new CellProgress(cell.Id, stage, fraction));
    }

    // Loaded on first need, which may be inside a cell's dispose scope: the tensors must outlive it.
    private DataSplit Data => data ??= Kept(DataSource.Open(Settings.Data.ToDataSettings()));
    private ModelSpec Spec => spec ??= Settings.Model.SpecFor(Data);
    /// <summary>The explained test images: evenly spaced, so every class appears (test sets are often sorted by class).</summary>
    private SignDataset Explained => explained ??= Kept(Data.Test.EvenlySpaced(Settings.Explanations.Images));

    private static T Kept<T>(T loaded)
    {
        var sets = loaded switch { DataSplit d => [d.Train, d.Test], SignDataset s => new[] { s }, _ => [] };
        foreach (var set in sets)
        {
            set.Images.DetachFromDisposeScope();
            set.Masks?.DetachFromDisposeScope();
        }
        return loaded;
    }

    private string ArtefactPath(CellPlan cell) => Path.Combine(folder, cell.Artefact!);

    private Dictionary<string, List<object?[]>> DataCell()
    {
        var images = Explained;
        int n = Math.Min(Settings.Explanations.FigureImages, images.Count), h = images.ImageSize;
        var rows = Enumerable.Range(0, n).Select(i =>
        {
            using var img = images.Images[i].contiguous();
            return new object?[] { i, images.Labels[i], Data.ClassNames[(int)images.Labels[i]], h, h, Bytes(img) };
        }).ToList();
        return new() { ["figure_images"] = rows };
    }

    private Dictionary<string, List<object?[]>> TrainCell(CellPlan cell)
    {
        var modelPlan = cell.Model!;
        var recipe = StudyPlan.RecipeFor(Settings, modelPlan, cell.Seed);
        var checkpoint = ArtefactPath(cell);
        SalientModel model;
        PruningRecord? upstreamPruning = null;
        if (modelPlan.Upstream is null)
        {
            // Every model trained from scratch with one seed starts from the same initial weights.
            SeededRandom.SeedTorch(cell.Seed, "init");
            model = Settings.Model.InitialWeights is { } weights
                ? Checkpoint.StartingPoint(weights, Data.ClassNames, Spec.InputSize)
                : ModelFactory.Create(Spec);
        }
        else
        {
            model = ModelFactory.Create(Spec);
            upstreamPruning = PruningRecord.From(Checkpoint.LoadWeightsInto(model, Path.Combine(folder, plan.Get(cell.DependsOn[0]).Artefact!)));
        }
        using (model)
        {
            var metadata = new Dictionary<string, string> { [Checkpoint.StudyModelKey] = modelPlan.Name };
            if (modelPlan.Method is { } method && modelPlan.Flow is PruningFlow.Pre or PruningFlow.PostNoFineTune)
            {
                var pruning = Settings.Pruning.For(method);
                var sparsityAfterPruning = Pruner.Prune(model, pruning);
                metadata[PruningRecord.MetadataKey] = new PruningRecord(pruning, modelPlan.FlowLabel!, sparsityAfterPruning.Overall).ToJson();
            }
            else if (upstreamPruning is not null)
                metadata[PruningRecord.MetadataKey] = upstreamPruning.AfterTraining().ToJson();
            var history = new List<EpochRecord>();
            if (recipe.Epochs > 0)
            {
                var trainer = new Trainer(recipe);
                foreach (var (k, v) in metadata) trainer.ExtraMetadata[k] = v;
                var state = trainer.Train(model, Data, checkpoint, resume: true,
                    // The batch is named because the fraction is the whole cell's: "epoch 1/6 13 %" alone reads as 13 % of epoch 1.
                    new SyncProgress<TrainingProgress>(p => Report(cell,
                        p.IsResume ? CellProgress.ResumedStage : $"epoch {p.Epoch}/{p.Epochs}, batch {p.Batch}/{p.Batches}",
                        ((p.Epoch - 1) * (double)p.Batches + p.Batch) / (p.Epochs * (double)p.Batches))));
                history.AddRange(state.History);
            }
            else
            {
                Checkpoint.Save(checkpoint, model, Data.ClassNames, metadata);
            }
            Report(cell, "evaluating", 1);
            var accuracy = Classification.Evaluate(model, Data.Test);
            var sparsity = SparsityReport.Measure(model);
            string phase = modelPlan.Flow == PruningFlow.PostFineTune ? "fine-tune" : "train";
            var name = modelPlan.Name;
            long seed = (long)cell.Seed;
            return new()
            {
                ["epochs"] = history.Select(h => new object?[] { name, seed, phase, h.Epoch, h.Loss, h.TrainAccuracy, h.TestAccuracy, h.RobustTestAccuracy, h.Seconds }).ToList(),
                ["accuracy"] = [[name, seed, modelPlan.MethodLabel, modelPlan.FlowLabel, accuracy.Accuracy, accuracy.Correct, accuracy.Count, sparsity.Overall]],
                ["sparsity"] = sparsity.Layers.Select(l => new object?[] { name, seed, l.Layer, l.Zeros, l.Total }).ToList(),
            };
        }
    }

    private Checkpoint LoadModel(CellPlan cell) =>
        Checkpoint.Load(ArtefactPath(plan.Get(cell.DependsOn.First(d => plan.Get(d).Kind == CellKind.Train))));

    private AttributionMethod Method(CellPlan cell, bool forFigures = false) =>
        AttributionMethods.Create(cell.Method!, Settings.Explanations.ToAttributionSettings((long)cell.Seed, forFigures));

    private Dictionary<string, List<object?[]>> ExplainCell(CellPlan cell)
    {
        using var scope = NewDisposeScope();
        using var ckpt = LoadModel(cell);
        var images = Explained;
        var labels = images.LabelTensor();
        var method = Method(cell);
        using var ownsNoise = method as IDisposable; // SmoothGrad holds a generator
        var maps = ExplanationEvaluation.Explain(ckpt.Model, method, images.Images, labels,
            new SyncProgress<double>(f => Report(cell, $"explaining {images.Count} images", 0.9 * f)));
        var predictions = Classification.Predict(ckpt.Model, images.Images);
        SafeTensors.Write(ArtefactPath(cell), [KeyValuePair.Create("maps", maps), KeyValuePair.Create("predictions", tensor(predictions))], new Dictionary<string, string> { ["salient.cell"] = cell.Id });

        // The figures show SG with the figure sample count (SPEC.md §4), which the scored maps need not use.
        int figures = Math.Min(Settings.Explanations.FigureImages, images.Count);
        Tensor figureMaps = maps.narrow(0, 0, figures);
        if (cell.Method == "sg" && figures > 0)
        {
            Report(cell, "figure maps", 0.95);
            var figureMethod = Method(cell, forFigures: true);
            using var ownsFigureNoise = figureMethod as IDisposable;
            figureMaps = SaliencyMap.Reduce(figureMethod.Attribute(ckpt.Model, images.Images.narrow(0, 0, figures), labels.narrow(0, 0, figures)));
        }
        int h = images.ImageSize;
        return new()
        {
            ["figure_maps"] = Enumerable.Range(0, figures).Select(i => new object?[] { cell.Model!.Name, cell.Method, (long)cell.Seed, i, h, h, Bytes(figureMaps[i].contiguous()) }).ToList(),
        };
    }

    private Dictionary<string, List<object?[]>> MetricCell(CellPlan cell)
    {
        using var scope = NewDisposeScope();
        var metric = ExplanationMetrics.Get(cell.Metric!);
        var settings = ExplanationMetrics.ReadSettings(metric, Settings.Metrics[cell.Metric!]);
        using var ckpt = LoadModel(cell);
        var images = Explained;
        var labels = images.LabelTensor();
        Tensor? maps = null;
        long[] predictions;
        AttributionMethod? method = null;
        if (metric.Scope == MetricScope.Maps)
        {
            var stored = SafeTensors.Read(ArtefactPath(plan.Get(cell.DependsOn.Last())));
            maps = stored.Tensors["maps"];
            predictions = stored.Tensors["predictions"].data<long>().ToArray();
            method = Method(cell);
        }
        else predictions = Classification.Predict(ckpt.Model, images.Images);
        using var ownsNoise = method as IDisposable;
        var input = new MetricInput
        {
            Model = ckpt.Model, Images = images.Images, Labels = labels, Predictions = predictions, Maps = maps, Method = method,
            GroundTruth = images.Masks, Seed = (long)cell.Seed,
            Progress = new SyncProgress<double>(f => Report(cell, metric.Title, f)),
        };
        var scores = ExplanationEvaluation.Score(new MetricChoice(metric, settings), input);
        string model = cell.Model!.Name;
        long seed = (long)cell.Seed;
        var rows = new List<object?[]>();
        foreach (var summary in metric.Summaries)
        {
            var values = scores.Values[summary.Key];
            for (int i = 0; i < values.Length; i++)
                if (!double.IsNaN(values[i])) rows.Add([model, cell.Method, metric.Name, seed, i, summary.Key, values[i]]);
        }
        rows.AddRange(scores.Details.Select(d => new object?[] { model, cell.Method, metric.Name, seed, d.Image, d.Key, d.Value }));
        return new() { ["scores"] = rows };
    }

    private static byte[] Bytes(Tensor t) => MemoryMarshal.AsBytes(t.to(float32).contiguous().data<float>().ToArray().AsSpan()).ToArray();

    public void Dispose()
    {
        explained?.Dispose();
        data?.Dispose();
    }
}
