namespace Salient.Attribution;

/// <summary>Every attribution setting in one record, for studies and the command line.</summary>
public sealed record AttributionSettings
{
    /// <summary>Measured fastest for the paper's VGG-16 at 32×32 on a 2-core CPU (see the attribution benchmarks).</summary>
    public const int DefaultBatchSize = 256;

    /// <summary>Most inputs (images × steps or samples) per forward/backward pass; bounds memory.</summary>
    public int BatchSize { get; init; } = DefaultBatchSize;
    public IntegratedGradientsSettings IntegratedGradients { get; init; } = new();
    public SmoothGradSettings SmoothGrad { get; init; } = new();
}

/// <summary>Attribution methods by name.</summary>
public static class AttributionMethods
{
    public static readonly string[] Names = ["vg", "ig", "sg"];

    public static AttributionMethod Create(string name, AttributionSettings? settings = null)
    {
        settings ??= new AttributionSettings();
        return name.ToLowerInvariant() switch
        {
            "vg" => new VanillaGradient(settings.BatchSize),
            "ig" => new IntegratedGradients(settings.IntegratedGradients, settings.BatchSize),
            "sg" => new SmoothGrad(new VanillaGradient(settings.BatchSize), settings.SmoothGrad, settings.BatchSize),
            _ => throw new SalientException($"Unknown attribution method '{name}'; use one of: {string.Join(", ", Names)}."),
        };
    }
}
