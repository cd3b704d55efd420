using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Salient.Attribution;
using Salient.Evaluation.Metrics;
using Salient.Workflows;

namespace Salient.Cli;

/// <summary>The explanation methods' options, mapped onto <see cref="AttributionSettings"/>; defaults come from the settings records.</summary>
public sealed class MethodOptions
{
    public MethodOptions(int sgSamplesDefault)
    {
        SgSamples = new("--sg-samples") { Description = $"SG noise samples (figures: {SmoothGradSettings.SamplesForFigures}, metrics: {SmoothGradSettings.SamplesForMetrics})", DefaultValueFactory = _ => sgSamplesDefault };
        IgBaseline.AcceptOnlyFromAmong("black", "model-zero");
        IgRule.AcceptOnlyFromAmong(Enum.GetValues<QuadratureRule>().Select(RuleName).ToArray());
    }

    /// <summary>The rule's option name: GaussLegendre → gauss-legendre (a study's JSON spells the enum).</summary>
    private static string RuleName(QuadratureRule rule) => JsonNamingPolicy.KebabCaseLower.ConvertName(rule.ToString());

    public Option<int> IgSteps { get; } = new("--ig-steps") { Description = "IG integration steps", DefaultValueFactory = _ => new IntegratedGradientsSettings().Steps };
    public Option<string> IgRule { get; } = new("--ig-rule") { Description = "IG quadrature rule: gauss-legendre, or riemann-left/-right/-middle/-trapezoid as Captum's", DefaultValueFactory = _ => RuleName(new IntegratedGradientsSettings().Rule) };
    public Option<string> IgBaseline { get; } = new("--ig-baseline") { Description = "IG baseline: black (pixel 0) or model-zero (the mean colour)", DefaultValueFactory = _ => "black" };
    public Option<int> SgSamples { get; }
    public Option<double> SgSigma { get; } = new("--sg-sigma") { Description = "SG noise σ in model space", DefaultValueFactory = _ => new SmoothGradSettings().Sigma };
    public Option<long> Seed { get; } = new("--seed") { Description = "Seed of SG noise and of the metrics' random choices", DefaultValueFactory = _ => 0 };

    public void AddTo(Command command)
    {
        foreach (var o in new Option[] { IgSteps, IgRule, IgBaseline, SgSamples, SgSigma, Seed }) command.Add(o);
    }

    public AttributionSettings Settings(ParseResult parse) => new()
    {
        IntegratedGradients = new IntegratedGradientsSettings
        {
            Steps = parse.GetValue(IgSteps),
            Rule = Enum.GetValues<QuadratureRule>().Single(r => RuleName(r) == parse.GetValue(IgRule)),
            Baseline = parse.GetValue(IgBaseline) == "black" ? BaselineKind.Black : BaselineKind.ModelSpaceZero,
        },
        SmoothGrad = new SmoothGradSettings { Samples = parse.GetValue(SgSamples), Sigma = parse.GetValue(SgSigma), Seed = parse.GetValue(Seed) },
    };
}

/// <summary>Which metrics to compute (<c>--metrics</c>) and overrides of their settings (<c>--set metric.setting=value</c>).</summary>
public sealed class MetricOptions
{
    public Option<string[]> Metrics { get; } = new("--metrics")
    {
        Description = $"Metrics to compute (default: all): {string.Join(", ", ExplanationMetrics.Names)}",
        AllowMultipleArgumentsPerToken = true,
    };
    public Option<string[]> Set { get; } = new("--set")
    {
        Description = "Change a metric setting, e.g. --set road.percentages=10,50,90 --set road.noise=0 (names as in a study's settings JSON)",
        AllowMultipleArgumentsPerToken = true,
    };

    public void AddTo(Command command)
    {
        command.Add(Metrics);
        command.Add(Set);
    }

    public IReadOnlyList<MetricChoice> Read(ParseResult parse)
    {
        var names = parse.GetValue(Metrics) is { Length: > 0 } given
            ? given.SelectMany(n => n.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)).ToList()
            : ExplanationMetrics.Names.ToList();
        var settings = names.Distinct().ToDictionary(n => n, n => ExplanationMetrics.WriteSettings(ExplanationMetrics.Get(n).DefaultSettings()));
        foreach (var assignment in parse.GetValue(Set) ?? [])
        {
            int dot = assignment.IndexOf('.'), equals = assignment.IndexOf('=');
            if (dot < 1 || equals < dot + 2)
                throw new SalientException($"--set '{assignment}' is not of the form metric.setting=value; write e.g. --set road.percentages=10,50,90.");
            var (metric, key, value) = (assignment[..dot], assignment[(dot + 1)..equals], assignment[(equals + 1)..]);
            if (!settings.TryGetValue(metric, out var node))
                throw new SalientException($"--set '{assignment}' names metric '{metric}', which is not computed here; add it to --metrics (known: {string.Join(", ", ExplanationMetrics.Names)}).");
            var property = node.Select(p => p.Key).FirstOrDefault(k => string.Equals(k, key, StringComparison.OrdinalIgnoreCase))
                ?? throw new SalientException($"--set '{assignment}': metric '{metric}' has no setting '{key}'; its settings are: {(node.Count == 0 ? "none" : string.Join(", ", node.Select(p => p.Key)))}.");
            node[property] = ParseValue(value);
        }
        return settings.Select(kv =>
        {
            var metric = ExplanationMetrics.Get(kv.Key);
            return new MetricChoice(metric, ExplanationMetrics.ReadSettings(metric, kv.Value));
        }).ToList();
    }

    // JSON when it is JSON (numbers, true, [..]); a comma-separated list becomes an array; anything else a string.
    private static JsonNode? ParseValue(string text)
    {
        try { return JsonNode.Parse(text); }
        catch (JsonException) { }
        if (text.Contains(','))
            return new JsonArray(text.Split(',', StringSplitOptions.TrimEntries).Select(ParseValue).ToArray());
        return JsonValue.Create(text);
    }
}
