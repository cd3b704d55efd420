using Salient.Data;
using static TorchSharp.torch;

namespace Salient.Tests.Data;

public class SyntheticDataTests
{
    [Fact]
    public void SyntheticSplitIsSeededBalancedAndMasked()
    {
        var settings = new DataSettings { SyntheticClasses = 5, SyntheticTrainImages = 20, SyntheticTestImages = 10 };
        using var a = DataSource.Open(settings);
        using var b = DataSource.Open(settings);
        Assert.True(a.Train.Images.equal(b.Train.Images).all().item<bool>());
        Assert.False(a.Train.Images.narrow(0, 0, 10).equal(a.Test.Images).all().item<bool>());
        Assert.All(a.Train.ClassCounts(), n => Assert.Equal(4, n));
        Assert.Equal([20L, 32, 32], a.Train.Masks!.shape);
        Assert.True(a.Train.Masks.sum().item<float>() > 0);
        Assert.InRange(a.Train.Images.min().item<float>(), 0f, 1f);
        Assert.InRange(a.Train.Images.max().item<float>(), 0f, 1f);
        using var c = DataSource.Open(settings with { Load = new LoadOptions { Seed = 1 } });
        Assert.False(a.Train.Images.equal(c.Train.Images).all().item<bool>());
    }

    [Fact]
    public void SyntheticSignsRoundTripThroughTheGtsrbLayout()
    {
        using var temp = new TempFolder();
        using var data = DataSource.GenerateSynthetic(12, 3, new SyntheticSignOptions { Classes = 4 }, "t");
        Gtsrb.WriteOfficialLayout(data, temp.Path);
        var entries = Gtsrb.OfficialTrainingEntries(temp["Final_Training/Images"]);
        using var read = ImageSet.Load(entries, Gtsrb.ClassNames, new LoadOptions(), temp.Path);
        // The reader orders by class folder; match each read image to its written source by label order.
        var order = Enumerable.Range(0, 12).OrderBy(i => data.Labels[i]).ThenBy(i => i).ToArray();
        using var expected = data.Subset(order);
        Assert.Equal(expected.Labels, read.Labels);
        // 8-bit files: within half a grey level of the float image.
        Assert.True((read.Images - expected.Images).abs().max().item<float>() <= 0.5f / 255f + 1e-6f);
    }
}
