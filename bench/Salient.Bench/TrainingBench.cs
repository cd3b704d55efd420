using System.Diagnostics;
using Salient.Data;
using Salient.Models;
using Salient.Training;
using static TorchSharp.torch;

namespace Salient.Bench;

/// <summary>The paper's VGG-16 (width 1, 43 classes, 32×32) at batch 128.</summary>
public static class TrainingBench
{
    private static SalientModel PaperVgg()
    {
        random.manual_seed(0);
        return ModelFactory.Create(new ModelSpec { NumClasses = 43 });
    }

    /// <summary>One SGD step: forward, cross-entropy, backward, update (the natural recipe).</summary>
    public static double TrainStepB128()
    {
        using var model = PaperVgg();
        using var optimizer = TrainingRecipe.Paper.CreateOptimizer(model);
        using var x = rand(128, 3, 32, 32);
        using var y = randint(0, 43, [128]);
        model.train();
        return Benchmarks.Median(() =>
        {
            optimizer.ZeroGrad();
            var loss = nn.functional.cross_entropy(model.forward(x), y);
            loss.backward();
            optimizer.Step();
        });
    }

    /// <summary>One batch of inference in eval mode without autograd.</summary>
    public static double EvalB128()
    {
        using var model = PaperVgg();
        using var x = rand(128, 3, 32, 32);
        model.eval();
        return Benchmarks.Median(() =>
        {
            using var _ = no_grad();
            model.forward(x);
        }, repeats: 7);
    }

    /// <summary>Training images of GTSRB's whole training split when 20% of its 1,307 tracks are held out (39,209 × 0.8), used when no data is at hand.</summary>
    private const int AssumedGtsrbTrainingImages = 31_367;

    /// <summary>Where the bench finds a GTSRB folder (official layout) to count the training split's images.</summary>
    public const string GtsrbFolderVariable = "SALIENT_BENCH_GTSRB";

    private static readonly Lazy<(DataSplit? Split, int TrainingImages)> gtsrb = new(() =>
    {
        var folder = Environment.GetEnvironmentVariable(GtsrbFolderVariable);
        if (string.IsNullOrEmpty(folder) || !Directory.Exists(folder))
        {
            Console.Error.WriteLine($"  train_epoch_gtsrb_s: {GtsrbFolderVariable} is not a folder, so the epoch is {AssumedGtsrbTrainingImages:N0} training images (39,209 split 80/20 by track) of random pixels");
            return (null, AssumedGtsrbTrainingImages);
        }
        var split = DataSource.Open(new DataSettings { Source = folder });
        Console.Error.WriteLine($"  train_epoch_gtsrb_s: {split.Description}; the epoch is its {split.Train.Count:N0} training images");
        return (split, split.Train.Count);
    });

    /// <summary>Training images in the epoch that <see cref="TrainEpochGtsrb"/> estimates (from the data when given, else the assumed count).</summary>
    public static double GtsrbTrainingImages() => gtsrb.Value.TrainingImages;

    /// <summary>
    /// One epoch of GTSRB's whole training split with the gtsrb recipe (batch 128, augmentation,
    /// scheduled rate) through the trainer itself: 50 steps timed after one warm-up step, times the
    /// epoch's batches. Evaluation and the checkpoint at the epoch's end are not included.
    /// </summary>
    public static double TrainEpochGtsrb()
    {
        const int timedSteps = 50;
        var (split, trainingImages) = gtsrb.Value;
        var recipe = TrainingRecipe.Gtsrb;
        using var random = split is null ? RandomSplit(recipe.BatchSize * (timedSteps + 1)) : null;
        var data = split ?? random!;
        using var model = PaperVgg();
        var clock = new Stopwatch();
        double perStep = 0;
        var progress = new SyncProgress<TrainingProgress>(p =>
        {
            if (p.Batch == 1) clock.Restart();
            if (p.Batch == 1 + timedSteps)
            {
                perStep = clock.Elapsed.TotalSeconds / timedSteps;
                throw new OperationCanceledException();
            }
        });
        var checkpoint = Path.Combine(Path.GetTempPath(), $"salient-bench-epoch-{Environment.ProcessId}.safetensors");
        try { new Trainer(recipe).Train(model, data, checkpoint, progress: progress); }
        catch (OperationCanceledException) { }
        return perStep * Math.Ceiling(trainingImages / (double)recipe.BatchSize);
    }

    private static DataSplit RandomSplit(int count)
    {
        using var generator = new Generator(0);
        var images = rand([count, 3, 32, 32], generator: generator);
        var labels = Enumerable.Range(0, count).Select(i => (long)(i % 43)).ToArray();
        var classes = Enumerable.Range(0, 43).Select(i => i.ToString()).ToList();
        var train = new SignDataset(images, labels, classes, labels.Select((_, i) => $"random:{i}").ToArray());
        var test = train.Subset([0]);
        return new DataSplit(train, test, "random pixels");
    }
}
