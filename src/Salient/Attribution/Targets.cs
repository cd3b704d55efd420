using Salient.Models;
using static TorchSharp.torch;

namespace Salient.Attribution;

/// <summary>Which class each image is explained for: its true label, the model's prediction, or a given class.</summary>
public enum TargetChoice { True, Predicted, Given }

/// <summary>Builds and checks the long tensor of target classes the attribution methods take.</summary>
public static class Targets
{
    /// <summary>Given classes (or true labels), checked against the model's class count.</summary>
    public static Tensor Given(SalientModel model, IReadOnlyList<long> classes) =>
        Checked(model, tensor(classes.ToArray(), int64), classes.Count);

    /// <summary>The true labels as targets, checked against the model's class count.</summary>
    public static Tensor True(SalientModel model, Tensor labels) => Checked(model, labels, labels.shape[0]);

    /// <summary>The model's predicted class per image, computed in evaluation mode without gradients.</summary>
    public static Tensor Predicted(SalientModel model, Tensor pixels, int batchSize = 256)
    {
        bool wasTraining = model.training;
        model.eval();
        try
        {
            using var scope = NewDisposeScope();
            using var noGradients = no_grad();
            var predictions = new List<Tensor>();
            for (long start = 0; start < pixels.shape[0]; start += batchSize)
            {
                long end = Math.Min(start + batchSize, pixels.shape[0]);
                predictions.Add(model.forward(pixels.slice(0, start, end, 1)).argmax(1));
            }
            return cat(predictions, 0).MoveToOuterDisposeScope();
        }
        finally
        {
            model.train(wasTraining);
        }
    }

    /// <summary>Targets by choice; <paramref name="labels"/> serves both the true labels and the given classes.</summary>
    public static Tensor For(TargetChoice choice, SalientModel model, Tensor pixels, Tensor? labels = null) => choice switch
    {
        TargetChoice.Predicted => Predicted(model, pixels),
        _ => labels is null
            ? throw new SalientException($"Target choice '{choice}' needs a class per image; pass the labels or choose predicted targets.")
            : Checked(model, labels, pixels.shape[0]),
    };

    internal static Tensor Checked(SalientModel model, Tensor targets, long count)
    {
        if (targets.dim() != 1 || targets.shape[0] != count)
            throw new SalientException($"Expected one target class per image ({count}), got shape [{string.Join("×", targets.shape)}]; pass a 1-D list of class indices.");
        if (targets.is_floating_point() || targets.dtype == ScalarType.Bool)
            throw new SalientException($"Target classes must be integers, got {targets.dtype}; pass class indices, not scores.");
        int classes = model.Spec.NumClasses;
        var classIndices = targets.to(int64);
        if (count > 0)
        {
            long low = classIndices.min().item<long>(), high = classIndices.max().item<long>();
            if (low < 0 || high >= classes)
            {
                long bad = low < 0 ? low : high;
                throw new SalientException($"Target class {bad} is out of range: the model has {classes} classes (0 to {classes - 1}); check the labels or the given target.");
            }
        }
        return classIndices;
    }
}
