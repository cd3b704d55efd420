using Salient.Models;
using static TorchSharp.torch;

namespace Salient.Attribution;

/// <summary>The reference input x′ that Integrated Gradients integrates from.</summary>
public enum BaselineKind
{
    /// <summary>A black image: pixel 0, i.e. −mean/std in model space (the protocol's default).</summary>
    Black,
    /// <summary>All zeros in model space, i.e. the mean colour in pixel space (the reference notebooks).</summary>
    ModelSpaceZero,
}

public sealed record IntegratedGradientsSettings
{
    public int Steps { get; init; } = 50;
    public QuadratureRule Rule { get; init; } = QuadratureRule.GaussLegendre;
    public BaselineKind Baseline { get; init; } = BaselineKind.Black;
}

/// <summary>
/// Integrated Gradients: (z − z′) ⊙ ∫₀¹ ∂f_c(z′ + α(z − z′))/∂z dα, the integral by quadrature. All
/// (image, step) pairs are flattened into one stream and evaluated <see cref="AttributionMethod.BatchSize"/>
/// at a time, so a pass mixes steps of several images and stays full however few steps there are.
/// </summary>
public sealed class IntegratedGradients : AttributionMethod
{
    private readonly Tensor? baselinePixels;

    /// <param name="baselinePixels">
    /// Optional pixel-space baseline (3×H×W, or N×3×H×W matching the batch) that replaces
    /// <see cref="IntegratedGradientsSettings.Baseline"/>; the caller keeps ownership of the tensor.
    /// </param>
    public IntegratedGradients(IntegratedGradientsSettings? settings = null, int batchSize = AttributionSettings.DefaultBatchSize, Tensor? baselinePixels = null)
        : base(batchSize)
    {
        Settings = settings ?? new IntegratedGradientsSettings();
        (Alphas, Weights) = Quadrature.Nodes(Settings.Rule, Settings.Steps);
        this.baselinePixels = baselinePixels;
    }

    public IntegratedGradientsSettings Settings { get; }
    public IReadOnlyList<double> Alphas { get; }
    public IReadOnlyList<double> Weights { get; }

    public override string Name => "ig";

    protected internal override Tensor AttributeModelSpace(SalientModel model, Tensor modelSpace, Tensor targets)
    {
        long images = modelSpace.shape[0];
        long steps = Alphas.Count;
        var baseline = ModelSpaceBaseline(model, modelSpace);
        var difference = modelSpace - baseline;
        var alphas = tensor(Alphas.Select(a => (float)a).ToArray());
        var weights = tensor(Weights.Select(w => (float)w).ToArray());
        var weightedGradients = zeros_like(modelSpace);
        long total = images * steps;
        for (long start = 0; start < total; start += BatchSize)
        {
            using var scope = NewDisposeScope();
            var index = arange(start, Math.Min(start + BatchSize, total), int64);
            var image = index.div(steps, RoundingMode.floor);
            var step = index.remainder(steps);
            var alpha = alphas.index_select(0, step).view(-1, 1, 1, 1);
            var path = baseline.index_select(0, image) + alpha * difference.index_select(0, image);
            var gradients = TargetGradients(model, path, targets.index_select(0, image));
            weightedGradients.index_add_(0, image, gradients.mul_(weights.index_select(0, step).view(-1, 1, 1, 1)), 1);
        }
        return difference.mul_(weightedGradients);
    }

    /// <summary>The baseline expanded to one row per image, in model space.</summary>
    private Tensor ModelSpaceBaseline(SalientModel model, Tensor modelSpace)
    {
        long[] imageShape = modelSpace.shape[1..];
        if (baselinePixels is not null)
        {
            bool single = baselinePixels.shape.SequenceEqual(imageShape);
            bool perImage = baselinePixels.dim() == 4 && baselinePixels.shape.SequenceEqual(modelSpace.shape);
            if (!single && !perImage)
                throw new SalientException($"The Integrated Gradients baseline has shape [{string.Join("×", baselinePixels.shape)}] but must be one image [{string.Join("×", imageShape)}] or one per image [{string.Join("×", modelSpace.shape)}]; give a baseline of the images' size.");
            var pixels = baselinePixels.to(float32).detach();
            return model.Normalization.forward(single ? pixels.unsqueeze(0) : pixels).expand(modelSpace.shape).contiguous();
        }
        return Settings.Baseline switch
        {
            BaselineKind.Black => model.Normalization.forward(zeros([1, .. imageShape])).expand(modelSpace.shape).contiguous(),
            BaselineKind.ModelSpaceZero => zeros_like(modelSpace),
            _ => throw new ArgumentOutOfRangeException(nameof(Settings.Baseline), Settings.Baseline, null),
        };
    }
}
