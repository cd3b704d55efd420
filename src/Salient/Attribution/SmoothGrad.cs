using Salient.Models;
using static TorchSharp.torch;

namespace Salient.Attribution;

public sealed record SmoothGradSettings
{
    /// <summary>Standard deviation of the Gaussian noise, in model space.</summary>
    public double Sigma { get; init; } = 0.15;
    public int Samples { get; init; } = 50;
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
        int samples = Settings.Samples;
        long imagesPerGroup = Math.Max(1, BatchSize / samples);
        long[] imageShape = modelSpace.shape[1..];
        var means = new List<Tensor>();
        for (long start = 0; start < modelSpace.shape[0]; start += imagesPerGroup)
        {
            using var scope = NewDisposeScope();
            long end = Math.Min(start + imagesPerGroup, modelSpace.shape[0]);
            var copies = modelSpace.slice(0, start, end, 1).repeat_interleave(samples, 0);
            var perturbation = randn(copies.shape, generator: noise).mul_(Settings.Sigma);
            var attributions = Inner.AttributeModelSpace(model, copies.add_(perturbation), targets.slice(0, start, end, 1).repeat_interleave(samples, 0));
            means.Add(attributions.view([end - start, samples, .. imageShape]).mean([1]).MoveToOuterDisposeScope());
        }
        return means.Count == 1 ? means[0] : cat(means, 0);
    }

    public void Dispose() => noise.Dispose();
}
