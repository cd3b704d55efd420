using Salient.Data;

namespace Salient.Tests.Data;

public class RoiMaskTests
{
    /// <summary>The rows and columns of a size×size mask that are set, as (first, last) of each axis, or null when none is.</summary>
    private static (int Top, int Bottom, int Left, int Right)? Extent(float[] mask, int size)
    {
        var set = Enumerable.Range(0, mask.Length).Where(i => mask[i] == 1).ToList();
        if (set.Count == 0) return null;
        var (rows, cols) = (set.Select(i => i / size).ToList(), set.Select(i => i % size).ToList());
        Assert.Equal((rows.Max() - rows.Min() + 1) * (cols.Max() - cols.Min() + 1), set.Count); // a filled rectangle
        return (rows.Min(), rows.Max(), cols.Min(), cols.Max());
    }

    [Fact]
    public void TheBoxScalesWithTheResizeAndAPixelCountsWhenHalfOfItIsInside()
    {
        // A 64×48 image resized to 32×32: x scales by ½, y by ⅔. Columns [15, 48) → [7.5, 24): pixel 7 is half
        // inside and counts; rows [13, 36) → [8.67, 24): row 8 is a third inside and does not.
        var mask = new RoiBox(15, 13, 47, 35, 64, 48).MaskAt(32);
        Assert.Equal((9, 23, 7, 23), Extent(mask, 32));
        Assert.Null(Extent(new RoiBox(15, 13, 47, 35).MaskAt(32), 32)); // image size unknown: no mask
    }

    [Fact]
    public void GtsrbImagesGetTheirRoiAsMaskUnlessCroppedToIt()
    {
        using var temp = new TempFolder();
        var dir = temp["GTSRB/Final_Training/Images/00000"];
        Fixtures.SolidImage(Path.Combine(dir, "00000_00000.ppm"), 64, 48, Fixtures.ClassColour(0));
        Fixtures.SolidImage(Path.Combine(dir, "00001_00000.ppm"), 40, 40, Fixtures.ClassColour(0));
        File.WriteAllLines(Path.Combine(dir, "GT-00000.csv"),
            [Gtsrb.OfficialHeader, "00000_00000.ppm;64;48;15;13;47;35;0", "00001_00000.ppm;40;40;5;5;34;34;0"]);
        var entries = Gtsrb.OfficialTrainingEntries(temp["GTSRB/Final_Training/Images"]);

        using var data = ImageSet.Load(entries, Gtsrb.ClassNames, new LoadOptions(), temp["GTSRB"]);
        Assert.Equal([2L, 32, 32], data.Masks!.shape);
        Assert.Equal((9, 23, 7, 23), Extent(data.Masks[0].flatten().data<float>().ToArray(), 32));
        Assert.Equal((4, 27, 4, 27), Extent(data.Masks[1].flatten().data<float>().ToArray(), 32)); // [5, 35) · 0.8 = [4, 28)
        using var subset = data.EvenlySpaced(1);
        Assert.Equal((9, 23, 7, 23), Extent(subset.Masks![0].flatten().data<float>().ToArray(), 32));

        using var cropped = ImageSet.Load(entries, Gtsrb.ClassNames, new LoadOptions { CropToRoi = true }, temp["GTSRB"]);
        Assert.Null(cropped.Masks); // the crop is the box: no place left to point at
    }
}
