namespace Salient.Evaluation.Metrics;

/// <summary>The paper's eq. 12, ‖∂f_c(x)/∂x‖₂ per image for its true class: a property of the model, not of a method.</summary>
public sealed class GradientNormMetric : ExplanationMetric<NoSettings>
{
    public override string Name => "grad-norm";
    public override string Title => "Gradient norm";
    public override string Description => "‖∂f_c/∂x‖₂ of the true-class logit in model space, over all explained images; lower = a smoother model whose maps swing less.";
    public override MetricScope Scope => MetricScope.Model;
    public override IReadOnlyList<MetricSummary> Summaries { get; } = [new("grad-norm", "Gradient norm", MetricDirection.LowerIsBetter)];

    protected override MetricScores Evaluate(MetricInput input, NoSettings settings) =>
        MetricScores.Of("grad-norm", GradientNorm.PerImage(input.Model, input.Images, input.Labels));

    protected override double PassesPerImage(NoSettings settings, MetricWorkload workload) => 1;
}
