using System.Diagnostics;
using static TorchSharp.torch;

namespace Salient;

/// <summary>
/// The one way the library and its benchmark time work: the median wall time of each run, the runs
/// taken in turn (a, b, c, a, b, c, …) after unmeasured warm-up rounds. This machine's speed drifts by
/// tens of percent over seconds, and what is read is how runs compare, so each is measured in the
/// same moments. Every run executes in its own dispose scope, so tensors it returns are freed.
/// </summary>
public static class InTurnTiming
{
    public static double[] MedianSeconds(IReadOnlyList<Action> runs, int repeats, int warmup)
    {
        if (repeats < 1) throw new ArgumentOutOfRangeException(nameof(repeats));
        var times = runs.Select(_ => new double[repeats]).ToArray();
        for (int r = -warmup; r < repeats; r++)
            for (int i = 0; i < runs.Count; i++)
            {
                using var scope = NewDisposeScope();
                var watch = Stopwatch.StartNew();
                runs[i]();
                if (r >= 0) times[i][r] = watch.Elapsed.TotalSeconds;
            }
        return times.Select(t => t.Order().ElementAt(t.Length / 2)).ToArray();
    }
}
