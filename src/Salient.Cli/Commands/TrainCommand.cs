using System.CommandLine;
using Salient.Data;
using Salient.Models;
using Salient.Pruning;
using Salient.Training;
using Salient.Workflows;
using Spectre.Console;
using static TorchSharp.torch;

namespace Salient.Cli.Commands;

internal static class TrainCommand
{
    public static Command Create()
    {
        var data = new DataOptions();
        var outPath = new Option<string>("--out") { Description = "Checkpoint file to write after every epoch (.safetensors)", Required = true };
        var arch = new Option<string>("--arch") { Description = "vgg16 or resnet18", DefaultValueFactory = _ => new ModelSettings().Architecture };
        arch.AcceptOnlyFromAmong(ModelSpec.Architectures);
        var width = new Option<double>("--width") { Description = "Channel-width multiplier (1 = the paper's model)", DefaultValueFactory = _ => new ModelSettings().Width };
        var batchNorm = new Option<bool>("--batch-norm") { Description = "VGG-16: BatchNorm after every convolution (learns far faster; not the paper's model)" };
        var stem = new Option<string>("--stem") { Description = "ResNet stem: imagenet (7×7/2 + pool) or cifar (3×3/1)", DefaultValueFactory = _ => new ModelSettings().Stem };
        var recipeName = new Option<string>("--recipe")
        {
            Description = "Base recipe: paper (SPEC.md: SGD 0.01, momentum 0.9, wd 5e-4, batch 128, 100 epochs, constant rate; alias vgg-sgd), "
                + "gtsrb (20 epochs, warm-up + cosine, augmentation; for the plain VGG-16 on real signs) or resnet-ranger",
            DefaultValueFactory = _ => "paper",
        };
        recipeName.AcceptOnlyFromAmong([.. TrainingRecipe.Names, "vgg-sgd"]);
        var epochs = new Option<int?>("--epochs") { Description = "Epochs (default: the recipe's)" };
        var batch = new Option<int?>("--batch-size") { Description = "Mini-batch size" };
        var lr = new Option<double?>("--lr") { Description = "Learning rate (the full rate; the schedule scales it)" };
        var momentum = new Option<double?>("--momentum") { Description = "SGD momentum" };
        var weightDecay = new Option<double?>("--weight-decay") { Description = "L2 weight decay" };
        var schedule = new Option<string?>("--schedule") { Description = "Learning-rate schedule: constant, cosine (to 0 at the last step) or step" };
        schedule.AcceptOnlyFromAmong(LearningRateSchedule.Shapes);
        var warmup = new Option<double?>("--warmup-epochs") { Description = "Linear learning-rate warm-up over this many epochs (fractions allowed)" };
        var stepEpochs = new Option<int?>("--step-epochs") { Description = "Step schedule: epochs between two decays" };
        var stepFactor = new Option<double?>("--step-factor") { Description = "Step schedule: factor of each decay (0.1)" };
        var labelSmoothing = new Option<double?>("--label-smoothing") { Description = "Label smoothing of the cross-entropy (0 = none)" };
        var translate = new Option<double?>("--augment-translate") { Description = "Augmentation: largest shift, fraction of the image side" };
        var rotate = new Option<double?>("--augment-rotate") { Description = "Augmentation: largest rotation, degrees" };
        var scale = new Option<double?>("--augment-scale") { Description = "Augmentation: zoom drawn from [1 − s, 1 + s]" };
        var brightness = new Option<double?>("--augment-brightness") { Description = "Augmentation: brightness factor from [1 − b, 1 + b]" };
        var contrast = new Option<double?>("--augment-contrast") { Description = "Augmentation: contrast factor from [1 − c, 1 + c]" };
        var noAugmentation = new Option<bool>("--no-augmentation") { Description = "Train on the images as they are (sets every --augment-* to 0)" };
        var seed = new Option<ulong>("--seed") { Description = "Seed of initial weights, batch order, augmentation and dropout", DefaultValueFactory = _ => 0UL };
        var resume = new Option<bool>("--resume") { Description = "Continue from --out if it exists (same settings)" };
        var strategy = new Option<string?>("--strategy") { Description = "natural, or adversarial (train on attacked examples)" };
        strategy.AcceptOnlyFromAmong("natural", "adversarial");
        var optimizer = new Option<string?>("--optimizer") { Description = "sgd or ranger (default: the recipe's)" };
        var attack = new Option<string?>("--attack") { Description = "Adversarial: pgd (PGD-k, α = 2.5·ε/k; the paper: k = 40) or fgsm-rs (fast FGSM with a random start, α = 1.25·ε)" };
        attack.AcceptOnlyFromAmong("pgd", "fgsm-rs");
        var epsilon = new Option<double?>("--epsilon") { Description = "Adversarial: L∞ radius in [0,1] pixel units (0.01; strong variant 0.1)" };
        var attackSteps = new Option<int?>("--attack-steps") { Description = "Adversarial: PGD iterations (40 in the paper; 7 or 10 are affordable)" };
        var attackStep = new Option<double?>("--attack-step-size") { Description = "Adversarial: step α (default 2.5·ε/steps for pgd, 1.25·ε for fgsm-rs)" };
        var robustImages = new Option<int?>("--robust-test-images") { Description = "Adversarial: test images of the per-epoch robust check (0 = none)" };
        var robustSteps = new Option<int?>("--robust-check-steps") { Description = "Adversarial: PGD iterations of the per-epoch robust check" };
        var collapseDrop = new Option<double?>("--collapse-drop") { Description = "Adversarial: stop when the robust check falls this much (absolute) below its best earlier epoch (1 = never)" };
        var optimizerEps = new Option<double?>("--optimizer-eps") { Description = "Ranger's ε (default: the recipe's; 1e-6, the paper's, when --optimizer ranger switches a recipe from another optimizer)" };
        var init = new Option<string?>("--init") { Description = "Start from this checkpoint's weights and masks (e.g. fine-tune a pruned model) instead of a fresh model; its architecture is used" };
        var newOutputLayer = new Option<bool>("--new-output-layer") { Description = "With --init: keep every layer of the checkpoint but its output layer, which starts fresh for --data's classes (transfer learning, e.g. from ImageNet weights brought in with 'import')" };
        var prune = new Option<string?>("--prune") { Description = "Prune before training: l1, global or layered (with --init: post-train + fine-tune; without: pre-train flow)" };
        var pruneAmount = new Option<double?>("--prune-amount") { Description = "Pruning fraction (default the paper's: l1 0.2 of each conv, global 0.2, layered 0.1 of channels)" };
        var pruneLinearAmount = new Option<double?>("--prune-linear-amount") { Description = "Pruning fraction of linear layers for l1/layered (default 0.1)" };
        var normalization = new Option<string>("--normalization") { Description = "data (train-split mean/std) or paper (the reference constants)", DefaultValueFactory = _ => new ModelSettings().Normalization };
        normalization.AcceptOnlyFromAmong(ModelSettings.Normalizations);

        var command = new Command("train", "Train a classifier and write a checkpoint after every epoch")
        {
            outPath, arch, width, batchNorm, stem, recipeName, epochs, batch, lr, momentum, weightDecay, schedule, warmup, stepEpochs, stepFactor,
            labelSmoothing, translate, rotate, scale, brightness, contrast, noAugmentation, seed, resume, normalization, strategy, optimizer,
            attack, epsilon, attackSteps, attackStep, robustImages, robustSteps, collapseDrop, optimizerEps, init, newOutputLayer, prune, pruneAmount, pruneLinearAmount,
        };
        data.AddTo(command);
        command.SetAction(CommandRunner.Guard(parse =>
        {
            var modelSettings = new ModelSettings
            {
                Architecture = parse.GetValue(arch)!, Width = parse.GetValue(width), Stem = parse.GetValue(stem)!,
                BatchNorm = parse.GetValue(batchNorm), Normalization = parse.GetValue(normalization)!,
            };
            modelSettings.Validate();
            SalientModel FreshModel(DataSplit split)
            {
                var spec = modelSettings.SpecFor(split);
                SeededRandom.SeedTorch(parse.GetValue(seed), "init");
                return ModelFactory.Create(spec);
            }

            var baseRecipe = TrainingRecipe.Named(parse.GetValue(recipeName)!);
            var augmentation = parse.GetValue(noAugmentation) ? new AugmentationSettings() : baseRecipe.Augmentation;
            var recipe = baseRecipe with
            {
                Epochs = parse.GetValue(epochs) ?? baseRecipe.Epochs,
                BatchSize = parse.GetValue(batch) ?? baseRecipe.BatchSize,
                LearningRate = parse.GetValue(lr) ?? baseRecipe.LearningRate,
                Momentum = parse.GetValue(momentum) ?? baseRecipe.Momentum,
                WeightDecay = parse.GetValue(weightDecay) ?? baseRecipe.WeightDecay,
                Schedule = baseRecipe.Schedule with
                {
                    Shape = parse.GetValue(schedule) ?? baseRecipe.Schedule.Shape,
                    WarmupEpochs = parse.GetValue(warmup) ?? baseRecipe.Schedule.WarmupEpochs,
                    StepEpochs = parse.GetValue(stepEpochs) ?? baseRecipe.Schedule.StepEpochs,
                    StepFactor = parse.GetValue(stepFactor) ?? baseRecipe.Schedule.StepFactor,
                },
                LabelSmoothing = parse.GetValue(labelSmoothing) ?? baseRecipe.LabelSmoothing,
                Augmentation = augmentation with
                {
                    Translate = parse.GetValue(translate) ?? augmentation.Translate,
                    RotateDegrees = parse.GetValue(rotate) ?? augmentation.RotateDegrees,
                    Scale = parse.GetValue(scale) ?? augmentation.Scale,
                    Brightness = parse.GetValue(brightness) ?? augmentation.Brightness,
                    Contrast = parse.GetValue(contrast) ?? augmentation.Contrast,
                },
                Seed = parse.GetValue(seed),
                Optimizer = parse.GetValue(optimizer) ?? baseRecipe.Optimizer,
                // Ranger chosen over a recipe of another optimizer brings the protocol's ε (SPEC.md §3: 1e-6), not the recipe's unused one.
                Epsilon = parse.GetValue(optimizerEps)
                    ?? (parse.GetValue(optimizer) is "ranger" && baseRecipe.Optimizer != "ranger" ? TrainingRecipe.PaperRanger.Epsilon : baseRecipe.Epsilon),
                Strategy = parse.GetValue(strategy) ?? baseRecipe.Strategy,
                Attack = TrainingAttack(baseRecipe.Attack, parse.GetValue(attack), parse.GetValue(epsilon), parse.GetValue(attackSteps), parse.GetValue(attackStep)),
                RobustTestImages = parse.GetValue(robustImages) ?? baseRecipe.RobustTestImages,
                RobustCheckIterations = parse.GetValue(robustSteps) ?? baseRecipe.RobustCheckIterations,
                CollapseDrop = parse.GetValue(collapseDrop) ?? baseRecipe.CollapseDrop,
            };
            if (recipe.Strategy != "adversarial" && parse.GetValue(attack) is { } kind)
                throw new SalientException($"--attack {kind} is for adversarial training; add --strategy adversarial or drop --attack.");
            recipe.Validate();
            PruningSettings? pruning = null;
            if (parse.GetValue(prune) is { } methodName)
            {
                var paper = PruningSettings.Paper(PruningSettings.ParseMethod(methodName));
                pruning = paper with { Amount = parse.GetValue(pruneAmount) ?? paper.Amount, LinearAmount = parse.GetValue(pruneLinearAmount) ?? paper.LinearAmount };
                pruning.Validate();
            }
            var checkpoint = parse.GetValue(outPath)!;
            if (File.Exists(checkpoint) && !parse.GetValue(resume))
                throw new SalientException($"'{checkpoint}' already exists; pass --resume to continue it or choose another --out.");
            if (parse.GetValue(newOutputLayer) && parse.GetValue(init) is null)
                throw new SalientException("--new-output-layer replaces the output layer of the --init checkpoint; give --init FILE or drop --new-output-layer.");
            using var split = data.Open(parse);
            PruningRecord? startPruning = null;
            using var model = parse.GetValue(init) is { } initPath
                ? StartFrom(initPath, split, parse.GetValue(newOutputLayer), parse.GetValue(seed), out startPruning)
                : FreshModel(split);

            var trainer = new Trainer(recipe);
            // A pruned start keeps its record: pruned after training and now fine-tuned.
            if (startPruning is not null) trainer.ExtraMetadata[PruningRecord.MetadataKey] = startPruning.AfterTraining().ToJson();
            if (pruning is not null)
            {
                // On resume the checkpoint's masks replace these; pruning first keeps the layers' buffers in place.
                var sparsityAfterPruning = Pruner.Prune(model, pruning);
                trainer.ExtraMetadata[PruningRecord.MetadataKey] = new PruningRecord(pruning,
                    parse.GetValue(init) is null ? PruningRecord.Pre : PruningRecord.PostFineTuned, sparsityAfterPruning.Overall).ToJson();
            }
            var state = RunWithProgress(trainer, model, split, checkpoint, parse.GetValue(resume));
            var sparsity = SparsityReport.Measure(model);
            if (sparsity.Zeros > 0) Console.WriteLine($"Weight sparsity: {sparsity.Overall:P2} overall\n{sparsity.ToMarkdown()}");
            if (state.StoppedEarly is { } reason) AnsiConsole.MarkupLine($"[yellow]Stopped early: {Markup.Escape(reason)}.[/]");
            var kept = state.History.LastOrDefault(h => h.Epoch == state.EpochsCompleted);
            Console.WriteLine(kept is null
                ? $"Nothing to do: '{checkpoint}' already has {state.EpochsCompleted} epochs."
                : $"Done: {state.EpochsCompleted} epochs, test accuracy {kept.TestAccuracy:P2}; checkpoint {checkpoint}");
            return 0;
        }));
        return command;
    }

    /// <summary>The training attack: the recipe's, or the named kind, with any options given on top.</summary>
    private static PgdSettings TrainingAttack(PgdSettings recipeAttack, string? kind, double? epsilon, int? steps, double? stepSize)
    {
        double eps = epsilon ?? recipeAttack.Epsilon;
        switch (kind)
        {
            case "fgsm-rs":
                if (steps is not (null or 1))
                    throw new SalientException($"--attack fgsm-rs takes one step, but --attack-steps is {steps}; drop --attack-steps or use --attack pgd.");
                var fgsm = PgdSettings.FastFgsm(eps);
                return fgsm with { StepSize = stepSize ?? fgsm.StepSize };
            case "pgd":
                // A recipe's explicit FGSM step does not carry over to PGD's 2.5·ε/k rule.
                int iterations = steps ?? (recipeAttack.Iterations > 1 ? recipeAttack.Iterations : new PgdSettings().Iterations);
                return recipeAttack with { Epsilon = eps, Iterations = iterations, StepSize = stepSize, RandomStart = true };
            default:
                return recipeAttack with { Epsilon = eps, Iterations = steps ?? recipeAttack.Iterations, StepSize = stepSize ?? recipeAttack.StepSize };
        }
    }

    /// <summary>
    /// The post-train flows start from a trained checkpoint: its architecture, weights and masks; transfer
    /// learning starts from all of it but the output layer.
    /// </summary>
    private static SalientModel StartFrom(string path, DataSplit split, bool newOutputLayer, ulong seed, out PruningRecord? pruning)
    {
        var (spec, classes, metadata) = Checkpoint.ReadDescription(path);
        pruning = PruningRecord.From(metadata);
        int size = split.Train.ImageSize;
        if (size != spec.InputSize && !spec.TakesAnyInputSize)
            throw new SalientException($"'{path}' is a {spec.Architecture} for {spec.InputSize}×{spec.InputSize} images but --data gives {size}×{size}; pass --image-size {spec.InputSize}.");
        if (newOutputLayer)
        {
            SeededRandom.SeedTorch(seed, "init");
            return Checkpoint.WithNewOutputLayer(path, split.ClassNames.Count, size);
        }
        DataOptions.RequireSameClasses(classes, split.ClassNames,
            "add --new-output-layer to start from its other layers with a fresh output layer for --data's classes, or use the data set it was trained on");
        return Checkpoint.StartingPoint(path, split.ClassNames, size);
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
                // A resumed run's bar counts the batches this run trains: a jump to the resumed epoch would
                // count as speed, and the time left would be too short.
                long earlierBatches = 0;
                var progress = new SyncProgress<TrainingProgress>(p =>
                {
                    if (p.IsResume) earlierBatches = (p.Epoch - 1L) * p.Batches;
                    task.MaxValue = p.Epochs * p.Batches - earlierBatches;
                    task.Value = (p.Epoch - 1) * p.Batches + p.Batch - earlierBatches;
                    task.Description = p.IsResume ? $"resumed after epoch {p.Epoch - 1}/{p.Epochs}"
                        : $"epoch {p.Epoch}/{p.Epochs} lr {p.LearningRate:G3} loss {p.RunningLoss:F3} acc {p.RunningAccuracy:P1}"
                        + (p.AttackSeconds > 0 ? $" attack {p.AttackSeconds:F0} s" : "");
                });
                state = trainer.Train(model, split, checkpoint, resume, progress, r =>
                {
                    AnsiConsole.MarkupLine($"epoch {r.Epoch}: loss {r.Loss:F4}, train {r.TrainAccuracy:P2}, test {r.TestAccuracy:P2}"
                        + (r.RobustTestAccuracy is { } robust ? $", robust test {robust:P2}" : "")
                        + (r.LearningRate is { } rate ? $", lr {rate:G3}" : "")
                        + $" ({r.Seconds:F1} s{(r.AttackSeconds > 0 ? $", attack {r.AttackSeconds:F1} s" : "")})");
                    if (r.Collapsed)
                        AnsiConsole.MarkupLine($"[yellow]Warning: robust accuracy collapsed in epoch {r.Epoch} (catastrophic overfitting to the training attack); stopping and keeping epoch {r.Epoch - 1}'s weights.[/]");
                });
                task.Value = task.MaxValue;
            });
        return state!;
    }
}
