using Salient.Models;
using static TorchSharp.torch;

namespace Salient.Attribution;

public sealed record SmoothGradSettings
{
    /// <summary>The protocol's sample counts (SPEC.md §4): maps shown in figures, and maps that are scored.</summary>
    public const int SamplesForFigures = 50, SamplesForMetrics = 10;

    /// <summary>Standard deviation of the Gaussian noise, in model space.</summary>
    public double Sigma { get; init; } = 0.15;
    public int Samples { get; init; } = SamplesForFigures;
    /// <summary>Seeds the method's own noise stream, so results do not depend on other users of torch's global generator.</summary>
    public long Seed { get; init; } = 0;
}

/// <summary>
/// SmoothGrad as a wrapper: the mean over noisy copies z + ε, ε ~ N(0, σ²) in model space, of any
/// inner method's attributions. Wrapping <see cref="VanillaGradient"/> gives the protocol's SG,
/// mean |∂f_c(z + ε)/∂z|. The noisy copies of several images go to the inner method together, so
/// its passes stay full.
/// </summary>
public sealed class SmoothGrad : AttributionMethod, IDisposable
{
    private readonly Generator noise;

    public SmoothGrad(AttributionMethod inner, SmoothGradSettings? settings = null, int batchSize = AttributionSettings.DefaultBatchSize)
        : base(batchSize)
    {
        Settings = settings ?? new SmoothGradSettings();
        if (Settings.Samples < 1)
            throw new SalientException($"SmoothGrad needs at least 1 noise sample, got {Settings.Samples}; set the sample count to 1 or more (the protocol uses 50 for figures, 10 for metrics).");
        if (!(Settings.Sigma >= 0) || double.IsInfinity(Settings.Sigma))
            throw new SalientException($"The SmoothGrad noise level σ must be a finite number ≥ 0, got {Settings.Sigma}; the protocol uses 0.15.");
        Inner = inner;
        noise = new Generator((ulong)Settings.Seed, CPU);
    }

    public AttributionMethod Inner { get; }
    public SmoothGradSettings Settings { get; }

    public override string Name => Inner is VanillaGradient ? "sg" : $"sg-{Inner.Name}";

    protected internal override Tensor AttributeModelSpace(SalientModel model, Tensor modelSpace, Tensor targets)
    {
        long samples = Settings.Samples;
        long total = modelSpace.shape[0] * samples;
        var sums = zeros_like(modelSpace);
        // Copies run image-major (all samples of image 0, then image 1, …) in slices of exactly
        // BatchSize, so every pass but the last is full whatever the sample count.
        for (long start = 0; start < total; start += BatchSize)
        {
            using var scope = NewDisposeScope();
            var index = arange(start, Math.Min(start + BatchSize, total), int64);
            var image = index.div(samples, RoundingMode.floor);
            var copies = modelSpace.index_select(0, image);
            // Drawn on the CPU, where the generator lives, so the noise is the same on every device.
            var perturbation = randn(copies.shape, generator: noise, device: CPU).mul_(Settings.Sigma).to(copies.device);
            var attributions = Inner.AttributeModelSpace(model, copies.add_(perturbation), targets.index_select(0, image));
            sums.index_add_(0, image, attributions, 1);
        }
        return sums.div_(samples);
    }

    public void Dispose() => noise.Dispose();
}
