using System.Text.Json;
using System.Text.Json.Serialization;
using Salient.Models;

namespace Salient.Training;

/// <summary>How a model is trained; every number is a setting. Stored in each checkpoint, and checked on resume.</summary>
public sealed record TrainingRecipe
{
    /// <summary>"sgd" (the paper's VGG recipe) or "ranger" (its ResNet recipe).</summary>
    public string Optimizer { get; init; } = "sgd";
    public double LearningRate { get; init; } = 0.01;
    public double Momentum { get; init; } = 0.9;
    public double WeightDecay { get; init; } = 5e-4;
    /// <summary>Ranger's ε (denominator guard).</summary>
    public double Epsilon { get; init; } = 1e-8;
    public int BatchSize { get; init; } = 128;
    public int Epochs { get; init; } = 100;
    public ulong Seed { get; init; } = 0;
    /// <summary>"natural", or "adversarial" (every batch replaced by its PGD examples, <see cref="Attack"/>).</summary>
    public string Strategy { get; init; } = "natural";
    public PgdSettings Attack { get; init; } = new();
    /// <summary>Adversarial runs: test images attacked after each epoch for the robust accuracy (0 = skip).</summary>
    public int RobustTestImages { get; init; } = 256;

    /// <summary>The paper's natural recipe for VGG-16 (SPEC.md §3).</summary>
    public static TrainingRecipe PaperSgd => new();

    /// <summary>The paper's ResNet-18 recipe: Ranger, lr 1e-4, ε 1e-6, batch 8.</summary>
    public static TrainingRecipe PaperRanger => new() { Optimizer = "ranger", LearningRate = 1e-4, Epsilon = 1e-6, WeightDecay = 0, Momentum = 0, BatchSize = 8 };

    public static readonly string[] Names = ["vgg-sgd", "resnet-ranger"];

    public static TrainingRecipe Named(string name) => name switch
    {
        "vgg-sgd" => PaperSgd,
        "resnet-ranger" => PaperRanger,
        _ => throw new SalientException($"Unknown recipe '{name}'; use one of: {string.Join(", ", Names)}."),
    };

    public void Validate()
    {
        if (Epochs < 1) throw new SalientException($"Epochs must be at least 1, got {Epochs}.");
        if (BatchSize < 1) throw new SalientException($"Batch size must be at least 1, got {BatchSize}.");
        if (LearningRate <= 0) throw new SalientException($"Learning rate must be positive, got {LearningRate}.");
        if (Optimizer is not ("sgd" or "ranger")) throw new SalientException($"Unknown optimizer '{Optimizer}'; use 'sgd' or 'ranger'.");
        if (Strategy is not ("natural" or "adversarial")) throw new SalientException($"Unknown training strategy '{Strategy}'; use 'natural' or 'adversarial'.");
        if (Strategy == "adversarial") Attack.Validate();
    }

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
