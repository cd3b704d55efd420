using Salient.Data;
using SixLabors.ImageSharp.PixelFormats;
using static TorchSharp.torch;

namespace Salient.Tests.Data;

public class GtsrbTests
{
    private static readonly LoadOptions Options = new();

    [Fact]
    public void OfficialLayoutLoadsLabelsFromClassIdAndResizesEverySize()
    {
        using var temp = new TempFolder();
        var root = Fixtures.OfficialGtsrb(temp, classes: 12, tracks: 3, frames: 2);
        using var split = Gtsrb.Load(root, Options);
        Assert.Equal(12 * 3 * 2, split.Train.Count + split.Test.Count);
        Assert.Equal(43, split.ClassNames.Count);
        foreach (var set in new[] { split.Train, split.Test })
        {
            Assert.Equal([set.Count, 3L, 32, 32], set.Images.shape);
            for (int i = 0; i < set.Count; i++)
            {
                // A solid image stays solid through resizing, so its colour tells its class.
                var expected = Fixtures.ClassColour((int)set.Labels[i]);
                var pixel = set.Images[i, TensorIndex.Colon, 5, 7].data<float>().ToArray();
                Assert.Equal(expected.R / 255f, pixel[0], 3);
                Assert.Equal(expected.G / 255f, pixel[1], 3);
                Assert.Equal(expected.B / 255f, pixel[2], 3);
            }
        }
        // Class 10 must not be confused with class 1 or 2 by a string sort of folder names.
        int i10 = Array.IndexOf(split.Train.Labels, 10L);
        Assert.StartsWith("Final_Training/Images/00010/", split.Train.Sources[i10]);
    }

    [Fact]
    public void SplitByTrackNeverPutsOneTrackOnBothSides()
    {
        using var temp = new TempFolder();
        var root = Fixtures.OfficialGtsrb(temp, classes: 3, tracks: 5, frames: 3);
        using var split = Gtsrb.Load(root, Options with { Seed = 7 });
        var trainTracks = split.Train.Groups.ToHashSet();
        Assert.DoesNotContain(split.Test.Groups, trainTracks.Contains);
        Assert.All(Enumerable.Range(0, 3), c => Assert.Contains((long)c, split.Test.Labels));
        // Every class keeps 1 of its 5 tracks for test: 20% of its images.
        Assert.Equal(3 * 3, split.Test.Count);
        using var again = Gtsrb.Load(root, Options with { Seed = 7 });
        Assert.Equal(split.Test.Sources, again.Test.Sources);
    }

    [Fact]
    public void RoiCropKeepsOnlyTheBox()
    {
        using var temp = new TempFolder();
        var dir = temp["G/Final_Training/Images/00003"];
        // Left 20 columns red, the rest blue; the ROI covers only red.
        Fixtures.Image(Path.Combine(dir, "00000_00000.ppm"), 50, 40, (x, _) => x < 20 ? new Rgb24(255, 0, 0) : new Rgb24(0, 0, 255));
        File.WriteAllLines(Path.Combine(dir, "GT-00003.csv"), [Gtsrb.OfficialHeader, "00000_00000.ppm;50;40;2;3;17;35;3"]);
        var entries = Gtsrb.OfficialTrainingEntries(temp["G/Final_Training/Images"]);
        Assert.Equal(new RoiBox(2, 3, 17, 35, 50, 40), entries[0].Roi);
        using var cropped = ImageSet.Load(entries, Gtsrb.ClassNames, Options with { CropToRoi = true }, temp.Path);
        Assert.Equal(0f, cropped.Images[0, 2].max().item<float>());
        Assert.Equal(1f, cropped.Images[0, 0].min().item<float>());
        using var whole = ImageSet.Load(entries, Gtsrb.ClassNames, Options, temp.Path);
        Assert.True(whole.Images[0, 2].max().item<float>() > 0.9f);
        Assert.Equal(new RoiBox(2, 3, 17, 35, 50, 40), whole.Rois[0]);
    }

    [Fact]
    public void RepackagedLayoutTakesLabelsFromTheCsvAndFolderNumbers()
    {
        using var temp = new TempFolder();
        foreach (var c in new[] { 2, 10 })
            for (int t = 0; t < 2; t++)
                Fixtures.SolidImage(temp[$"Train/{c}/{c:D5}_{t:D5}_00000.png"], 30, 30, Fixtures.ClassColour(c));
        Fixtures.SolidImage(temp["Test/00000.png"], 40, 40, Fixtures.ClassColour(10));
        Fixtures.SolidImage(temp["Test/00001.png"], 40, 40, Fixtures.ClassColour(2));
        File.WriteAllLines(temp["Test.csv"], ["Width,Height,Roi.X1,Roi.Y1,Roi.X2,Roi.Y2,ClassId,Path", "40,40,0,0,39,39,10,Test/00000.png", "40,40,0,0,39,39,2,Test/00001.png"]);
        using var split = Gtsrb.Load(temp.Path, Options);
        Assert.Equal([2L, 2, 10, 10], split.Train.Labels);
        Assert.Equal([10L, 2], split.Test.Labels);
        Assert.Equal(["2/00000", "2/00001", "10/00000", "10/00001"], split.Train.Groups);
        Assert.Equal(Fixtures.ClassColour(10).R / 255f, split.Test.Images[0, 0, 0, 0].item<float>(), 3);
    }

    [Fact]
    public void OfficialTestSetIsUsedWhenItsGroundTruthIsPresent()
    {
        using var temp = new TempFolder();
        var root = Fixtures.OfficialGtsrb(temp, classes: 2, tracks: 2, frames: 1);
        Fixtures.SolidImage(Path.Combine(root, "Final_Test/Images/00000.ppm"), 33, 35, Fixtures.ClassColour(1));
        File.WriteAllLines(Path.Combine(root, "GT-final_test.csv"), [Gtsrb.OfficialHeader, "00000.ppm;33;35;5;5;28;30;1"]);
        using var split = Gtsrb.Load(root, Options);
        Assert.Equal(4, split.Train.Count);
        Assert.Equal([1L], split.Test.Labels);
    }

    [Fact]
    public void MissingFolderNamesItAndTheFix()
    {
        var e = Assert.Throws<SalientException>(() => DataSource.Open(new DataSettings { Source = "/nonexistent/gtsrb" }));
        Assert.Contains("/nonexistent/gtsrb", e.Message);
        Assert.Contains("does not exist", e.Message);
    }

    [Fact]
    public void CsvWithoutClassIdColumnNamesTheFileAndTheHeader()
    {
        using var temp = new TempFolder();
        var dir = temp["Final_Training/Images/00000"];
        Fixtures.SolidImage(Path.Combine(dir, "00000_00000.ppm"), 32, 32, Fixtures.ClassColour(0));
        File.WriteAllLines(Path.Combine(dir, "GT-00000.csv"), ["Filename;Width;Height", "00000_00000.ppm;32;32"]);
        var e = Assert.Throws<SalientException>(() => Gtsrb.Load(temp.Path, Options));
        Assert.Contains("GT-00000.csv", e.Message);
        Assert.Contains("'ClassId'", e.Message);
        Assert.Contains(Gtsrb.OfficialHeader, e.Message);
    }

    [Theory]
    [InlineData("missing")]
    [InlineData("corrupt")]
    [InlineData("class")]
    public void BadRowNamesFileAndLine(string fault)
    {
        using var temp = new TempFolder();
        var dir = temp["Final_Training/Images/00001"];
        Fixtures.SolidImage(Path.Combine(dir, "00000_00000.ppm"), 32, 32, Fixtures.ClassColour(1));
        Fixtures.SolidImage(Path.Combine(dir, "00000_00001.ppm"), 32, 32, Fixtures.ClassColour(1));
        string second = "00000_00001.ppm;32;32;0;0;31;31;1";
        if (fault == "missing") second = "00000_00009.ppm;32;32;0;0;31;31;1";
        if (fault == "corrupt") File.WriteAllText(Path.Combine(dir, "00000_00001.ppm"), "P6 this is not an image");
        if (fault == "class") second = "00000_00001.ppm;32;32;0;0;31;31;43";
        File.WriteAllLines(Path.Combine(dir, "GT-00001.csv"), [Gtsrb.OfficialHeader, "00000_00000.ppm;32;32;0;0;31;31;1", second]);
        var e = Assert.Throws<SalientException>(() => Gtsrb.Load(temp.Path, Options));
        Assert.Contains("GT-00001.csv' line 3", e.Message);
        Assert.Contains(fault switch { "missing" => "does not exist", "corrupt" => "corrupt", _ => "class id 43, outside 0…42" }, e.Message);
        Assert.Contains("delete that row", e.Message);
    }
}
