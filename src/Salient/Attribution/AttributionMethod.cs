using Salient.Models;
using static TorchSharp.torch;

namespace Salient.Attribution;

/// <summary>
/// A saliency method with one calling shape for every method: pixel-space images N×3×H×W and one
/// target class per image in, model-space attributions N×3×H×W out (reduce them to maps with
/// <see cref="SaliencyMap.Reduce"/>).
/// </summary>
public interface IAttributionMethod
{
    /// <summary>Short name used in settings and file names ("vg", "ig", "sg").</summary>
    string Name { get; }

    /// <summary>Attributions in model space for each image's target class (a long tensor of length N).</summary>
    Tensor Attribute(SalientModel model, Tensor pixels, Tensor targets);
}

/// <summary>
/// The shared frame of every method: checks the input against the model's spec, puts the model in
/// evaluation mode with frozen parameters for the duration of the call (restoring both after), and
/// hands the method the batch already normalised to model space, where the protocol defines the maps.
/// </summary>
public abstract class AttributionMethod : IAttributionMethod
{
    protected AttributionMethod(int batchSize)
    {
        if (batchSize < 1)
            throw new SalientException($"The attribution batch size must be at least 1, got {batchSize}; it bounds how many images go through one forward/backward pass.");
        BatchSize = batchSize;
    }

    public abstract string Name { get; }

    /// <summary>Most inputs evaluated in one forward/backward pass; bounds memory, larger is faster up to a point.</summary>
    public int BatchSize { get; }

    public Tensor Attribute(SalientModel model, Tensor pixels, Tensor targets)
    {
        CheckImages(model, pixels);
        using var scope = NewDisposeScope();
        var classes = Targets.Checked(model, targets, pixels.shape[0]);
        using var explaining = EvalScope.Frozen(model);
        var modelSpace = model.Normalization.forward(pixels.detach().to(float32));
        return AttributeModelSpace(model, modelSpace, classes).detach().MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Attributions for inputs already in model space; the caller has checked the inputs and frozen
    /// the model. Wrappers such as <see cref="SmoothGrad"/> call this so their perturbations stay in model space.
    /// </summary>
    protected internal abstract Tensor AttributeModelSpace(SalientModel model, Tensor modelSpace, Tensor targets);

    /// <summary>∂f_target(z)/∂z for every row of <paramref name="modelSpace"/>, in one forward/backward pass.</summary>
    protected static Tensor TargetGradients(SalientModel model, Tensor modelSpace, Tensor targets)
    {
        using var scope = NewDisposeScope();
        using var gradients = enable_grad();
        var input = modelSpace.detach().requires_grad_(true);
        var logits = model.ForwardModelSpace(input);
        // Rows are independent in evaluation mode, so the gradient of the summed target logits is
        // each row's own gradient.
        var selected = logits.gather(1, targets.view(-1, 1)).sum();
        var gradient = autograd.grad([selected], [input])[0];
        return gradient.detach().MoveToOuterDisposeScope();
    }

    private static void CheckImages(SalientModel model, Tensor pixels)
    {
        if (pixels.dim() != 4)
            throw new SalientException($"Images to explain must be a batch N×3×H×W, got shape [{string.Join("×", pixels.shape)}]; add the batch dimension.");
        long channels = pixels.shape[1], height = pixels.shape[2], width = pixels.shape[3];
        if (channels != 3)
            throw new SalientException($"The model takes 3-channel colour images, got {channels} channel(s); convert the images to RGB.");
        int size = model.Spec.InputSize;
        if (height != size || width != size)
            throw new SalientException($"The model takes {size}×{size} images, got {height}×{width}; resize the images to the model's input size.");
        if (!pixels.is_floating_point())
            throw new SalientException($"Images to explain must be floating-point pixels in [0,1], got {pixels.dtype}; divide 8-bit images by 255.");
    }
}
