using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text.Json;
using Salient.Attribution;
using Salient.Data;
using Salient.Evaluation;
using Salient.Models;
using Salient.Pruning;
using Salient.Training;
using static TorchSharp.torch;

namespace Salient.Studies;

/// <summary>Where the whole study is and what it is doing now.</summary>
public readonly record struct StudyProgress(int CellsDone, int CellsTotal, string Cell, string Stage, double CellFraction);

/// <summary>What a run did: cells computed, reused from the cache, and failed (with the reason).</summary>
public sealed record StudyOutcome(IReadOnlyList<string> Computed, IReadOnlyList<string> Cached, IReadOnlyList<(string Cell, string Error)> Failed);

/// <summary>
/// Runs a study's grid in a folder: every model (train / prune / fine-tune), then every
/// (model, method) explanation cell and every model's gradient norms. A cell is skipped when the
/// store records it done with the same settings hash; a killed run resumes (training even inside a
/// cell, from the epoch checkpoint); one failed cell is recorded and the cells that do not depend
/// on it go on.
/// </summary>
public sealed class StudyRunner(StudySettings settings, string folder, IProgress<StudyProgress>? progress = null, CancellationToken cancellation = default)
{
    public const string SettingsFile = "settings.json", DatabaseFile = "results.db";

    private readonly List<string> computed = [], cached = [];
    private readonly List<(string, string)> failed = [];
    private int done, total;

    public StudyOutcome Run()
    {
        settings.Validate();
        Directory.CreateDirectory(folder);
        AtomicFile.WriteAllText(Path.Combine(folder, SettingsFile), settings.ToJson());
        using var store = new ResultStore(Path.Combine(folder, DatabaseFile));
        var models = StudyGrid.Models(settings);
        total = settings.Seeds.Length * models.Count * (1 + 1 + settings.Explanations.Methods.Length);

        Report("data", "loading", 0);
        using var data = DataSource.Open(settings.Data.ToDataSettings());
        var (mean, std) = settings.Data.Normalization == "paper" ? (new ModelSpec().Mean, new ModelSpec().Std) : Splits.ChannelStatistics(data.Train);
        var spec = new ModelSpec
        {
            Architecture = settings.Model.Architecture, Width = settings.Model.Width, Stem = settings.Model.Stem, BatchNorm = settings.Model.BatchNorm,
            NumClasses = data.ClassNames.Count, InputSize = data.Train.ImageSize, Mean = mean, Std = std,
        };
        using var explained = ExplanationImages(data.Test);
        StoreFigureImages(store, explained, data.ClassNames);

        foreach (var seed in settings.Seeds)
        {
            var hashes = new Dictionary<string, string>();
            var checkpoints = new Dictionary<string, string>();
            foreach (var plan in models)
            {
                string? upstreamHash = plan.Upstream is null ? null : hashes.GetValueOrDefault(plan.Upstream);
                if (plan.Upstream is not null && upstreamHash is null)
                {
                    Skip($"train/{plan.Name}/s{seed}", $"it starts from {plan.Upstream}, which failed", 2 + settings.Explanations.Methods.Length);
                    continue;
                }
                var hash = StudySettings.Hash("train", settings.Data, spec, RecipeFor(plan, seed), PruningFor(plan), seed, upstreamHash);
                var checkpoint = Path.Combine(folder, "models", $"{plan.Name}-s{seed}-{hash}.safetensors");
                var cell = new CellRecord($"train/{plan.Name}/s{seed}", CellKinds.Train, plan.Name, null, seed, hash, JsonSerializer.Serialize(new { plan, seed }), 0);
                bool ok = RunCell(store, cell, checkpoint, () => TrainModel(plan, seed, spec, data, checkpoint, plan.Upstream is null ? null : checkpoints[plan.Upstream], cell.Cell));
                if (!ok)
                {
                    Skip($"explain/{plan.Name}/*/s{seed}", "its model failed", 1 + settings.Explanations.Methods.Length);
                    continue;
                }
                hashes[plan.Name] = hash;
                checkpoints[plan.Name] = checkpoint;
            }

            foreach (var plan in models.Where(p => hashes.ContainsKey(p.Name)))
            {
                var ckpt = checkpoints[plan.Name];
                var gradHash = StudySettings.Hash("grad-norm", hashes[plan.Name], settings.Explanations.Images);
                var gradCell = new CellRecord($"grad-norm/{plan.Name}/s{seed}", CellKinds.GradientNorm, plan.Name, null, seed, gradHash, "{}", 0);
                RunCell(store, gradCell, null, () => GradientNorms(plan, seed, ckpt, explained, gradCell.Cell));
                foreach (var method in settings.Explanations.Methods)
                {
                    var explainHash = StudySettings.Hash("explain", hashes[plan.Name], method, settings.Explanations, settings.Metrics);
                    var explainCell = new CellRecord($"explain/{plan.Name}/{method}/s{seed}", CellKinds.Explain, plan.Name, method, seed, explainHash, "{}", 0);
                    RunCell(store, explainCell, null, () => Explain(plan, method, seed, ckpt, explained, explainCell.Cell));
                }
            }
        }
        return new StudyOutcome(computed, cached, failed);
    }

    private void Skip(string cell, string why, int cells)
    {
        failed.Add((cell, $"skipped: {why}"));
        done += cells;
    }

    /// <summary>
    /// Runs one cell unless the store has it done with this hash (and its artefact exists). The body
    /// computes and returns the rows to write; they are written with the "done" mark in one
    /// transaction, so a kill never leaves half a result.
    /// </summary>
    private bool RunCell(ResultStore store, CellRecord cell, string? artefact, Func<Action<ResultStore.Writer>> body)
    {
        Report(cell.Cell, "starting", 0);
        try
        {
            if (store.FinishedHash(cell.Cell) == cell.Hash && (artefact is null || File.Exists(artefact)))
            {
                cached.Add(cell.Cell);
                return true;
            }
            var clock = Stopwatch.StartNew();
            try
            {
                var write = body();
                store.Complete(cell with { Seconds = clock.Elapsed.TotalSeconds }, write);
                computed.Add(cell.Cell);
                return true;
            }
            catch (Exception e) when (e is not (OutOfMemoryException or OperationCanceledException))
            {
                var message = e is SalientException ? e.Message : $"{e.GetType().Name}: {e.Message}";
                store.Fail(cell with { Seconds = clock.Elapsed.TotalSeconds }, message);
                failed.Add((cell.Cell, message));
                return false;
            }
        }
        finally
        {
            done++;
        }
    }

    /// <summary>Reports progress; also where a requested stop takes effect (between batches, never inside a write).</summary>
    private void Report(string cell, string stage, double fraction)
    {
        cancellation.ThrowIfCancellationRequested();
        progress?.Report(new StudyProgress(done, total, cell, stage, fraction));
    }

    private TrainingRecipe RecipeFor(ModelPlan plan, ulong seed)
    {
        var recipe = settings.Training with { Seed = seed };
        return plan switch
        {
            { Strategy: "adversarial" } => recipe with { Strategy = "adversarial", Attack = settings.Attack },
            { Flow: PruningFlow.PostNoFineTune } => recipe with { Epochs = 0 },
            { Flow: PruningFlow.PostFineTune } => recipe with { Epochs = settings.Pruning.FineTuneEpochs },
            _ => recipe,
        };
    }

    private PruningSettings? PruningFor(ModelPlan plan) => plan.Method is { } m ? settings.Pruning.For(m) : null;

    private Action<ResultStore.Writer> TrainModel(ModelPlan plan, ulong seed, ModelSpec spec, DataSplit data, string checkpoint, string? upstream, string cell)
    {
        var recipe = RecipeFor(plan, seed);
        SalientModel model;
        if (upstream is null)
        {
            // Every model trained from scratch with one seed starts from the same initial weights.
            SeededRandom.SeedTorch(seed, "init");
            model = ModelFactory.Create(spec);
        }
        else
        {
            model = ModelFactory.Create(spec);
            Checkpoint.LoadWeightsInto(model, upstream);
        }
        using (model)
        {
            if (plan.Method is { } method && plan.Flow is PruningFlow.Pre or PruningFlow.PostNoFineTune)
                Pruner.Prune(model, settings.Pruning.For(method));

            var history = new List<EpochRecord>();
            if (recipe.Epochs > 0)
            {
                var trainer = new Trainer(recipe);
                trainer.ExtraMetadata["salient.study.model"] = plan.Name;
                var state = trainer.Train(model, data, checkpoint, resume: true,
                    new SyncProgress<TrainingProgress>(p => Report(cell, $"epoch {p.Epoch}/{p.Epochs}", ((p.Epoch - 1) * (double)p.Batches + p.Batch) / (p.Epochs * (double)p.Batches))));
                history.AddRange(state.History);
            }
            else
            {
                Checkpoint.Save(checkpoint, model, data.ClassNames, new Dictionary<string, string> { ["salient.study.model"] = plan.Name });
            }
            Report(cell, "evaluating", 1);
            var accuracy = Classification.Evaluate(model, data.Test);
            var sparsity = SparsityReport.Measure(model);
            string phase = plan.Flow == PruningFlow.PostFineTune ? "fine-tune" : "train";
            return writer =>
            {
                writer.Bulk("INSERT INTO epochs VALUES($p0,$p1,$p2,$p3,$p4,$p5,$p6,$p7)",
                    history.Select(h => new object?[] { plan.Name, (long)seed, phase, h.Epoch, h.Loss, h.TrainAccuracy, h.TestAccuracy, h.Seconds }));
                writer.Bulk("INSERT INTO accuracy VALUES($p0,$p1,$p2,$p3,$p4,$p5,$p6,$p7)",
                    [[plan.Name, (long)seed, plan.MethodLabel, plan.FlowLabel, accuracy.Accuracy, accuracy.Correct, accuracy.Count, sparsity.Overall]]);
                writer.Bulk("INSERT INTO sparsity VALUES($p0,$p1,$p2,$p3,$p4)",
                    sparsity.Layers.Select(l => new object?[] { plan.Name, (long)seed, l.Layer, l.Zeros, l.Total }));
            };
        }
    }

    /// <summary>The explained test images: evenly spaced, so every class appears (test sets are often sorted by class).</summary>
    private SignDataset ExplanationImages(SignDataset test) => test.EvenlySpaced(settings.Explanations.Images);

    private void StoreFigureImages(ResultStore store, SignDataset images, IReadOnlyList<string> classNames)
    {
        int n = Math.Min(settings.Explanations.FigureImages, images.Count);
        int h = images.ImageSize;
        var rows = Enumerable.Range(0, n).Select(i =>
        {
            using var img = images.Images[i].contiguous();
            return new object?[] { 0L, i, images.Labels[i], classNames[(int)images.Labels[i]], h, h, MemoryMarshal.AsBytes(img.data<float>().ToArray().AsSpan()).ToArray() };
        }).ToList();
        store.Replace("figure_images", rows);
    }

    private Action<ResultStore.Writer> GradientNorms(ModelPlan plan, ulong seed, string checkpoint, SignDataset images, string cell)
    {
        Report(cell, "gradient norms", 0);
        using var ckpt = Checkpoint.Load(checkpoint);
        using var labels = images.LabelTensor();
        var norms = GradientNorm.PerImage(ckpt.Model, images.Images, labels);
        return writer => writer.Bulk("INSERT INTO grad_norm VALUES($p0,$p1,$p2,$p3)",
            norms.Select((v, i) => new object?[] { plan.Name, (long)seed, i, v }));
    }

    private Action<ResultStore.Writer> Explain(ModelPlan plan, string methodName, ulong seed, string checkpoint, SignDataset images, string cell)
    {
        using var scope = NewDisposeScope();
        using var ckpt = Checkpoint.Load(checkpoint);
        var model = ckpt.Model;
        var attribution = AttributionMethods.Create(methodName, settings.Explanations.ToAttributionSettings((long)seed));
        using var ownsNoise = attribution as IDisposable; // SmoothGrad holds a generator
        var labels = images.LabelTensor();
        using var quality = ExplanationEvaluation.Evaluate(model, attribution, images.Images, labels, settings.Metrics.Road with { Seed = (long)seed },
            new SyncProgress<(string Stage, double Fraction)>(p => Report(cell, p.Stage, p.Fraction)));
        var (gini, correct, road, all) = (quality.Gini, quality.CorrectIndices, quality.Road, quality.Maps);

        int figures = Math.Min(settings.Explanations.FigureImages, images.Count);
        // Figures show IG with negatives clipped to 0 (SPEC.md §4); VG and SG are non-negative already.
        var figureMaps = all.narrow(0, 0, figures).clamp_min(0).contiguous().data<float>().ToArray();
        int h = images.ImageSize;
        return writer =>
        {
            writer.Bulk("INSERT INTO gini VALUES($p0,$p1,$p2,$p3,$p4)",
                gini.Select((g, k) => new object?[] { plan.Name, methodName, (long)seed, correct[k], g }));
            if (road is not null)
                foreach (var (order, outcomes) in new[] { ("morf", road.MorfCorrect), ("lerf", road.LerfCorrect) })
                    writer.Bulk("INSERT INTO road VALUES($p0,$p1,$p2,$p3,$p4,$p5,$p6)",
                        from k in Enumerable.Range(0, road.EvaluatedImages)
                        from p in Enumerable.Range(0, road.Percentages.Length)
                        select new object?[] { plan.Name, methodName, (long)seed, order, road.Percentages[p], road.EvaluatedImageIndices[k], outcomes[k, p] ? 1 : 0 });
            writer.Bulk("INSERT INTO figure_maps VALUES($p0,$p1,$p2,$p3,$p4,$p5,$p6)",
                Enumerable.Range(0, figures).Select(i => new object?[] { plan.Name, methodName, (long)seed, i, h, h,
                    MemoryMarshal.AsBytes(figureMaps.AsSpan(i * h * h, h * h)).ToArray() }));
        };
    }

}
