using Salient.Data;
using static TorchSharp.torch;

namespace Salient.Tests.Data;

public class SplitsTests
{
    [Fact]
    public void ChannelStatisticsMatchHandComputedValues()
    {
        // Channel 0 holds 0 and 1 (mean 0.5, std 0.5); channel 1 is constant 0.25; channel 2 holds 0.2 and 0.6.
        var images = zeros(2, 3, 1, 1);
        images[0, 0, 0, 0] = tensor(0f); images[1, 0, 0, 0] = tensor(1f);
        images[0, 1, 0, 0] = tensor(0.25f); images[1, 1, 0, 0] = tensor(0.25f);
        images[0, 2, 0, 0] = tensor(0.2f); images[1, 2, 0, 0] = tensor(0.6f);
        using var data = new SignDataset(images, [0, 1], ["a", "b"], ["x", "y"]);
        var (mean, std) = Splits.ChannelStatistics(data);
        Assert.Equal(new[] { 0.5f, 0.25f, 0.4f }, mean.Select(m => MathF.Round(m, 6)));
        Assert.Equal(new[] { 0.5f, 0f, 0.2f }, std.Select(s => MathF.Round(s, 6)));
    }

    [Fact]
    public void BatcherCoversEveryIndexOnceAndIsSeeded()
    {
        var batcher = new Batcher(10, 4, seed: 5);
        var epoch0 = batcher.Epoch(0).ToList();
        Assert.Equal([4, 4, 2], epoch0.Select(b => b.Length));
        Assert.Equal(Enumerable.Range(0, 10).Select(i => (long)i), epoch0.SelectMany(b => b).Order());
        Assert.Equal(epoch0.SelectMany(b => b), new Batcher(10, 4, seed: 5).Epoch(0).SelectMany(b => b));
        Assert.NotEqual(epoch0.SelectMany(b => b), batcher.Epoch(1).SelectMany(b => b));
        Assert.Equal(2, new Batcher(10, 4, 5, dropLast: true).Epoch(0).Count());
    }

    [Fact]
    public void TestFractionOutsideTheOpenIntervalIsRefused()
    {
        using var data = new SignDataset(zeros(2, 3, 2, 2), [0, 1], ["a", "b"], ["x", "y"]);
        var e = Assert.Throws<SalientException>(() => Splits.ByGroup(data, 1.0, 0));
        Assert.Contains("strictly between 0 and 1", e.Message);
    }
}
