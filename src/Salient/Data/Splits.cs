using static TorchSharp.torch;

namespace Salient.Data;

public static class Splits
{
    /// <summary>
    /// Seeded, stratified split that never cuts a group (a physical sign's track): per class, whole
    /// groups in shuffled order go to test until it holds <paramref name="testFraction"/> of that
    /// class's images, keeping at least one group for training.
    /// </summary>
    public static (int[] Train, int[] Test) ByGroup(SignDataset data, double testFraction, ulong seed) =>
        ByGroup(data.Labels, data.Groups, data.ClassNames.Count, testFraction, seed);

    /// <summary>As above, from each image's label and group alone (before any image is decoded).</summary>
    public static (int[] Train, int[] Test) ByGroup(IReadOnlyList<long> labels, IReadOnlyList<string> groups, int classes, double testFraction, ulong seed)
    {
        if (testFraction <= 0 || testFraction >= 1)
            throw new SalientException($"The test fraction must lie strictly between 0 and 1, got {testFraction}.");
        var train = new List<int>();
        var test = new List<int>();
        var rng = new SeededRandom(SeededRandom.Derive(seed, "split-by-group"));
        var byClass = Enumerable.Range(0, labels.Count).ToLookup(i => labels[i]);
        foreach (var cls in Enumerable.Range(0, classes))
        {
            var classGroups = byClass[cls].GroupBy(i => groups[i]).OrderBy(g => g.Key, StringComparer.Ordinal).Select(g => g.ToList()).ToList();
            if (classGroups.Count == 0) continue;
            rng.Shuffle(classGroups);
            int total = classGroups.Sum(g => g.Count);
            int taken = 0;
            for (int gi = 0; gi < classGroups.Count; gi++)
            {
                bool lastForTrain = gi == classGroups.Count - 1 && taken > 0;
                if (taken < testFraction * total && !lastForTrain && classGroups.Count > 1)
                {
                    test.AddRange(classGroups[gi]);
                    taken += classGroups[gi].Count;
                }
                else train.AddRange(classGroups[gi]);
            }
        }
        train.Sort();
        test.Sort();
        return (train.ToArray(), test.ToArray());
    }

    /// <summary>Per-channel mean and standard deviation of a (training) set, for the model's normalisation.</summary>
    public static (float[] Mean, float[] Std) ChannelStatistics(SignDataset data)
    {
        using var scope = NewDisposeScope();
        var perChannel = data.Images.transpose(0, 1).reshape(3, -1).to(ScalarType.Float64);
        var mean = perChannel.mean([1]);
        var std = perChannel.std(1, unbiased: false);
        return (mean.to(ScalarType.Float32).data<float>().ToArray(), std.to(ScalarType.Float32).data<float>().ToArray());
    }
}

/// <summary>Mini-batches of indices, reshuffled every epoch from (seed, epoch) so a resumed run sees the same order.</summary>
public sealed class Batcher(int count, int batchSize, ulong seed, bool shuffle = true, bool dropLast = false)
{
    public int BatchesPerEpoch => dropLast ? count / batchSize : (count + batchSize - 1) / batchSize;

    public IEnumerable<long[]> Epoch(int epoch)
    {
        var order = Enumerable.Range(0, count).ToArray();
        if (shuffle) new SeededRandom(SeededRandom.Derive(seed, $"epoch-{epoch}")).Shuffle(order);
        for (int start = 0; start < count; start += batchSize)
        {
            int n = Math.Min(batchSize, count - start);
            if (dropLast && n < batchSize) yield break;
            yield return order.AsSpan(start, n).ToArray().Select(i => (long)i).ToArray();
        }
    }
}
