using System.CommandLine;
using Salient.Data;
using Salient.Models;
using Salient.Training;
using Spectre.Console;
using static TorchSharp.torch;

namespace Salient.Cli.Commands;

internal static class TrainCommand
{
    public static Command Create()
    {
        var data = new DataOptions();
        var outPath = new Option<string>("--out") { Description = "Checkpoint file to write after every epoch (.safetensors)", Required = true };
        var arch = new Option<string>("--arch") { Description = "vgg16 or resnet18", DefaultValueFactory = _ => "vgg16" };
        arch.AcceptOnlyFromAmong(ModelSpec.Architectures);
        var width = new Option<double>("--width") { Description = "Channel-width multiplier (1 = the paper's model)", DefaultValueFactory = _ => 1.0 };
        var batchNorm = new Option<bool>("--batch-norm") { Description = "VGG-16: BatchNorm after every convolution (learns far faster; not the paper's model)" };
        var stem = new Option<string>("--stem") { Description = "ResNet stem: imagenet (7×7/2 + pool) or cifar (3×3/1)", DefaultValueFactory = _ => "imagenet" };
        var recipeName = new Option<string>("--recipe") { Description = "Base recipe: vgg-sgd (SGD 0.01, momentum 0.9, wd 5e-4, batch 128) or resnet-ranger", DefaultValueFactory = _ => "vgg-sgd" };
        var epochs = new Option<int?>("--epochs") { Description = "Epochs (recipe default 100)" };
        var batch = new Option<int?>("--batch-size") { Description = "Mini-batch size" };
        var lr = new Option<double?>("--lr") { Description = "Learning rate" };
        var momentum = new Option<double?>("--momentum") { Description = "SGD momentum" };
        var weightDecay = new Option<double?>("--weight-decay") { Description = "L2 weight decay" };
        var seed = new Option<ulong>("--seed") { Description = "Seed of initial weights, batch order and dropout", DefaultValueFactory = _ => 0UL };
        var resume = new Option<bool>("--resume") { Description = "Continue from --out if it exists (same settings)" };
        var strategy = new Option<string>("--strategy") { Description = "natural, or adversarial (train on PGD-L∞ examples)", DefaultValueFactory = _ => "natural" };
        strategy.AcceptOnlyFromAmong("natural", "adversarial");
        var optimizer = new Option<string?>("--optimizer") { Description = "sgd or ranger (default: the recipe's)" };
        var epsilon = new Option<double>("--epsilon") { Description = "Adversarial: L∞ radius in [0,1] pixel units (0.01; strong variant 0.1)", DefaultValueFactory = _ => 0.01 };
        var attackSteps = new Option<int>("--attack-steps") { Description = "Adversarial: PGD iterations", DefaultValueFactory = _ => 40 };
        var attackStep = new Option<double?>("--attack-step-size") { Description = "Adversarial: PGD step α (default 2.5·ε/steps)" };
        var optimizerEps = new Option<double?>("--optimizer-eps") { Description = "Ranger's ε" };
        var normalization = new Option<string>("--normalization") { Description = "data (train-split mean/std) or paper (the reference constants)", DefaultValueFactory = _ => "data" };
        normalization.AcceptOnlyFromAmong("data", "paper");

        var command = new Command("train", "Train a classifier and write a checkpoint after every epoch")
        { outPath, arch, width, batchNorm, stem, recipeName, epochs, batch, lr, momentum, weightDecay, seed, resume, normalization, strategy, optimizer, epsilon, attackSteps, attackStep, optimizerEps };
        data.AddTo(command);
        command.SetAction(CommandRunner.Guard(parse =>
        {
            var baseRecipe = TrainingRecipe.Named(parse.GetValue(recipeName)!);
            var recipe = baseRecipe with
            {
                Epochs = parse.GetValue(epochs) ?? baseRecipe.Epochs,
                BatchSize = parse.GetValue(batch) ?? baseRecipe.BatchSize,
                LearningRate = parse.GetValue(lr) ?? baseRecipe.LearningRate,
                Momentum = parse.GetValue(momentum) ?? baseRecipe.Momentum,
                WeightDecay = parse.GetValue(weightDecay) ?? baseRecipe.WeightDecay,
                Seed = parse.GetValue(seed),
                Optimizer = parse.GetValue(optimizer) ?? baseRecipe.Optimizer,
                Epsilon = parse.GetValue(optimizerEps) ?? baseRecipe.Epsilon,
                Strategy = parse.GetValue(strategy)!,
                Attack = new PgdSettings { Epsilon = parse.GetValue(epsilon), Iterations = parse.GetValue(attackSteps), StepSize = parse.GetValue(attackStep) },
            };
            recipe.Validate();
            using var split = data.Open(parse);
            var (mean, std) = parse.GetValue(normalization) == "paper" ? (new ModelSpec().Mean, new ModelSpec().Std) : Splits.ChannelStatistics(split.Train);
            var spec = new ModelSpec
            {
                Architecture = parse.GetValue(arch)!,
                NumClasses = split.ClassNames.Count,
                Width = parse.GetValue(width),
                InputSize = split.Train.ImageSize,
                Stem = parse.GetValue(stem)!,
                BatchNorm = parse.GetValue(batchNorm),
                Mean = mean,
                Std = std,
            };
            random.manual_seed((long)(SeededRandom.Derive(recipe.Seed, "init") >> 1));
            using var model = ModelFactory.Create(spec);
            var checkpoint = parse.GetValue(outPath)!;
            if (File.Exists(checkpoint) && !parse.GetValue(resume))
                throw new SalientException($"'{checkpoint}' already exists; pass --resume to continue it or choose another --out.");

            var trainer = new Trainer(recipe);
            var state = RunWithProgress(trainer, model, split, checkpoint, parse.GetValue(resume));
            var last = state.History.LastOrDefault();
            Console.WriteLine(last is null
                ? $"Nothing to do: '{checkpoint}' already has {state.EpochsCompleted} epochs."
                : $"Done: {state.EpochsCompleted} epochs, test accuracy {last.TestAccuracy:P2}; checkpoint {checkpoint}");
            return 0;
        }));
        return command;
    }

    /// <summary>Runs the trainer under a progress bar (one bar per run, text lines per epoch).</summary>
    internal static TrainingState RunWithProgress(Trainer trainer, SalientModel model, DataSplit split, string checkpoint, bool resume)
    {
        TrainingState? state = null;
        AnsiConsole.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn())
            .Start(ctx =>
            {
                var task = ctx.AddTask("training", maxValue: 1);
                var progress = new SyncProgress<TrainingProgress>(p =>
                {
                    task.MaxValue = p.Epochs * p.Batches;
                    task.Value = (p.Epoch - 1) * p.Batches + p.Batch;
                    task.Description = $"epoch {p.Epoch}/{p.Epochs} loss {p.RunningLoss:F3} acc {p.RunningAccuracy:P1}"
                        + (p.AttackSeconds > 0 ? $" attack {p.AttackSeconds:F0} s" : "");
                });
                state = trainer.Train(model, split, checkpoint, resume, progress,
                    r => AnsiConsole.MarkupLine($"epoch {r.Epoch}: loss {r.Loss:F4}, train {r.TrainAccuracy:P2}, test {r.TestAccuracy:P2}"
                        + (r.RobustTestAccuracy is { } robust ? $", robust test {robust:P2}" : "")
                        + $" ({r.Seconds:F1} s{(r.AttackSeconds > 0 ? $", attack {r.AttackSeconds:F1} s" : "")})"));
                task.Value = task.MaxValue;
            });
        return state!;
    }
}
