using System.Diagnostics;
using static TorchSharp.torch;

namespace Salient.Bench;

/// <summary>The registry of measurements, in the order the JSON prints them.</summary>
public static partial class Benchmarks
{
    public static IEnumerable<(string Key, Func<double> Measure)> All =>
    [
        ("conv_peak_gflops", ConvPeakBench.SalientConvPeakGflops),
        ("train_step_b128_s", TrainingBench.TrainStepB128),
        ("train_epoch_gtsrb_s", TrainingBench.TrainEpochGtsrb),
        ("train_epoch_gtsrb_images", TrainingBench.GtsrbTrainingImages),
        ("eval_b128_s", TrainingBench.EvalB128),
        ("road_impute_9pct_per_image_s", RoadImputeNinePercentagesPerImage),
        ("road_impute_9pct_per_image_cpu_s", RoadImputeNinePercentagesCpuPerImage),
        ("pgd40_step_b128_s", AdversarialBench.Pgd40StepB128),
        ("adv_step_pgd7_b128_s", AdversarialBench.Pgd7StepB128),
        ("adv_step_fgsm_rs_b128_s", AdversarialBench.FgsmRsStepB128),
        ("latency_b1_dense_s", PruningBench.DenseLatency),
        ("latency_b1_masked_s", PruningBench.MaskedLatency),
        ("latency_b1_compacted_s", PruningBench.CompactedLatency),
        ("latency_b128_dense_s", PruningBench.DenseB128),
        ("latency_b128_masked_s", PruningBench.MaskedB128),
        ("latency_b128_compacted_s", PruningBench.CompactedB128),
        ("resnet18_compacted_vs_dense_b1", PruningBench.ResNetCompactedVsDenseB1),
        ("resnet18_compacted_vs_dense_b128", PruningBench.ResNetCompactedVsDenseB128),
        ("vg_per_image_s", () => AttributionBench.PerImage("vg")),
        ("ig50_per_image_s", () => AttributionBench.PerImage("ig")),
        ("ig50_masked_per_image_s", () => AttributionBench.PerImage("ig", masked: true)),
        ("sg50_per_image_s", () => AttributionBench.PerImage("sg")),
        ("localisation_per_image_s", MetricsBench.LocalisationPerImage),
        ("mprt_vgg16_per_image_s", MetricsBench.ModelRandomisationVgg16PerImage),
        ("max_sensitivity_per_image_s", MetricsBench.MaxSensitivityPerImage),
        ("export_vgg16_pt_s", InteropBench.ExportPt),
        ("export_vgg16_safetensors_s", InteropBench.ExportSafeTensors),
        ("import_vgg16_pt_s", InteropBench.ImportPt),
        ("import_vgg16_safetensors_s", InteropBench.ImportSafeTensors),
        ("data_load_gtsrb_cold_s", DataBench.ColdLoad),
        ("data_load_gtsrb_s", DataBench.CachedLoad),
    ];

    /// <summary>Ratios the goals are stated in, each from two keys of the same run: (name, numerator, denominator).</summary>
    public static readonly (string Name, string Of, string To)[] Ratios =
    [
        ("masked_vs_dense_b1", "latency_b1_masked_s", "latency_b1_dense_s"),
        ("masked_vs_dense_b128", "latency_b128_masked_s", "latency_b128_dense_s"),
        ("compacted_vs_dense_b1", "latency_b1_compacted_s", "latency_b1_dense_s"),
        ("compacted_vs_dense_b128", "latency_b128_compacted_s", "latency_b128_dense_s"),
        ("ig50_masked_vs_dense", "ig50_masked_per_image_s", "ig50_per_image_s"),
    ];

    /// <summary>Fastest wall time of <paramref name="repeats"/> runs after one unmeasured run.</summary>
    public static double Fastest(Action run, int repeats)
    {
        run();
        double best = double.MaxValue;
        for (int i = 0; i < repeats; i++)
        {
            var sw = Stopwatch.StartNew();
            using (NewDisposeScope()) run();
            best = Math.Min(best, sw.Elapsed.TotalSeconds);
        }
        return best;
    }

    /// <summary>Median wall time of <paramref name="repeats"/> runs after <paramref name="warmup"/> unmeasured ones.</summary>
    public static double Median(Action run, int repeats = 5, int warmup = 1) => InTurnTiming.MedianSeconds([run], repeats, warmup)[0];
}
