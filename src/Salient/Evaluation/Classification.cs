using Salient.Data;
using Salient.Models;
using static TorchSharp.torch;

namespace Salient.Evaluation;

/// <summary>Accuracy, per-class accuracy and the confusion matrix of a classifier on a data set.</summary>
public sealed record ClassificationReport(long[] Predictions, long[] Labels, IReadOnlyList<string> ClassNames)
{
    public int Count => Labels.Length;
    public int Correct => Labels.Where((l, i) => Predictions[i] == l).Count();
    public double Accuracy => Count == 0 ? double.NaN : (double)Correct / Count;

    /// <summary>Rows = true class, columns = predicted class.</summary>
    public int[,] ConfusionMatrix()
    {
        int k = ClassNames.Count;
        var m = new int[k, k];
        for (int i = 0; i < Count; i++) m[Labels[i], Predictions[i]]++;
        return m;
    }

    /// <summary>Per-class accuracy (NaN for a class with no test images).</summary>
    public double[] PerClassAccuracy()
    {
        int k = ClassNames.Count;
        var total = new int[k];
        var right = new int[k];
        for (int i = 0; i < Count; i++)
        {
            total[Labels[i]]++;
            if (Predictions[i] == Labels[i]) right[Labels[i]]++;
        }
        return Enumerable.Range(0, k).Select(c => total[c] == 0 ? double.NaN : (double)right[c] / total[c]).ToArray();
    }

    /// <summary>The confusion matrix as CSV, with class names as the header row and first column.</summary>
    public string ConfusionCsv()
    {
        var m = ConfusionMatrix();
        var sb = new System.Text.StringBuilder();
        sb.Append("true\\predicted");
        foreach (var n in ClassNames) sb.Append(',').Append(CsvQuote(n));
        sb.AppendLine();
        for (int r = 0; r < ClassNames.Count; r++)
        {
            sb.Append(CsvQuote(ClassNames[r]));
            for (int c = 0; c < ClassNames.Count; c++) sb.Append(',').Append(m[r, c]);
            sb.AppendLine();
        }
        return sb.ToString();
    }

    public static string CsvQuote(string s) => s.Contains(',') || s.Contains('"') ? $"\"{s.Replace("\"", "\"\"")}\"" : s;
}

public static partial class Classification
{
    /// <summary>Predicted classes in eval mode, in batches, with no autograd.</summary>
    public static long[] Predict(SalientModel model, Tensor images, int batchSize = 256)
    {
        using var evaluating = EvalScope.Eval(model);
        using var _ = no_grad();
        var predictions = new long[images.shape[0]];
        for (long start = 0; start < images.shape[0]; start += batchSize)
        {
            using var scope = NewDisposeScope();
            long n = Math.Min(batchSize, images.shape[0] - start);
            var logits = model.forward(images.narrow(0, start, n));
            logits.argmax(1).data<long>().CopyTo(predictions.AsSpan((int)start, (int)n));
        }
        return predictions;
    }

    public static ClassificationReport Evaluate(SalientModel model, SignDataset data, int batchSize = 256)
    {
        if (data.ClassNames.Count != model.Spec.NumClasses)
            throw new SalientException($"The data has {data.ClassNames.Count} classes but the model has {model.Spec.NumClasses} outputs; evaluate on the data set the model was trained for.");
        if (data.ImageSize != model.Spec.InputSize)
            throw new SalientException($"The data's images are {data.ImageSize}×{data.ImageSize} but the model takes {model.Spec.InputSize}×{model.Spec.InputSize}; load the data with --image-size {model.Spec.InputSize}.");
        return new ClassificationReport(Predict(model, data.Images, batchSize), data.Labels, data.ClassNames);
    }
}
