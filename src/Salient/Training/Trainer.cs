using System.Diagnostics;
using System.Text.Json;
using Salient.Data;
using Salient.Evaluation;
using Salient.Models;
using static TorchSharp.torch;

namespace Salient.Training;

/// <summary>One epoch's figures, kept in the checkpoint's history.</summary>
public sealed record EpochRecord(int Epoch, double Loss, double TrainAccuracy, double TestAccuracy, double Seconds,
    double AttackSeconds = 0, double? RobustTestAccuracy = null);

/// <summary>What a checkpoint remembers of its training, to report and to resume.</summary>
public sealed record TrainingState(TrainingRecipe Recipe, int EpochsCompleted, List<EpochRecord> History)
{
    public const string MetadataKey = "salient.training";
    public string ToJson() => JsonSerializer.Serialize(this);
    public static TrainingState? From(IReadOnlyDictionary<string, string> metadata) =>
        metadata.TryGetValue(MetadataKey, out var json) ? JsonSerializer.Deserialize<TrainingState>(json) : null;
}

/// <summary>Progress inside an epoch, for a progress bar.</summary>
public readonly record struct TrainingProgress(int Epoch, int Epochs, int Batch, int Batches, double RunningLoss, double RunningAccuracy, double AttackSeconds);

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
/// Mini-batch training with cross-entropy: seeded batches and dropout, a checkpoint written
/// atomically at the end of every epoch (weights, optimizer state, history), and exact resume.
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
    /// </summary>
    public TrainingState Train(SalientModel model, DataSplit data, string checkpointPath, bool resume = false,
        IProgress<TrainingProgress>? progress = null, Action<EpochRecord>? epochDone = null)
    {
        recipe.Validate();
        if (data.ClassNames.Count != model.Spec.NumClasses)
            throw new SalientException($"The data has {data.ClassNames.Count} classes but the model was built for {model.Spec.NumClasses}; rebuild the model with --classes {data.ClassNames.Count}.");
        if (data.Train.ImageSize != model.Spec.InputSize)
            throw new SalientException($"The data's images are {data.Train.ImageSize}×{data.Train.ImageSize} but the model takes {model.Spec.InputSize}×{model.Spec.InputSize}; set the image size to {model.Spec.InputSize}.");

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
            Checkpoint.LoadWeightsInto(model, checkpointPath);
            optimizer.LoadState(ckpt.TrainingState);
            history.AddRange(state.History);
            firstEpoch = state.EpochsCompleted;
        }

        var batcher = new Batcher(data.Train.Count, recipe.BatchSize, SeededRandom.Derive(recipe.Seed, "batches"));
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
                var idx = tensor(batch, ScalarType.Int64);
                var x = data.Train.Images.index_select(0, idx);
                var y = labels.index_select(0, idx);
                var attackClock = Stopwatch.StartNew();
                var input = strategy.Prepare(model, x, y);
                attackSeconds += strategy is NaturalStrategy ? 0 : attackClock.Elapsed.TotalSeconds;
                model.train();
                optimizer.ZeroGrad();
                var logits = model.forward(input);
                var loss = nn.functional.cross_entropy(logits, y);
                loss.backward();
                optimizer.Step();
                lossSum += loss.item<float>() * batch.Length;
                correct += logits.argmax(1).eq(y).sum().item<long>();
                seen += batch.Length;
                progress?.Report(new TrainingProgress(epoch + 1, recipe.Epochs, ++batchIndex, batcher.BatchesPerEpoch, lossSum / seen, (double)correct / seen, attackSeconds));
            }
            double testAccuracy = data.Test.Count > 0 ? Classification.Evaluate(model, data.Test).Accuracy : double.NaN;
            double? robust = strategy is AdversarialStrategy adversarial && recipe.RobustTestImages > 0 && data.Test.Count > 0
                ? RobustAccuracyOnSpread(model, data.Test, recipe.RobustTestImages, adversarial.Attack) : null;
            var record = new EpochRecord(epoch + 1, lossSum / seen, (double)correct / seen, testAccuracy, sw.Elapsed.TotalSeconds, attackSeconds, robust);
            history.Add(record);
            var trainingState = new TrainingState(recipe, epoch + 1, history);
            var meta = new Dictionary<string, string>(ExtraMetadata) { [TrainingState.MetadataKey] = trainingState.ToJson() };
            Checkpoint.Save(checkpointPath, model, data.ClassNames, meta, optimizer.StateTensors());
            epochDone?.Invoke(record);
        }
        return new TrainingState(recipe, recipe.Epochs, history);
    }

    /// <summary>Robust accuracy on evenly spaced test images (test sets are often sorted by class).</summary>
    private static double RobustAccuracyOnSpread(SalientModel model, SignDataset test, int count, PgdSettings attack)
    {
        using var sample = test.EvenlySpaced(count);
        using var labels = sample.LabelTensor();
        return AdversarialTraining.RobustAccuracy(model, sample.Images, labels, attack);
    }
}
