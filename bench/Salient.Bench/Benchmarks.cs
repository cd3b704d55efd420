using System.Diagnostics;
using static TorchSharp.torch;

namespace Salient.Bench;

/// <summary>The registry of measurements, in the order the JSON prints them.</summary>
public static partial class Benchmarks
{
    public static IEnumerable<(string Key, Func<double> Measure)> All =>
    [
        ("vg_per_image_s", () => AttributionBench.PerImage("vg")),
        ("ig50_per_image_s", () => AttributionBench.PerImage("ig")),
        ("sg50_per_image_s", () => AttributionBench.PerImage("sg")),
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
