using System.Diagnostics;
using Salient.Evaluation;
using static TorchSharp.torch;

namespace Salient.Bench;

public static partial class Benchmarks
{
    private const int RoadBenchImages = 64;

    /// <summary>Wall seconds per image to impute 3×32×32 images at 10…90% MoRF removal, 64 images with random maps in one call, as ROAD runs it.</summary>
    public static double RoadImputeNinePercentagesPerImage()
    {
        var (pixels, removed, generator) = RoadImputationWorkload();
        using (pixels) using (removed) using (generator)
            return Median(() => NoisyLinearImputation.Impute(pixels, removed, NoisyLinearImputation.DefaultNoiseStd, generator)) / RoadBenchImages;
    }

    /// <summary>
    /// The same work in processor seconds summed over threads: on a shared machine wall time depends on
    /// the neighbours' load, processor time much less.
    /// </summary>
    public static double RoadImputeNinePercentagesCpuPerImage()
    {
        var (pixels, removed, generator) = RoadImputationWorkload();
        using (pixels) using (removed) using (generator)
        {
            NoisyLinearImputation.Impute(pixels, removed, NoisyLinearImputation.DefaultNoiseStd, generator).Dispose();
            const int repeats = 5;
            var before = Process.GetCurrentProcess().TotalProcessorTime;
            for (int r = 0; r < repeats; r++)
                NoisyLinearImputation.Impute(pixels, removed, NoisyLinearImputation.DefaultNoiseStd, generator).Dispose();
            return (Process.GetCurrentProcess().TotalProcessorTime - before).TotalSeconds / repeats / RoadBenchImages;
        }
    }

    private static (Tensor Pixels, Tensor Removed, Generator Generator) RoadImputationWorkload()
    {
        double[] percentages = [10, 20, 30, 40, 50, 60, 70, 80, 90];
        var generator = new Generator(1, CPU);
        using var scope = NewDisposeScope();
        var images = rand([RoadBenchImages, 3, 32, 32], generator: generator);
        var maps = rand([RoadBenchImages, 32, 32], generator: generator);
        var removed = Road.RemovalMasks(maps, percentages, RemovalOrder.MoRF, generator).flatten(0, 1);
        var pixels = images.unsqueeze(1).expand(-1, percentages.Length, -1, -1, -1).flatten(0, 1);
        return (pixels.MoveToOuterDisposeScope(), removed.MoveToOuterDisposeScope(), generator);
    }
}
