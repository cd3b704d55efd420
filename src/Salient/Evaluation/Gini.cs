using static TorchSharp.torch;

namespace Salient.Evaluation;

/// <summary>
/// Sparsity of saliency maps by the Gini index (SPEC.md §5): 0 for a uniform map, close to 1 when one
/// pixel holds all the attribution.
/// </summary>
public static class Gini
{
    /// <summary>Added to every normalised magnitude, as the protocol does, so an all-zero map scores 0 instead of 0/0.</summary>
    public const double Epsilon = 1e-7;

    /// <summary>One Gini index per map of an N×H×W batch, computed in double precision.</summary>
    public static double[] PerImage(Tensor maps)
    {
        if (maps.dim() != 3)
            throw new SalientException($"Saliency maps must be N×H×W (one channel-summed map per image), got shape [{string.Join(", ", maps.shape)}]; reduce the channels first.");
        using var scope = NewDisposeScope();
        var magnitudes = maps.detach().to(ScalarType.Float64).cpu().flatten(1).abs();
        long n = magnitudes.shape[1];
        var largest = magnitudes.amax([1], keepdim: true);
        // An all-zero map stays all zero rather than becoming NaN; the epsilon then makes it uniform.
        var normalised = magnitudes / where(largest > 0, largest, ones_like(largest)) + Epsilon;
        var (ascending, _) = normalised.sort(1);
        var rankWeights = arange(1, n + 1, dtype: ScalarType.Float64) * 2 - n - 1;
        var gini = (ascending * rankWeights).sum(1) / (ascending.sum(1) * n);
        return gini.data<double>().ToArray();
    }

    /// <summary>Mean Gini index of a batch of maps with its t-based confidence interval.</summary>
    public static MeanEstimate Mean(Tensor maps, double level = 0.95) => MeanEstimate.Of(PerImage(maps), level);
}
