namespace Salient.Data;

/// <summary>
/// SplitMix64: a tiny, fully specified generator, so shuffles and splits are identical on every
/// machine and runtime (System.Random's algorithm is not guaranteed across versions).
/// </summary>
public sealed class SeededRandom(ulong seed)
{
    private ulong state = seed;

    public ulong NextULong()
    {
        ulong z = state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>Uniform in [0, n), without modulo bias worth noticing for n ≪ 2^64.</summary>
    public int NextInt(int n) => (int)(NextULong() % (ulong)n);

    public double NextDouble() => (NextULong() >> 11) * (1.0 / (1UL << 53));

    public void Shuffle<T>(IList<T> items)
    {
        for (int i = items.Count - 1; i > 0; i--)
        {
            int j = NextInt(i + 1);
            (items[i], items[j]) = (items[j], items[i]);
        }
    }

    /// <summary>Seeds torch's global generator (weight init, dropout, PGD starts) from a sub-stream of <paramref name="seed"/>.</summary>
    public static void SeedTorch(ulong seed, string purpose) =>
        TorchSharp.torch.random.manual_seed((long)(Derive(seed, purpose) >> 1));

    /// <summary>A seed for a sub-stream, so adding draws in one place does not shift another.</summary>
    public static ulong Derive(ulong seed, string purpose)
    {
        ulong h = seed ^ 0xCBF29CE484222325UL;
        foreach (char c in purpose) h = (h ^ c) * 0x100000001B3UL;
        return new SeededRandom(h).NextULong();
    }
}
