using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Serialization;
using Salient.Data;
using Salient.Evaluation;
using Salient.Models;
using static TorchSharp.torch;

namespace Salient.Training;

/// <summary>
/// One epoch's figures, kept in the checkpoint's history. <see cref="RobustTestAccuracy"/> is the
/// per-epoch PGD check of adversarial runs; <see cref="LearningRate"/> the rate of the epoch's last
/// step; <see cref="Collapsed"/> marks the epoch whose robust accuracy collapsed (its weights were
/// not kept).
/// </summary>
public sealed record EpochRecord(int Epoch, double Loss, double TrainAccuracy, double TestAccuracy, double Seconds,
    double AttackSeconds = 0, double? RobustTestAccuracy = null, double? LearningRate = null, bool Collapsed = false);

/// <summary>
/// What a checkpoint remembers of its training, to report and to resume. <see cref="Attack"/> and
/// <see cref="RobustCheck"/> name the training attack and the per-epoch check of adversarial runs
/// (e.g. "FGSM-RS (ε = 0.01, α = 0.0125)"); <see cref="StoppedEarly"/> says why a run stopped before
/// its last epoch (then the checkpoint holds the weights of epoch <see cref="EpochsCompleted"/>).
/// </summary>
public sealed record TrainingState(TrainingRecipe Recipe, int EpochsCompleted, List<EpochRecord> History,
    string? Attack = null, string? RobustCheck = null, string? StoppedEarly = null)
{
    public const string MetadataKey = "salient.training";
    // A run without test images records NaN accuracies, which plain JSON cannot hold.
    private static readonly JsonSerializerOptions Json = new() { NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals };
    public string ToJson() => JsonSerializer.Serialize(this, Json);
    public static TrainingState? From(IReadOnlyDictionary<string, string> metadata) =>
        metadata.TryGetValue(MetadataKey, out var json) ? JsonSerializer.Deserialize<TrainingState>(json, Json) : null;
}

/// <summary>
/// Progress inside an epoch, for a progress bar. A resumed run first reports batch 0 of the epoch it
/// continues with (<see cref="IsResume"/>), so a bar or a time estimate starts where the earlier run stopped.
/// </summary>
public readonly record struct TrainingProgress(int Epoch, int Epochs, int Batch, int Batches, double RunningLoss, double RunningAccuracy, double AttackSeconds,
    double LearningRate = 0)
{
    public bool IsResume => Batch == 0;
}

/// <summary>
/// Replaces a clean batch by the one the model is trained on (natural: itself; adversarial: PGD
/// examples). Runs before the update, with the model in whatever mode it needs.
/// </summary>
public interface IBatchStrategy
{
    string Name { get; }
    Tensor Prepare(SalientModel model, Tensor pixels, Tensor labels);
}

public sealed class NaturalStrategy : IBatchStrategy
{
    public string Name => "natural";
    public Tensor Prepare(SalientModel model, Tensor pixels, Tensor labels) => pixels.alias();
}

/// <summary>Madry's recipe: the batch is replaced by PGD examples, crafted in eval mode (SPEC.md §3).</summary>
public sealed class AdversarialStrategy(PgdSettings attack) : IBatchStrategy
{
    public string Name => "adversarial";
    public PgdSettings Attack => attack;
    // The attack's random start draws from torch's global stream, which the trainer seeds per epoch.
    public Tensor Prepare(SalientModel model, Tensor pixels, Tensor labels) => Pgd.Attack(model, pixels, labels, attack);
}

/// <summary>
/// Mini-batch training with cross-entropy: seeded batches, augmentation and dropout, the learning
/// rate set every step from the recipe's schedule, a checkpoint written atomically at the end of
/// every epoch (weights, optimizer state, history), and exact resume. Adversarial runs check their
/// robust accuracy after every epoch and stop when it collapses.
/// </summary>
public sealed class Trainer(TrainingRecipe recipe)
{
    private readonly IBatchStrategy strategy = recipe.CreateStrategy();

    /// <summary>Optional metadata written into every checkpoint (e.g. pruning settings).</summary>
    public Dictionary<string, string> ExtraMetadata { get; } = new();

    /// <summary>
    /// Trains <paramref name="model"/> for the recipe's epochs, writing <paramref name="checkpointPath"/>
    /// after each. With <paramref name="resume"/> and an existing checkpoint, continues after its last
    /// completed epoch (its weights and optimizer state are loaded into <paramref name="model"/>).
    /// <paramref name="epochDone"/> sees every epoch this call runs.
    /// </summary>
    public TrainingState Train(SalientModel model, DataSplit data, string checkpointPath, bool resume = false,
        IProgress<TrainingProgress>? progress = null, Action<EpochRecord>? epochDone = null)
    {
        recipe.Validate();
        if (data.ClassNames.Count != model.Spec.NumClasses)
            throw new SalientException($"The data has {data.ClassNames.Count} classes but the model was built for {model.Spec.NumClasses}; rebuild the model with --classes {data.ClassNames.Count}.");
        if (data.Train.ImageSize != model.Spec.InputSize)
            throw new SalientException($"The data's images are {data.Train.ImageSize}×{data.Train.ImageSize} but the model takes {model.Spec.InputSize}×{model.Spec.InputSize}; set the image size to {model.Spec.InputSize}.");

        bool adversarial = strategy is AdversarialStrategy;
        string? attackName = adversarial ? recipe.Attack.Describe() : null;
        using var checkSample = adversarial && recipe.RobustTestImages > 0 && data.Test.Count > 0 ? data.Test.EvenlySpaced(recipe.RobustTestImages) : null;
        string? checkName = checkSample is null ? null : $"{recipe.RobustCheckAttack().Describe()} on {checkSample.Count} test images";
        TrainingState Snapshot(int completed, List<EpochRecord> records, string? stopped = null) =>
            new(recipe, completed, [.. records], attackName, checkName, stopped);

        using var optimizer = recipe.CreateOptimizer(model);
        var history = new List<EpochRecord>();
        int firstEpoch = 0;
        if (resume && File.Exists(checkpointPath))
        {
            using var ckpt = Checkpoint.Load(checkpointPath);
            var state = TrainingState.From(ckpt.Metadata)
                ?? throw new SalientException($"'{checkpointPath}' has no training history to resume from; delete it or choose another --out.");
            if (state.Recipe with { Epochs = recipe.Epochs } != recipe)
                throw new SalientException($"'{checkpointPath}' was trained with other settings ({state.Recipe.ToJson()}); resume with the same settings or choose another --out.");
            if (recipe.Schedule.DependsOnEpochs && state.Recipe.Epochs != recipe.Epochs)
                throw new SalientException($"'{checkpointPath}' was trained for {state.Recipe.Epochs} epochs on a {recipe.Schedule.Shape} schedule, which depends on the run's length; resume with --epochs {state.Recipe.Epochs} or choose another --out.");
            Checkpoint.LoadWeightsInto(model, checkpointPath);
            if (state.StoppedEarly is not null) return state;
            optimizer.LoadState(ckpt.TrainingState);
            history.AddRange(state.History);
            firstEpoch = state.EpochsCompleted;
        }

        var batcher = new Batcher(data.Train.Count, recipe.BatchSize, SeededRandom.Derive(recipe.Seed, "batches"));
        if (firstEpoch > 0 && firstEpoch < recipe.Epochs)
            progress?.Report(new TrainingProgress(firstEpoch + 1, recipe.Epochs, 0, batcher.BatchesPerEpoch, double.NaN, double.NaN, 0));
        using var labels = data.Train.LabelTensor();
        for (int epoch = firstEpoch; epoch < recipe.Epochs; epoch++)
        {
            // Dropout draws from torch's global generator; seeding per epoch makes a resumed run identical.
            SeededRandom.SeedTorch(recipe.Seed, $"torch-epoch-{epoch}");
            var sw = Stopwatch.StartNew();
            double lossSum = 0, attackSeconds = 0;
            long correct = 0, seen = 0;
            int batchIndex = 0;
            foreach (var batch in batcher.Epoch(epoch))
            {
                using var scope = NewDisposeScope();
                optimizer.LearningRate = recipe.LearningRate * recipe.Schedule.Factor(epoch, batchIndex, batcher.BatchesPerEpoch, recipe.Epochs);
                var idx = tensor(batch, ScalarType.Int64);
                var y = labels.index_select(0, idx);
                var x = Augmentation.Apply(data.Train.Images.index_select(0, idx), recipe.Augmentation,
                    SeededRandom.Derive(recipe.Seed, $"augment-{epoch}-{batchIndex}"));
                var attackClock = Stopwatch.StartNew();
                var input = strategy.Prepare(model, x, y);
                attackSeconds += adversarial ? attackClock.Elapsed.TotalSeconds : 0;
                model.train();
                optimizer.ZeroGrad();
                var logits = model.forward(input);
                var loss = recipe.Loss(logits, y);
                loss.backward();
                optimizer.Step();
                lossSum += loss.item<float>() * batch.Length;
                correct += logits.argmax(1).eq(y).sum().item<long>();
                seen += batch.Length;
                progress?.Report(new TrainingProgress(epoch + 1, recipe.Epochs, ++batchIndex, batcher.BatchesPerEpoch, lossSum / seen, (double)correct / seen, attackSeconds, optimizer.LearningRate));
            }
            double testAccuracy = data.Test.Count > 0 ? Classification.Evaluate(model, data.Test).Accuracy : double.NaN;
            double? robust = checkSample is null ? null : RobustCheck(model, checkSample);
            double? bestEarlier = history.Where(h => h.RobustTestAccuracy is not null && !h.Collapsed).Select(h => h.RobustTestAccuracy).Max();
            bool collapsed = robust < bestEarlier - recipe.CollapseDrop;
            var record = new EpochRecord(epoch + 1, lossSum / seen, (double)correct / seen, testAccuracy, sw.Elapsed.TotalSeconds, attackSeconds, robust,
                optimizer.LearningRate, collapsed);
            history.Add(record);
            if (collapsed)
            {
                // Catastrophic overfitting: the model now beats only the cheap training attack. Going on
                // would not bring robustness back, so keep the last epoch before the collapse (its
                // checkpoint is on disk: a collapse needs an earlier check) and stop.
                var stopped = FormattableString.Invariant(
                    $"robust accuracy under {checkName} collapsed in epoch {epoch + 1}: {robust:P1}, more than {recipe.CollapseDrop:P0} below the best earlier epoch's {bestEarlier:P1}; kept the weights of epoch {epoch}");
                using (var previous = Checkpoint.Load(checkpointPath))
                {
                    Checkpoint.LoadWeightsInto(model, checkpointPath);
                    optimizer.LoadState(previous.TrainingState);
                }
                var stoppedState = Snapshot(epoch, history, stopped);
                Save(checkpointPath, model, data, stoppedState, optimizer);
                epochDone?.Invoke(record);
                return stoppedState;
            }
            Save(checkpointPath, model, data, Snapshot(epoch + 1, history), optimizer);
            epochDone?.Invoke(record);
        }
        return Snapshot(Math.Max(firstEpoch, recipe.Epochs), history);
    }

    private void Save(string path, SalientModel model, DataSplit data, TrainingState state, IStatefulOptimizer optimizer)
    {
        var meta = new Dictionary<string, string>(ExtraMetadata) { [TrainingState.MetadataKey] = state.ToJson() };
        Checkpoint.Save(path, model, data.ClassNames, meta, optimizer.StateTensors());
    }

    /// <summary>
    /// Robust accuracy of the per-epoch check. Its random start comes from a generator seeded the same
    /// way every epoch, so epochs differ only by the model, not by the draw.
    /// </summary>
    private double RobustCheck(SalientModel model, SignDataset sample)
    {
        using var labels = sample.LabelTensor();
        using var generator = new Generator(SeededRandom.Derive(recipe.Seed, "robust-check"));
        return AdversarialTraining.RobustAccuracy(model, sample.Images, labels, recipe.RobustCheckAttack(), generator: generator);
    }
}
