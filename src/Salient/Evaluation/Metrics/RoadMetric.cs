using System.Globalization;
using Salient.Reporting;

namespace Salient.Evaluation.Metrics;

/// <summary>The protocol's ROAD settings (SPEC.md §5); the seed comes from the study.</summary>
public sealed record RoadSettings
{
    /// <summary>p: MoRF removes the top p% of pixels, LeRF keeps the top p% and removes the rest.</summary>
    public double[] Percentages { get; init; } = [10, 20, 30, 40, 50, 60, 70, 80, 90];
    /// <summary>Standard deviation of the noise added to imputed pixels (pixel space).</summary>
    public double Noise { get; init; } = NoisyLinearImputation.DefaultNoiseStd;

    public RoadOptions Options(long seed) => new() { Percentages = Percentages, NoiseStd = Noise, Seed = seed };
}

/// <summary>
/// ROAD (Rong et al. 2022) on the correctly classified images: per image, whether it is still
/// classified correctly after MoRF and LeRF removal at each percentage (details "morf@p", "lerf@p"),
/// and the two areas as the image's share of percentages still correct.
/// </summary>
public sealed class RoadMetric : ExplanationMetric<RoadSettings>, IMetricViews
{
    public const string MorfArea = "morf-area", LerfArea = "lerf-area";

    public override string Name => "road";
    public override string Title => "ROAD";
    public override string Description => "Accuracy after imputing the most relevant pixels (MoRF: a faster drop, smaller area = more faithful) or all but the most relevant (LeRF: a larger area = more faithful).";
    public override IReadOnlyList<MetricSummary> Summaries { get; } =
    [
        new(MorfArea, "ROAD MoRF area", MetricDirection.LowerIsBetter),
        new(LerfArea, "ROAD LeRF area", MetricDirection.HigherIsBetter),
    ];

    public static string DetailKey(RemovalOrder order, double percentage) =>
        $"{(order == RemovalOrder.MoRF ? "morf" : "lerf")}@{percentage.ToString("R", CultureInfo.InvariantCulture)}";

    protected override void Validate(RoadSettings settings) => settings.Options(0).Validate();

    protected override MetricScores Evaluate(MetricInput input, RoadSettings settings)
    {
        var correct = input.CorrectIndices();
        var morf = Enumerable.Repeat(double.NaN, input.Count).ToArray();
        var lerf = (double[])morf.Clone();
        var details = new List<MetricDetail>();
        if (correct.Length > 0)
        {
            var result = Road.Evaluate(input.Model, input.Images, input.Labels, input.Maps!, settings.Options(input.Seed));
            int p = result.Percentages.Length;
            for (int k = 0; k < result.EvaluatedImages; k++)
            {
                int image = result.EvaluatedImageIndices[k];
                double m = 0, l = 0;
                for (int j = 0; j < p; j++)
                {
                    bool mc = result.MorfCorrect[k, j], lc = result.LerfCorrect[k, j];
                    m += mc ? 1 : 0;
                    l += lc ? 1 : 0;
                    details.Add(new MetricDetail(image, DetailKey(RemovalOrder.MoRF, result.Percentages[j]), mc ? 1 : 0));
                    details.Add(new MetricDetail(image, DetailKey(RemovalOrder.LeRF, result.Percentages[j]), lc ? 1 : 0));
                }
                morf[image] = m / p;
                lerf[image] = l / p;
            }
        }
        return new MetricScores(new Dictionary<string, double[]> { [MorfArea] = morf, [LerfArea] = lerf }, details);
    }

    // Two forward passes (MoRF and LeRF) per percentage, plus the imputation, about as costly as a pass.
    protected override double PassesPerImage(RoadSettings settings, MetricWorkload workload) => settings.Percentages.Length * 2 * 0.6;

    private const string AxisNote = "Columns: the share of pixels removed and imputed. MoRF removes the most relevant first; " +
        "LeRF removes the least relevant first (at a setting p it keeps the top p% and removes the other 100 − p%).";

    /// <summary>The curve of one order as (share of pixels removed, accuracy) points, by increasing share.</summary>
    private static (double[] Removed, double[] Accuracy) Curve(MetricViewInput input, string model, string method, RemovalOrder order)
    {
        var prefix = order == RemovalOrder.MoRF ? "morf@" : "lerf@";
        var points = input.Details.Where(d => d.Model == model && d.Method == method && d.Key.StartsWith(prefix))
            .Select(d => (P: double.Parse(d.Key[prefix.Length..], CultureInfo.InvariantCulture), d.Mean))
            .Select(d => (Removed: order == RemovalOrder.MoRF ? d.P : 100 - d.P, d.Mean)).OrderBy(d => d.Removed).ToList();
        return (points.Select(p => p.Removed).ToArray(), points.Select(p => p.Mean).ToArray());
    }

    public IEnumerable<ReportTable> Tables(MetricViewInput input)
    {
        foreach (var order in new[] { RemovalOrder.MoRF, RemovalOrder.LeRF })
        {
            var curves = (from m in input.Models from x in input.Methods
                          let c = Curve(input, m, x, order) where c.Removed.Length > 0 select (Model: m, Method: x, Curve: c)).ToList();
            if (curves.Count == 0) continue;
            var removed = curves.SelectMany(c => c.Curve.Removed).Distinct().Order().ToArray();
            var name = order == RemovalOrder.MoRF ? "morf" : "lerf";
            yield return new ReportTable($"road-{name}", $"ROAD {name.ToUpperInvariant()}: accuracy after removing pixels, {(order == RemovalOrder.MoRF ? "most" : "least")} relevant first",
                AxisNote + (order == RemovalOrder.MoRF ? " A faster drop (smaller area) = a more faithful map." : " A slower drop (larger area) = a more faithful map."),
                ["model", "method", .. removed.Select(r => $"{r:0}% removed"), "area"],
                curves.Select(c => new[] { c.Model, c.Method.ToUpperInvariant() }
                    .Concat(removed.Select(r => Array.IndexOf(c.Curve.Removed, r) is var i && i >= 0 ? ReportNumbers.Plain(c.Curve.Accuracy[i], 3) : "–"))
                    .Append(ReportNumbers.Plain(c.Curve.Accuracy.Average(), 3)).ToArray()).ToList());
        }
    }

    public IEnumerable<LinePlot> Plots(MetricViewInput input)
    {
        foreach (var method in input.Methods)
            foreach (var order in new[] { RemovalOrder.MoRF, RemovalOrder.LeRF })
            {
                var series = input.Models.Select(m => (Name: m, Curve: Curve(input, m, method, order))).Where(s => s.Curve.Removed.Length > 0)
                    .Select(s => (s.Name, s.Curve.Removed, s.Curve.Accuracy)).ToList();
                if (series.Count == 0) continue;
                var name = order == RemovalOrder.MoRF ? "morf" : "lerf";
                yield return new LinePlot($"road-{name}-{method}", $"ROAD {name.ToUpperInvariant()}, {method.ToUpperInvariant()} maps",
                    order == RemovalOrder.MoRF ? "% of pixels removed, most relevant first" : "% of pixels removed, least relevant first",
                    "accuracy", series, input.Natural, (0, 1.02));
            }
    }
}
