using Salient.Models;
using static TorchSharp.torch;

namespace Salient.Evaluation;

/// <summary>
/// The paper's eq. 12: ‖∂f_c(x)/∂x‖₂ per image, the gradient of the target-class logit with respect to
/// the model-space input (the space the explanations live in). Large values mean saliency maps that
/// swing with small input changes.
/// </summary>
public static class GradientNorm
{
    /// <summary>
    /// One norm per pixel-space image (N×3×H×W) for the class in <paramref name="targets"/> (N). The
    /// model runs in eval mode with its parameters frozen; both are restored afterwards.
    /// </summary>
    public static double[] PerImage(SalientModel model, Tensor images, Tensor targets, int batchSize = 128)
    {
        if (images.dim() != 4)
            throw new SalientException($"Images must be N×C×H×W pixel-space tensors, got shape [{string.Join(", ", images.shape)}].");
        if (targets.dim() != 1 || targets.shape[0] != images.shape[0])
            throw new SalientException($"The gradient norm needs one target class per image: {images.shape[0]} images but targets of shape [{string.Join(", ", targets.shape)}].");
        if (batchSize < 1) throw new SalientException("The gradient-norm batch size must be at least 1.");

        using var frozen = EvalScope.Frozen(model);
        var norms = new List<double>((int)images.shape[0]);
            for (long start = 0; start < images.shape[0]; start += batchSize)
            {
                using var scope = NewDisposeScope();
                long length = Math.Min(batchSize, images.shape[0] - start);
                var pixels = images.narrow(0, start, length).detach().to(ScalarType.Float32);
                var modelSpace = model.Normalization.forward(pixels).detach().requires_grad_(true);
                var logits = model.ForwardModelSpace(modelSpace);
                var target = targets.narrow(0, start, length).to(ScalarType.Int64).view(-1, 1);
                // Images do not interact in eval mode, so the gradient of the summed logits is each image's own.
                var selected = logits.gather(1, target).sum();
                var gradient = autograd.grad([selected], [modelSpace])[0];
                norms.AddRange(gradient.to(ScalarType.Float64).flatten(1).square().sum(1).sqrt().data<double>().ToArray());
            }
        return norms.ToArray();
    }

    /// <summary>Mean gradient norm with its t-based confidence interval.</summary>
    public static MeanEstimate Mean(SalientModel model, Tensor images, Tensor targets, int batchSize = 128, double level = 0.95) =>
        MeanEstimate.Of(PerImage(model, images, targets, batchSize), level);
}
