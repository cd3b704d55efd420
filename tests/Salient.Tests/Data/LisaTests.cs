using Salient.Data;
using SixLabors.ImageSharp.PixelFormats;

namespace Salient.Tests.Data;

public class LisaTests
{
    private static string WriteLisa(TempFolder temp, IReadOnlyList<string> tags)
    {
        // One 100×80 frame per sign: grey scene with a coloured box whose colour encodes the row.
        var lines = new List<string> { Lisa.Header };
        for (int i = 0; i < tags.Count; i++)
        {
            var colour = new Rgb24((byte)(5 * i), 100, 200);
            Fixtures.Image(temp[$"aiua/frame{i:D3}.png"], 100, 80, (x, y) => x is >= 30 and <= 59 && y is >= 20 and <= 49 ? colour : new Rgb24(128, 128, 128));
            lines.Add($"aiua/frame{i:D3}.png;{tags[i]};30;20;59;49;0,0;vid0/x.avi;{i};0;{i}");
        }
        File.WriteAllLines(temp[Lisa.AnnotationFile], lines);
        return temp.Path;
    }

    [Fact]
    public void ClassesAreNumberedByFirstAppearanceAndBoxesCropped()
    {
        using var temp = new TempFolder();
        var tags = new[] { "yield", "stop", "yield", "merge", "stop", "yield", "yield", "yield", "yield", "yield", "yield", "yield" };
        using var split = Lisa.Load(WriteLisa(temp, tags), new LoadOptions());
        Assert.Equal(["yield", "stop", "merge"], split.ClassNames);
        // 8 yields → ⌊0.16·8⌋ = 1 to test (the first); 2 stops and 1 merge → none.
        Assert.Equal(["aiua/frame000.png"], split.Test.Sources);
        Assert.Equal(11, split.Train.Count);
        // The crop holds only the sign's colour: no grey scene pixels.
        var first = split.Train.Images[0];
        Assert.Equal(100 / 255f, first[1].min().item<float>(), 3);
        Assert.Equal(100 / 255f, first[1].max().item<float>(), 3);
    }

    [Fact]
    public void PaperSubsetMergesSpeedLimitsAndDropsTheRest()
    {
        using var temp = new TempFolder();
        var tags = new[] { "speedLimit25", "speedLimit35", "stop", "speedLimitUrdbl", "keepRight", "speedLimit65", "turnRight" };
        using var split = Lisa.Load(WriteLisa(temp, tags), new LoadOptions { LisaPaperClasses = true });
        Assert.Equal(Lisa.PaperClasses, split.ClassNames);
        var all = split.Train.Labels.Concat(split.Test.Labels).Order().ToArray();
        Assert.Equal([0L, 1, 1, 13], all); // stop, speedLimit ×2, turnRight
    }

    [Fact]
    public void FirstSixteenPercentOfEachClassGoToTest()
    {
        long[] labels = [.. Enumerable.Repeat(0L, 25), .. Enumerable.Repeat(1L, 7), .. Enumerable.Repeat(0L, 25)];
        var (train, test) = Lisa.FirstShareOfEachClass(labels, 2, Lisa.TestShare);
        // ⌊0.16·50⌋ = 8 of class 0 (its first 8 rows), ⌊0.16·7⌋ = 1 of class 1 (row 25).
        Assert.Equal([0, 1, 2, 3, 4, 5, 6, 7, 25], test);
        Assert.Equal(labels.Length - 9, train.Length);
    }

    [Fact]
    public void MissingAnnotationColumnIsNamed()
    {
        using var temp = new TempFolder();
        File.WriteAllLines(temp[Lisa.AnnotationFile], ["Filename;Tag", "a.png;stop"]);
        var e = Assert.Throws<SalientException>(() => Lisa.Load(temp.Path, new LoadOptions()));
        Assert.Contains("'Annotation tag'", e.Message);
        Assert.Contains(Lisa.AnnotationFile, e.Message);
    }
}
