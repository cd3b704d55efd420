using System.Globalization;
using Salient.Attribution;
using Salient.Data;
using Salient.Reporting;
using static TorchSharp.torch;

namespace Salient.Evaluation.Metrics;

/// <summary>Settings of the model parameter randomisation test; its random draws follow the study seed.</summary>
public sealed record ModelRandomisationSettings
{
    /// <summary>
    /// Images the test looks at, spread evenly over the explained ones (the correctly classified among
    /// them are scored): each costs one explanation per layer, so a few suffice.
    /// </summary>
    public int Images { get; init; } = 20;
    /// <summary>Similarities are measured after every this many layers (and after the last): 1 = after each layer, as Adebayo et al.; more = fewer explanations.</summary>
    public int Every { get; init; } = 1;
    /// <summary>A method fails the check when its maps of the fully randomised model still correlate with the trained model's above this mean Spearman ρ.</summary>
    public double FailAbove { get; init; } = 0.5;
}

/// <summary>
/// The model parameter randomisation test (Adebayo et al. 2018), cascading: on a copy of the model,
/// layers are re-initialised one at a time from the output backwards (<see cref="ModelRandomisation"/>),
/// and after each step every scored image is explained again and compared with its map of the trained
/// model by Spearman's ρ and SSIM (details "spearman@k", "ssim@k", k = layers randomised). Maps are
/// compared as Quantus' MPRT does: absolute values, divided by their maximum. A map that explains the
/// model should change as the model is destroyed: the summaries are the two similarities after the
/// whole model is random (lower = the method passes the check more clearly).
/// </summary>
public sealed class ModelRandomisationMetric : ExplanationMetric<ModelRandomisationSettings>, IMetricViews
{
    public const string SpearmanKey = "mprt-spearman", SsimKey = "mprt-ssim";

    public override string Name => "mprt";
    public override void CheckModel(Models.SalientModel model) => ModelRandomisation.Layers(model);
    public override string Title => "Model parameter randomisation";
    public override string Description => "Similarity of each map to the same method's map of the model with every layer re-initialised (sanity check of Adebayo et al. 2018), over correctly classified images of an evenly spread subset; lower = the map depends on what the model learned.";
    public override IReadOnlyList<MetricSummary> Summaries { get; } =
    [
        new(SpearmanKey, "MPRT Spearman ρ, whole model randomised", MetricDirection.LowerIsBetter),
        new(SsimKey, "MPRT SSIM, whole model randomised", MetricDirection.LowerIsBetter),
    ];

    protected override void Validate(ModelRandomisationSettings settings)
    {
        if (settings.Images < 1) throw new SalientException($"'mprt.images' must be at least 1, got {settings.Images}.");
        if (settings.Every < 1) throw new SalientException($"'mprt.every' must be at least 1 (measure after every layer), got {settings.Every}.");
        if (!(settings.FailAbove >= -1 && settings.FailAbove <= 1))
            throw new SalientException($"'mprt.failAbove' is a Spearman correlation between −1 and 1, got {settings.FailAbove} (default 0.5).");
    }

    protected override MetricScores Evaluate(MetricInput input, ModelRandomisationSettings settings)
    {
        var method = input.Method ?? throw new ArgumentException("The randomisation test explains the randomised model again: it needs the attribution method.");
        var spearman = Enumerable.Repeat(double.NaN, input.Count).ToArray();
        var ssim = (double[])spearman.Clone();
        var details = new List<MetricDetail>();
        var chosen = input.CorrectIndices(settings.Images);
        if (chosen.Length == 0) return new MetricScores(new Dictionary<string, double[]> { [SpearmanKey] = spearman, [SsimKey] = ssim }, details);

        using var scope = NewDisposeScope();
        using var index = tensor(chosen.Select(i => (long)i).ToArray());
        var images = input.Images.index_select(0, index);
        var targets = input.Labels.index_select(0, index);
        int height = (int)input.Maps!.shape[1], width = (int)input.Maps.shape[2], pixels = height * width;
        var trained = Compared(input.Maps.index_select(0, index), pixels);
        using var copy = ModelRandomisation.Copy(input.Model);
        var layers = ModelRandomisation.Layers(copy);
        using var generator = new Generator(SeededRandom.Derive((ulong)input.Seed, "mprt"));
        for (int k = 1; k <= layers.Count; k++)
        {
            input.Progress?.Report((k - 1.0) / layers.Count);
            ModelRandomisation.Randomise(layers[k - 1], generator);
            if (k % settings.Every != 0 && k != layers.Count) continue;
            using var step = NewDisposeScope();
            var randomised = Compared(SaliencyMap.Reduce(method.Attribute(copy, images, targets)), pixels);
            for (int j = 0; j < chosen.Length; j++)
            {
                double rho = MapSimilarity.Spearman(trained[j], randomised[j]);
                double structure = MapSimilarity.Ssim(trained[j], randomised[j], height, width);
                if (!double.IsNaN(rho)) details.Add(new MetricDetail(chosen[j], $"spearman@{k}", rho));
                details.Add(new MetricDetail(chosen[j], $"ssim@{k}", structure));
                if (k == layers.Count) (spearman[chosen[j]], ssim[chosen[j]]) = (rho, structure);
            }
        }
        input.Progress?.Report(1);
        return new MetricScores(new Dictionary<string, double[]> { [SpearmanKey] = spearman, [SsimKey] = ssim }, details);
    }

    /// <summary>Each map as the test compares it: absolute values divided by their maximum.</summary>
    private static float[][] Compared(Tensor maps, int pixels)
    {
        using var values = maps.detach().to(float32).contiguous();
        var all = values.data<float>().ToArray();
        return Enumerable.Range(0, all.Length / pixels).Select(i => MapSimilarity.NormalisedByMax(all.AsSpan(i * pixels, pixels), absolute: true)).ToArray();
    }

    // One explanation of each chosen image per measured layer.
    protected override double PassesPerImage(ModelRandomisationSettings settings, MetricWorkload workload) =>
        Math.Min(settings.Images, workload.Images) / (double)workload.Images * Math.Ceiling(workload.ModelLayers / (double)settings.Every) * workload.PassesPerExplanation;

    /// <summary>One measure's curve for a model and method: (layers randomised, mean similarity), by layer count.</summary>
    private static (double[] Layers, double[] Similarity) Curve(MetricViewInput input, string model, string method, string measure)
    {
        var prefix = measure + "@";
        var points = input.Details.Where(d => d.Model == model && d.Method == method && d.Key.StartsWith(prefix))
            .Select(d => (K: double.Parse(d.Key[prefix.Length..], CultureInfo.InvariantCulture), d.Mean)).OrderBy(p => p.K).ToList();
        return (points.Select(p => p.K).ToArray(), points.Select(p => p.Mean).ToArray());
    }

    public IEnumerable<ReportTable> Tables(MetricViewInput input)
    {
        var threshold = (input.Settings as ModelRandomisationSettings ?? new()).FailAbove;
        foreach (var method in input.Methods)
        {
            var curves = input.Models.Select(m => (Model: m, Rho: Curve(input, m, method, "spearman"), Ssim: Curve(input, m, method, "ssim")))
                .Where(c => c.Ssim.Layers.Length > 0).ToList();
            if (curves.Count == 0) continue;
            var ks = curves.SelectMany(c => c.Ssim.Layers).Distinct().Order().ToArray();
            string Cell((double[] Layers, double[] Similarity) curve, double k) =>
                Array.IndexOf(curve.Layers, k) is var i && i >= 0 ? ReportNumbers.Plain(curve.Similarity[i], 3) : "–";
            string Check((double[] Layers, double[] Similarity) rho) =>
                rho.Layers.Length == 0 || rho.Layers[^1] != ks[^1] ? "–" : rho.Similarity[^1] > threshold ? "fails" : "passes";
            var rows = new List<string[]>();
            foreach (var c in curves)
            {
                rows.Add([c.Model, "Spearman ρ", .. ks.Select(k => Cell(c.Rho, k)), Check(c.Rho)]);
                rows.Add([c.Model, "SSIM", .. ks.Select(k => Cell(c.Ssim, k)), ""]);
            }
            yield return new ReportTable($"mprt-{method}", $"{method.ToUpperInvariant()}: model parameter randomisation test",
                "Similarity between each map of the trained model and the same method's map after re-initialising the last k layers " +
                $"(columns: k, from the output backwards; the last column = the whole model), mean over the scored images. A method fails the check when " +
                $"Spearman's ρ with the whole model randomised stays above {threshold.ToString(CultureInfo.InvariantCulture)} (setting 'mprt.failAbove'): its maps do not depend on what the model learned.",
                ["model", "similarity", .. ks.Select(k => $"k={k:0}"), "check"], rows);
        }
    }

    public IEnumerable<LinePlot> Plots(MetricViewInput input)
    {
        foreach (var method in input.Methods)
            foreach (var (measure, label) in new[] { ("spearman", "Spearman ρ"), ("ssim", "SSIM") })
            {
                var series = input.Models.Select(m => (Name: m, Curve: Curve(input, m, method, measure))).Where(s => s.Curve.Layers.Length > 0)
                    .Select(s => (s.Name, s.Curve.Layers, s.Curve.Similarity)).ToList();
                if (series.Count == 0) continue;
                yield return new LinePlot(measure == "spearman" ? $"mprt-{method}" : $"mprt-ssim-{method}",
                    $"Model parameter randomisation, {method.ToUpperInvariant()} maps: {label} to the trained model's map",
                    "layers re-initialised, from the output backwards", label, series, input.Natural, (-0.2, 1.02));
            }
    }
}
