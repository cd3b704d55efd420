using System.Globalization;
using Salient.Attribution;
using Salient.Evaluation;
using Salient.Evaluation.Metrics;
using Salient.Models;
using static TorchSharp.torch;

namespace Salient.Workflows;

/// <summary>A metric with the settings to run it with.</summary>
public sealed record MetricChoice(IExplanationMetric Metric, object Settings)
{
    public static MetricChoice Default(string name)
    {
        var metric = ExplanationMetrics.Get(name);
        return new MetricChoice(metric, metric.DefaultSettings());
    }
}

/// <summary>
/// The steps every explanation run shares, whether `evaluate-explanations` runs them in one go or a
/// study runs them as cells: explain images for their true class (maps), then score the maps (and
/// the model) with metrics. Returns one result with its CSV views.
/// </summary>
public sealed class ExplanationEvaluation : IDisposable
{
    private ExplanationEvaluation(string method, Tensor maps, long[] predictions, long[] labels, IReadOnlyList<(MetricChoice Choice, MetricScores Scores)> scores)
        => (Method, Maps, Predictions, Labels, Scores) = (method, maps, predictions, labels, scores);

    public string Method { get; }
    /// <summary>N×H×W channel-summed maps (signed for IG).</summary>
    public Tensor Maps { get; }
    public long[] Predictions { get; }
    public long[] Labels { get; }
    public IReadOnlyList<(MetricChoice Choice, MetricScores Scores)> Scores { get; }
    public int Count => Labels.Length;
    public int CorrectCount => Labels.Where((l, i) => Predictions[i] == l).Count();

    /// <summary>
    /// Maps (N×H×W) of <paramref name="method"/> for each image's target class, computed in chunks of
    /// <paramref name="chunk"/> images so progress moves and memory stays bounded.
    /// </summary>
    public static Tensor Explain(SalientModel model, IAttributionMethod method, Tensor images, Tensor targets, IProgress<double>? progress = null, int chunk = 50)
    {
        long n = images.shape[0];
        var parts = new List<Tensor>();
        try
        {
            for (long start = 0; start < n; start += chunk)
            {
                progress?.Report((double)start / n);
                using var scope = NewDisposeScope();
                long count = Math.Min(chunk, n - start);
                var attribution = method.Attribute(model, images.narrow(0, start, count), targets.narrow(0, start, count));
                parts.Add(SaliencyMap.Reduce(attribution).MoveToOuterDisposeScope());
            }
            progress?.Report(1);
            return cat(parts, 0);
        }
        finally
        {
            foreach (var p in parts) p.Dispose();
        }
    }

    /// <summary>One metric on one model's explanations (or on the model itself, for model metrics).</summary>
    public static MetricScores Score(MetricChoice choice, MetricInput input) => choice.Metric.Evaluate(input, choice.Settings);

    /// <summary>Explains every image for its true class with <paramref name="method"/> and scores the maps with each metric.</summary>
    public static ExplanationEvaluation Run(SalientModel model, IAttributionMethod method, Tensor images, Tensor labels, IReadOnlyList<MetricChoice> metrics,
        long seed, Tensor? groundTruth = null, IProgress<(string Stage, double Fraction)>? progress = null)
    {
        foreach (var choice in metrics) choice.Metric.CheckModel(model);
        var share = 1.0 / (1 + metrics.Count);
        var maps = Explain(model, method, images, labels, new SyncProgress<double>(f => progress?.Report(($"explaining with {method.Name}", f * share))));
        try
        {
            var predictions = Classification.Predict(model, images);
            var results = new List<(MetricChoice, MetricScores)>();
            for (int k = 0; k < metrics.Count; k++)
            {
                double start = share * (k + 1);
                progress?.Report((metrics[k].Metric.Title, start));
                var input = new MetricInput
                {
                    Model = model, Images = images, Labels = labels, Predictions = predictions, Maps = maps, Method = method,
                    GroundTruth = groundTruth, Seed = seed, Progress = new SyncProgress<double>(f => progress?.Report((metrics[k].Metric.Title, start + f * share))),
                };
                results.Add((metrics[k], Score(metrics[k], input)));
            }
            return new ExplanationEvaluation(method.Name, maps, predictions, labels.data<long>().ToArray(), results);
        }
        catch
        {
            maps.Dispose();
            throw;
        }
    }

    /// <summary>Per metric summary: mean ± 95% t-interval over the images it scored.</summary>
    public IEnumerable<(IExplanationMetric Metric, MetricSummary Summary, MeanEstimate Estimate)> Summaries() =>
        from s in Scores
        from summary in s.Choice.Metric.Summaries
        let values = s.Scores.Values[summary.Key].Where(v => !double.IsNaN(v)).ToList()
        select (s.Choice.Metric, summary, MeanEstimate.Of(values));

    /// <summary>summary.csv, scores.csv (one row per image and score) and, for metrics with details, &lt;metric&gt;-details.csv (mean per detail key) and &lt;metric&gt;-details-per-image.csv.</summary>
    public IReadOnlyList<string> WriteCsv(string folder)
    {
        var written = new List<string>();
        void Write(string name, IEnumerable<string> lines)
        {
            AtomicFile.WriteAllLines(Path.Combine(folder, name), lines);
            written.Add(name);
        }
        Write("summary.csv", Summaries().Select(s => string.Join(",", Method, s.Metric.Name, s.Summary.Key, Num(s.Estimate.Mean), Num(s.Estimate.Lower), Num(s.Estimate.Upper), s.Estimate.Count))
            .Prepend("method,metric,score,mean,ci_low,ci_high,images"));
        Write("scores.csv", (from s in Scores
                             from summary in s.Choice.Metric.Summaries
                             from i in Enumerable.Range(0, Count)
                             let v = s.Scores.Values[summary.Key][i]
                             where !double.IsNaN(v)
                             select $"{i},{Labels[i]},{Predictions[i]},{s.Choice.Metric.Name},{summary.Key},{Num(v)}")
            .Prepend("image,label,prediction,metric,score,value"));
        foreach (var (choice, scores) in Scores.Where(s => s.Scores.Details.Count > 0))
        {
            var name = choice.Metric.Name;
            Write($"{name}-details.csv", scores.Details.GroupBy(d => d.Key)
                .Select(g => $"{g.Key},{Num(g.Average(d => d.Value))},{g.Count()}").Prepend("key,mean,images"));
            Write($"{name}-details-per-image.csv", scores.Details.Select(d => $"{d.Image},{d.Key},{Num(d.Value)}").Prepend("image,key,value"));
        }
        return written;
    }

    private static string Num(double v) => double.IsNaN(v) ? "" : v.ToString("R", CultureInfo.InvariantCulture);

    public void Dispose() => Maps.Dispose();
}
