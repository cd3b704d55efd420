using System.CommandLine;
using Salient.Data;
using System.Text.Json;
using Salient.Models;
using Salient.Pruning;
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
        var init = new Option<string?>("--init") { Description = "Start from this checkpoint's weights and masks (e.g. fine-tune a pruned model) instead of a fresh model; its architecture is used" };
        var prune = new Option<string?>("--prune") { Description = "Prune before training: l1, global or layered (with --init: post-train + fine-tune; without: pre-train flow)" };
        var pruneAmount = new Option<double?>("--prune-amount") { Description = "Pruning fraction (default the paper's: l1 0.2 of each conv, global 0.2, layered 0.1 of channels)" };
        var pruneLinearAmount = new Option<double?>("--prune-linear-amount") { Description = "Pruning fraction of linear layers for l1/layered (default 0.1)" };
        var normalization = new Option<string>("--normalization") { Description = "data (train-split mean/std) or paper (the reference constants)", DefaultValueFactory = _ => "data" };
        normalization.AcceptOnlyFromAmong("data", "paper");

        var command = new Command("train", "Train a classifier and write a checkpoint after every epoch")
        { outPath, arch, width, batchNorm, stem, recipeName, epochs, batch, lr, momentum, weightDecay, seed, resume, normalization, strategy, optimizer, epsilon, attackSteps, attackStep, optimizerEps, init, prune, pruneAmount, pruneLinearAmount };
        data.AddTo(command);
        command.SetAction(CommandRunner.Guard(parse =>
        {
            SalientModel FreshModel(DataSplit split)
            {
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
                SeededRandom.SeedTorch(parse.GetValue(seed), "init");
                return ModelFactory.Create(spec);
            }

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
            using var model = parse.GetValue(init) is { } initPath ? StartFrom(initPath, split) : FreshModel(split);
            var checkpoint = parse.GetValue(outPath)!;
            if (File.Exists(checkpoint) && !parse.GetValue(resume))
                throw new SalientException($"'{checkpoint}' already exists; pass --resume to continue it or choose another --out.");

            var trainer = new Trainer(recipe);
            if (parse.GetValue(prune) is { } methodName)
            {
                var method = PruningSettings.ParseMethod(methodName);
                var paper = PruningSettings.Paper(method);
                var pruning = paper with { Amount = parse.GetValue(pruneAmount) ?? paper.Amount, LinearAmount = parse.GetValue(pruneLinearAmount) ?? paper.LinearAmount };
                // On resume the checkpoint's masks replace these; pruning first keeps the layers' buffers in place.
                Pruner.Prune(model, pruning);
                trainer.ExtraMetadata["salient.pruning"] = JsonSerializer.Serialize(new
                {
                    method = methodName, pruning.Amount, pruning.LinearAmount,
                    flow = parse.GetValue(init) is null ? "pre-train" : "post-train, fine-tuned",
                });
            }
            var state = RunWithProgress(trainer, model, split, checkpoint, parse.GetValue(resume));
            var sparsity = SparsityReport.Measure(model);
            if (sparsity.Zeros > 0) Console.WriteLine($"Weight sparsity: {sparsity.Overall:P2} overall\n{sparsity.ToMarkdown()}");
            var last = state.History.LastOrDefault();
            Console.WriteLine(last is null
                ? $"Nothing to do: '{checkpoint}' already has {state.EpochsCompleted} epochs."
                : $"Done: {state.EpochsCompleted} epochs, test accuracy {last.TestAccuracy:P2}; checkpoint {checkpoint}");
            return 0;
        }));
        return command;
    }

    /// <summary>The post-train flows start from a trained checkpoint: its architecture, weights and masks.</summary>
    private static SalientModel StartFrom(string path, DataSplit split)
    {
        using var start = Checkpoint.Load(path);
        DataOptions.RequireSameClasses(start.ClassNames, split.ClassNames);
        var model = ModelFactory.Create(start.Model.Spec);
        Checkpoint.LoadWeightsInto(model, path);
        return model;
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
