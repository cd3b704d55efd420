using System.Diagnostics;
using static TorchSharp.torch;

namespace Salient.Bench;

/// <summary>The registry of measurements, in the order the JSON prints them.</summary>
public static partial class Benchmarks
{
    public static IEnumerable<(string Key, Func<double> Measure)> All =>
    [
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
        ("vg_per_image_s", () => AttributionBench.PerImage("vg")),
        ("ig50_per_image_s", () => AttributionBench.PerImage("ig")),
        ("sg50_per_image_s", () => AttributionBench.PerImage("sg")),
        ("export_vgg16_pt_s", InteropBench.ExportPt),
        ("export_vgg16_safetensors_s", InteropBench.ExportSafeTensors),
        ("import_vgg16_pt_s", InteropBench.ImportPt),
        ("import_vgg16_safetensors_s", InteropBench.ImportSafeTensors),
    ];

    /// <summary>Median wall time of <paramref name="repeats"/> runs after <paramref name="warmup"/> unmeasured ones.</summary>
    public static double Median(Action run, int repeats = 5, int warmup = 1)
    {
        for (int i = 0; i < warmup; i++) run();
        var times = new double[repeats];
        for (int i = 0; i < repeats; i++)
        {
            var sw = Stopwatch.StartNew();
            using (NewDisposeScope()) run();
            times[i] = sw.Elapsed.TotalSeconds;
        }
        Array.Sort(times);
        return times[repeats / 2];
    }
}
