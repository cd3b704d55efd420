using Salient.Reporting;

namespace Salient.Evaluation.Metrics;

/// <summary>The mean of one detail key for one model and method: over the images, then over the seeds.</summary>
public readonly record struct DetailMean(string Model, string? Method, string Key, double Mean);

/// <summary>
/// What a metric's own report views get: the models and methods in report order, its detail means, and
/// the settings it ran with (a view may judge by them, e.g. a sanity check's pass threshold).
/// </summary>
public sealed record MetricViewInput(IReadOnlyList<string> Models, IReadOnlyList<string> Methods, IReadOnlyList<DetailMean> Details, string Natural, object? Settings = null);

/// <summary>A metric with details (curve points, layers) shows them in tables and plots of its own.</summary>
public interface IMetricViews
{
    IEnumerable<ReportTable> Tables(MetricViewInput input);
    IEnumerable<LinePlot> Plots(MetricViewInput input);
}
