using System.Text.Json.Serialization;
using Salient.Data;
using Salient.Models;

namespace Salient.Workflows;

/// <summary>
/// The architecture to build and how it normalises its input — the part of a model that settings
/// choose; class count and input size come from the data. Verbs and studies both map onto it.
/// </summary>
public sealed record ModelSettings
{
    /// <summary>"vgg16" or "resnet18".</summary>
    public string Architecture { get; init; } = "vgg16";
    /// <summary>Channel-width multiplier (1 = the paper's model).</summary>
    public double Width { get; init; } = 1;
    /// <summary>ResNet-18 stem: "imagenet" (7×7/2 + pool) or "cifar" (3×3/1).</summary>
    public string Stem { get; init; } = "imagenet";
    /// <summary>VGG-16 only: BatchNorm after every convolution (not the paper's model; learns much faster).</summary>
    public bool BatchNorm { get; init; }
    /// <summary>"data" (the training split's per-channel mean/std) or "paper" (the reference constants).</summary>
    public string Normalization { get; init; } = "data";
    /// <summary>
    /// Studies: a checkpoint (from train or import, e.g. ImageNet weights) that every model trained from
    /// scratch starts from instead of a random initialisation, as the paper's ResNet-18 does: all its
    /// layers and its normalisation (which replaces <see cref="Normalization"/>'s), and a fresh output
    /// layer when its classes are not the data's. Null: a random initialisation. Left out of the
    /// settings' JSON when null, so studies without it keep their cells' hashes.
    /// </summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? InitialWeights { get; init; }

    public static readonly string[] Normalizations = ["data", "paper"];

    public void Validate()
    {
        if (!Normalizations.Contains(Normalization))
            throw new SalientException($"Unknown normalisation '{Normalization}'; use 'data' (training-split mean/std) or 'paper' (the reference constants).");
        new ModelSpec { Architecture = Architecture, Width = Width, Stem = Stem, BatchNorm = BatchNorm }.Validate();
        if (InitialWeights is { } path)
        {
            if (!File.Exists(path))
                throw new SalientException($"'model.initialWeights' is '{path}', which does not exist; give the path of a checkpoint written by 'salient train' or 'salient import'.");
            var start = Checkpoint.ReadDescription(path).Spec;
            // The stem exists only in ResNet-18; a VGG-16 keeps whatever its file recorded.
            var ours = new ModelSpec { Architecture = Architecture, Width = Width, Stem = start.Architecture == "resnet18" ? Stem : start.Stem, BatchNorm = BatchNorm };
            if (start.Architecture != ours.Architecture || start.Width != ours.Width || start.Stem != ours.Stem || start.BatchNorm != ours.BatchNorm)
                throw new SalientException($"'model.initialWeights' ('{path}') holds a {Checkpoint.Describe(start)} but 'model' asks for a {Checkpoint.Describe(ours with { NumClasses = start.NumClasses })}; make 'model' match the weights or give other weights.");
            if (start.LayerWidths is not null)
                throw new SalientException($"'model.initialWeights' ('{path}') is a compacted model, which cannot be trained; give the masked checkpoint it was compacted from.");
        }
    }

    /// <summary>The full model description for a data set: its class count, image size and (for "data") its statistics.</summary>
    public ModelSpec SpecFor(DataSplit data)
    {
        Validate();
        var paper = new ModelSpec();
        var start = InitialWeights is { } weights ? Checkpoint.ReadDescription(weights).Spec : null;
        var (mean, std) = start is not null ? (start.Mean, start.Std)
            : Normalization == "paper" ? (paper.Mean, paper.Std) : Splits.ChannelStatistics(data.Train);
        var spec = new ModelSpec
        {
            Architecture = Architecture, Width = Width, Stem = Stem, BatchNorm = BatchNorm,
            NumClasses = data.ClassNames.Count, InputSize = data.Train.ImageSize, Mean = mean, Std = std,
        };
        spec.Validate();
        return spec;
    }
}
