namespace Salient.Evaluation.Metrics;

/// <summary>Sparsity of each correctly classified image's map by the Gini index (SPEC.md §5).</summary>
public sealed class GiniMetric : ExplanationMetric<NoSettings>
{
    public override string Name => "gini";
    public override string Title => "Gini index";
    public override string Description => "Sparsity of the map (0 = uniform, → 1 = one pixel), over correctly classified images; higher = sparser.";
    public override IReadOnlyList<MetricSummary> Summaries { get; } = [new("gini", "Gini index", MetricDirection.HigherIsBetter)];

    protected override MetricScores Evaluate(MetricInput input, NoSettings settings)
    {
        var correct = input.CorrectIndices();
        if (correct.Length == 0) return MetricScores.Of("gini", Enumerable.Repeat(double.NaN, input.Count).ToArray());
        using var index = TorchSharp.torch.tensor(correct.Select(i => (long)i).ToArray());
        using var maps = input.Maps!.index_select(0, index);
        return MetricScores.Of("gini", MetricScores.Scatter(input.Count, correct, Gini.PerImage(maps)));
    }

    protected override double PassesPerImage(NoSettings settings, MetricWorkload workload) => 0;
}
