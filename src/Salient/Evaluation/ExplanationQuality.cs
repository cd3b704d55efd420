using Salient.Attribution;
using Salient.Models;
using static TorchSharp.torch;

namespace Salient.Evaluation;

/// <summary>How sparse and how faithful one method's maps are for one model on a set of images.</summary>
public sealed record ExplanationQuality(
    string Method,
    long[] Predictions,
    long[] Labels,
    int[] CorrectIndices,
    double[] Gini,
    RoadResult? Road,
    Tensor Maps) : IDisposable
{
    public double Accuracy => Labels.Length == 0 ? double.NaN : (double)CorrectIndices.Length / Labels.Length;
    public MeanEstimate GiniMean => MeanEstimate.Of(Gini);
    public void Dispose() => Maps.Dispose();
}

public static class ExplanationEvaluation
{
    /// <summary>
    /// Explains every image for its true class, then scores the maps of the correctly classified
    /// ones: Gini per image and ROAD (MoRF and LeRF). Maps are computed in chunks of
    /// <paramref name="chunk"/> images so progress moves and memory stays bounded.
    /// </summary>
    public static ExplanationQuality Evaluate(SalientModel model, IAttributionMethod method, Tensor images, Tensor labels,
        RoadOptions road, IProgress<(string Stage, double Fraction)>? progress = null, int chunk = 50)
    {
        long n = images.shape[0];
        var maps = new List<Tensor>();
        try
        {
            for (long start = 0; start < n; start += chunk)
            {
                progress?.Report(($"explaining {start}/{n}", 0.5 * start / n));
                using var scope = NewDisposeScope();
                long count = Math.Min(chunk, n - start);
                var attribution = method.Attribute(model, images.narrow(0, start, count), labels.narrow(0, start, count));
                maps.Add(SaliencyMap.Reduce(attribution).MoveToOuterDisposeScope());
            }
            var all = cat(maps, 0);
            var predictions = Classification.Predict(model, images);
            var truth = labels.data<long>().ToArray();
            var correct = Enumerable.Range(0, (int)n).Where(i => predictions[i] == truth[i]).ToArray();
            double[] gini = [];
            if (correct.Length > 0)
            {
                using var idx = tensor(correct.Select(i => (long)i).ToArray());
                using var correctMaps = all.index_select(0, idx);
                gini = Evaluation.Gini.PerImage(correctMaps);
            }
            progress?.Report(("ROAD", 0.6));
            var roadResult = correct.Length == 0 ? null : Evaluation.Road.Evaluate(model, images, labels, all, road);
            return new ExplanationQuality(method.Name, predictions, truth, correct, gini, roadResult, all);
        }
        finally
        {
            foreach (var m in maps) m.Dispose();
        }
    }
}
