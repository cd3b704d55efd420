using System.Text.Json;
using System.Text.Json.Serialization;

namespace Salient.Models;

/// <summary>
/// Everything needed to rebuild a model's architecture: saved in every checkpoint so a checkpoint
/// is self-describing.
/// </summary>
public sealed record ModelSpec
{
    /// <summary>"vgg16" or "resnet18" (the models Salient builds), or "torchscript" (<see cref="ScriptedModel"/>, imported).</summary>
    public string Architecture { get; init; } = "vgg16";
    public int NumClasses { get; init; } = 43;
    /// <summary>Scales every channel count (VGG: convolutions and hidden linear layers; ResNet: all widths).</summary>
    public double Width { get; init; } = 1.0;
    /// <summary>
    /// VGG-16 only: BatchNorm after every convolution (torchvision's vgg16_bn layout). Not the paper's
    /// model, but it learns in a few epochs where the plain VGG-16 sits on a long plateau.
    /// </summary>
    public bool BatchNorm { get; init; }
    /// <summary>Square input side in pixels; images are resized to it by the data pipeline.</summary>
    public int InputSize { get; init; } = 32;
    /// <summary>ResNet stem: "imagenet" (7×7/2 + max-pool) or "cifar" (3×3/1, no pool).</summary>
    public string Stem { get; init; } = "imagenet";
    /// <summary>Per-channel normalisation applied by the model's first module (pixel space → model space).</summary>
    public float[] Mean { get; init; } = [0.4563f, 0.4076f, 0.3895f];
    public float[] Std { get; init; } = [0.2298f, 0.2144f, 0.2259f];
    /// <summary>
    /// Compacted models only (set by compaction, which physically removes pruned channels; null for
    /// the regular plan). VGG-16: the output width of each of the 13 convolutions and the 2 hidden
    /// linear layers, in forward order (<see cref="VggLayerWidthCount"/> numbers), overriding
    /// <see cref="Width"/>. ResNet-18: the inner width (first convolution's output) of each of the 8
    /// residual blocks; such a ResNet-18 has its BatchNorms folded into its convolutions.
    /// </summary>
    public int[]? LayerWidths { get; init; }

    /// <summary>
    /// TorchScript models only (<see cref="ScriptedModel"/>): the memory layout their input is given in,
    /// <see cref="ScriptedModel.ChannelsLast"/> or <see cref="ScriptedModel.Nchw"/>; import chooses the one
    /// in which this machine's kernels compute the module consistently. Null: channels-last.
    /// </summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? InputLayout { get; init; }

    /// <summary>
    /// Compacted models only, optional: for each of VGG-16's 13 convolutions, or for the second
    /// convolution of each of ResNet-18's 8 blocks, how many pixels from the border its offset map
    /// reaches (0: no map). The constant part of a removed channel's
    /// contribution lives in the bias; only this ring, where zero padding makes it vary, needs the
    /// map. Null with <see cref="LayerWidths"/> set: whole maps, as compactions wrote them before.
    /// </summary>
    public int[]? OffsetRings { get; init; }

    /// <summary>
    /// Whether the same weights work at another input size: ResNet-18 pools adaptively, while VGG-16's
    /// first linear layer and a compacted model's offset maps are sized for one input.
    /// </summary>
    public bool TakesAnyInputSize => Architecture == "resnet18" && LayerWidths is null;

    public const int VggLayerWidthCount = 15;
    public const int VggConvolutionCount = 13;

    public static readonly string[] Architectures = ["vgg16", "resnet18"];

    public void Validate()
    {
        if (!Architectures.Contains(Architecture) && Architecture != ScriptedModel.ArchitectureName)
            throw new SalientException($"Unknown architecture '{Architecture}'; use one of: {string.Join(", ", Architectures)}.");
        if (NumClasses < 2) throw new SalientException($"The model needs at least 2 classes, got {NumClasses}; check the data set's class list.");
        if (Width <= 0 || Width > 8) throw new SalientException($"Width multiplier {Width} is out of range; use a value in (0, 8], e.g. 0.25 for a fast model.");
        if (InputSize < 8) throw new SalientException($"Input size {InputSize} is too small; use at least 8 (32 for GTSRB).");
        if (Architecture == "vgg16" && InputSize % 32 != 0)
            throw new SalientException($"VGG-16 halves the image 5 times, so the input size must be a multiple of 32, got {InputSize}.");
        if (BatchNorm && Architecture != "vgg16")
            throw new SalientException("The BatchNorm option is for VGG-16; ResNet-18 always has BatchNorm.");
        if (Stem is not ("imagenet" or "cifar")) throw new SalientException($"Unknown ResNet stem '{Stem}'; use 'imagenet' or 'cifar'.");
        if (LayerWidths is not null)
        {
            var (count, what) = Architecture == "vgg16" ? (VggLayerWidthCount, "13 convolutions, then 2 hidden linear layers") : (ResNet18.BlockCount, "the inner width of each of the 8 residual blocks");
            if (LayerWidths.Length != count || LayerWidths.Any(w => w < 1))
                throw new SalientException($"LayerWidths of a compacted {Architecture} must list {count} positive widths ({what}), got [{string.Join(",", LayerWidths)}]; the model description is damaged.");
        }
        int rings = Architecture == "vgg16" ? VggConvolutionCount : ResNet18.BlockCount;
        if (OffsetRings is not null && (LayerWidths is null || OffsetRings.Length != rings || OffsetRings.Any(r => r < 0)))
            throw new SalientException($"OffsetRings belong to a compacted {Architecture} (with LayerWidths) and must list {rings} widths ≥ 0, one per {(Architecture == "vgg16" ? "convolution" : "residual block")}, got [{string.Join(",", OffsetRings)}]; the model description is damaged.");
        if (Mean.Length != 3 || Std.Length != 3 || Std.Any(s => s <= 0))
            throw new SalientException("Normalisation needs 3 means and 3 positive standard deviations (one per colour channel).");
    }

    internal static readonly JsonSerializerOptions Json = new() { WriteIndented = false, DefaultIgnoreCondition = JsonIgnoreCondition.Never };
    public string ToJson() => JsonSerializer.Serialize(this, Json);
    public static ModelSpec FromJson(string json) => JsonSerializer.Deserialize<ModelSpec>(json, Json)
        ?? throw new SalientException("The checkpoint's model description is empty; the file is damaged.");
}
