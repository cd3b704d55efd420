using System.Text.Json;
using System.Text.Json.Serialization;
using Salient.Models;
using static TorchSharp.torch;

namespace Salient.Training;

/// <summary>
/// How a model is trained; every number is a setting, declared here once (the CLI's options and a
/// study's "training" object map onto these fields). Stored in each checkpoint, and checked on resume.
/// </summary>
public sealed record TrainingRecipe
{
    /// <summary>"sgd" (the paper's VGG recipe) or "ranger" (its ResNet recipe).</summary>
    public string Optimizer { get; init; } = "sgd";
    /// <summary>The full learning rate; <see cref="Schedule"/> scales it step by step.</summary>
    public double LearningRate { get; init; } = 0.01;
    public double Momentum { get; init; } = 0.9;
    public double WeightDecay { get; init; } = 5e-4;
    /// <summary>Ranger's ε (denominator guard).</summary>
    public double Epsilon { get; init; } = 1e-8;
    public int BatchSize { get; init; } = 128;
    public int Epochs { get; init; } = 100;
    public ulong Seed { get; init; } = 0;
    /// <summary>Warm-up and decay of the learning rate; constant by default, as in the paper.</summary>
    public LearningRateSchedule Schedule { get; init; } = new();
    /// <summary>Random distortions of the training images (none by default, as in the paper).</summary>
    public AugmentationSettings Augmentation { get; init; } = new();
    /// <summary>Cross-entropy against (1 − s)·one-hot + s/classes; 0 is the paper's plain cross-entropy.</summary>
    public double LabelSmoothing { get; init; }
    /// <summary>"natural", or "adversarial" (every batch replaced by its attacked version, <see cref="Attack"/>).</summary>
    public string Strategy { get; init; } = "natural";
    /// <summary>The attack training runs on: PGD-k (the paper: 40 iterations) or fast FGSM with a random start (<see cref="PgdSettings.FastFgsm"/>).</summary>
    public PgdSettings Attack { get; init; } = new();
    /// <summary>Adversarial runs: evenly spaced test images attacked after each epoch for the robust accuracy (0 = no check).</summary>
    public int RobustTestImages { get; init; } = 256;
    /// <summary>
    /// Iterations of the PGD check after each epoch (same ε as the training attack, α = 2.5·ε/k, a
    /// random start fixed for the run): stronger than a cheap training attack, so it sees when the
    /// model only learned to defeat that attack.
    /// </summary>
    public int RobustCheckIterations { get; init; } = 10;
    /// <summary>
    /// Catastrophic overfitting: training stops (keeping the previous epoch's weights) when the
    /// check's robust accuracy falls more than this (absolute, 0.2 = 20 points) below the best
    /// earlier epoch's. 1 never stops.
    /// </summary>
    public double CollapseDrop { get; init; } = 0.2;

    /// <summary>The paper's natural recipe for VGG-16 (SPEC.md §3): SGD 0.01, momentum 0.9, weight decay 5e-4, batch 128, 100 epochs, constant rate.</summary>
    public static TrainingRecipe Paper => new();

    /// <summary>
    /// For the paper's plain VGG-16 (no BatchNorm) on real GTSRB in 20 epochs: rate 0.05 (with which
    /// the same layers and init train on CIFAR-10 without BatchNorm in chengyangfu/pytorch-vgg-cifar10),
    /// reached by a linear warm-up over half an epoch, then cosine
    /// decay; shifts, rotations, zooms, brightness and contrast like the best GTSRB entries used.
    /// Momentum, weight decay, batch and the loss are the paper's.
    /// </summary>
    public static TrainingRecipe Gtsrb => new()
    {
        Epochs = 20,
        LearningRate = 0.05,
        Schedule = new LearningRateSchedule { Shape = LearningRateSchedule.Cosine, WarmupEpochs = 0.5 },
        Augmentation = new AugmentationSettings { Translate = 0.1, RotateDegrees = 10, Scale = 0.1, Brightness = 0.3, Contrast = 0.3 },
    };

    /// <summary>The paper's ResNet-18 recipe: Ranger, lr 1e-4, ε 1e-6, batch 8.</summary>
    public static TrainingRecipe PaperRanger => new() { Optimizer = "ranger", LearningRate = 1e-4, Epsilon = 1e-6, WeightDecay = 0, Momentum = 0, BatchSize = 8 };

    public static readonly string[] Names = ["paper", "gtsrb", "resnet-ranger"];

    public static TrainingRecipe Named(string name) => name switch
    {
        // "vgg-sgd" is the name earlier versions documented for the paper's recipe.
        "paper" or "vgg-sgd" => Paper,
        "gtsrb" => Gtsrb,
        "resnet-ranger" => PaperRanger,
        _ => throw new SalientException($"Unknown recipe '{name}'; use one of: {string.Join(", ", Names)}."),
    };

    /// <summary>Checks every setting before any work starts; a bad one is one sentence naming it.</summary>
    public void Validate()
    {
        if (Epochs < 1) throw new SalientException($"Epochs must be at least 1, got {Epochs} (setting epochs, option --epochs).");
        if (BatchSize < 1) throw new SalientException($"Batch size must be at least 1, got {BatchSize} (setting batchSize, option --batch-size).");
        if (!(LearningRate > 0) || double.IsInfinity(LearningRate))
            throw new SalientException($"The learning rate must be a positive number, got {LearningRate} (setting learningRate, option --lr); the paper uses 0.01.");
        if (!(Momentum >= 0 && Momentum < 1))
            throw new SalientException($"Momentum must lie in [0, 1), got {Momentum} (setting momentum, option --momentum); the paper uses 0.9.");
        if (!(WeightDecay >= 0) || double.IsInfinity(WeightDecay))
            throw new SalientException($"Weight decay must be a number ≥ 0, got {WeightDecay} (setting weightDecay, option --weight-decay); the paper uses 5e-4.");
        if (!(Epsilon > 0) || double.IsInfinity(Epsilon))
            throw new SalientException($"The optimizer's ε must be a positive number, got {Epsilon} (setting epsilon, option --optimizer-eps); Ranger's protocol value is 1e-6.");
        if (!(LabelSmoothing >= 0 && LabelSmoothing < 1))
            throw new SalientException($"Label smoothing must lie in [0, 1), got {LabelSmoothing} (setting labelSmoothing, option --label-smoothing); 0 is plain cross-entropy.");
        if (Optimizer is not ("sgd" or "ranger")) throw new SalientException($"Unknown optimizer '{Optimizer}' (setting optimizer, option --optimizer); use 'sgd' or 'ranger'.");
        if (Strategy is not ("natural" or "adversarial")) throw new SalientException($"Unknown training strategy '{Strategy}' (setting strategy, option --strategy); use 'natural' or 'adversarial'.");
        Schedule.Validate();
        Augmentation.Validate();
        Attack.Validate();
        if (RobustTestImages < 0)
            throw new SalientException($"Robust test images must be 0 (no check) or more, got {RobustTestImages} (setting robustTestImages, option --robust-test-images).");
        if (RobustCheckIterations < 1)
            throw new SalientException($"The robust check needs at least 1 PGD iteration, got {RobustCheckIterations} (setting robustCheckIterations, option --robust-check-steps); 10 is the default.");
        if (!(CollapseDrop > 0 && CollapseDrop <= 1))
            throw new SalientException($"The collapse drop must lie in (0, 1], got {CollapseDrop} (setting collapseDrop, option --collapse-drop); 0.2 stops when robust accuracy falls 20 points below its best, 1 never stops.");
    }

    /// <summary>The PGD attack of the per-epoch robust check.</summary>
    public PgdSettings RobustCheckAttack() => PgdSettings.WithIterations(Attack.Epsilon, RobustCheckIterations);

    /// <summary>The training loss: mean cross-entropy, with the recipe's label smoothing.</summary>
    public Tensor Loss(Tensor logits, Tensor labels) => nn.functional.cross_entropy(logits, labels, label_smoothing: LabelSmoothing);

    public IBatchStrategy CreateStrategy() => Strategy == "adversarial" ? new AdversarialStrategy(Attack) : new NaturalStrategy();

    public IStatefulOptimizer CreateOptimizer(SalientModel model)
    {
        var trainable = model.named_parameters().Where(p => p.parameter.requires_grad).Select(p => (p.name, p.parameter)).ToList();
        return Optimizer switch
        {
            "sgd" => new Sgd(trainable, LearningRate, Momentum, WeightDecay),
            "ranger" => new Ranger(trainable, new RangerSettings { LearningRate = LearningRate, Eps = Epsilon, WeightDecay = WeightDecay }),
            _ => throw new SalientException($"Unknown optimizer '{Optimizer}'; use 'sgd' or 'ranger'."),
        };
    }

    private static readonly JsonSerializerOptions Json = new() { DefaultIgnoreCondition = JsonIgnoreCondition.Never };
    public string ToJson() => JsonSerializer.Serialize(this, Json);
    public static TrainingRecipe FromJson(string json) => JsonSerializer.Deserialize<TrainingRecipe>(json, Json)!;
}
