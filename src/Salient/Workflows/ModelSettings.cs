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

    public static readonly string[] Normalizations = ["data", "paper"];

    public void Validate()
    {
        if (!Normalizations.Contains(Normalization))
            throw new SalientException($"Unknown normalisation '{Normalization}'; use 'data' (training-split mean/std) or 'paper' (the reference constants).");
        new ModelSpec { Architecture = Architecture, Width = Width, Stem = Stem, BatchNorm = BatchNorm }.Validate();
    }

    /// <summary>The full model description for a data set: its class count, image size and (for "data") its statistics.</summary>
    public ModelSpec SpecFor(DataSplit data)
    {
        Validate();
        var paper = new ModelSpec();
        var (mean, std) = Normalization == "paper" ? (paper.Mean, paper.Std) : Splits.ChannelStatistics(data.Train);
        var spec = new ModelSpec
        {
            Architecture = Architecture, Width = Width, Stem = Stem, BatchNorm = BatchNorm,
            NumClasses = data.ClassNames.Count, InputSize = data.Train.ImageSize, Mean = mean, Std = std,
        };
        spec.Validate();
        return spec;
    }
}
