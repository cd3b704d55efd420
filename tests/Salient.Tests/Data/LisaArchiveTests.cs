using Salient.Data;
using Salient.Tests.Cli;
using SixLabors.ImageSharp.PixelFormats;

namespace Salient.Tests.Data;

[Collection("Console")]
public class LisaArchiveTests
{
    private const string Top = "signDatabasePublicFramesOnly/";

    /// <summary>
    /// A LISA-like zip: everything under one top folder, allAnnotations.csv beside the scene folders
    /// it names, a per-folder annotation file deeper down, and a deeper decoy allAnnotations.csv.
    /// Sign i is a 30×30 box of colour (5i, 100, 200) in a grey 100×80 scene.
    /// </summary>
    private static string LisaZip(TempFolder temp, string[] tags, bool dropLastImage = false)
    {
        var entries = new Dictionary<string, byte[]>();
        var lines = new List<string> { Lisa.Header };
        for (int i = 0; i < tags.Length; i++)
        {
            var rel = $"aiua120214-0/frameAnnotations-DataLog02142012_external_camera.avi_annotations/{tags[i]}_{i}.avi_image0.png";
            var png = temp[$"png/{i}.png"];
            var colour = new Rgb24((byte)(5 * i), 100, 200);
            Fixtures.Image(png, 100, 80, (x, y) => x is >= 30 and <= 59 && y is >= 20 and <= 49 ? colour : new Rgb24(128, 128, 128));
            if (!(dropLastImage && i == tags.Length - 1)) entries[Top + rel] = File.ReadAllBytes(png);
            lines.Add($"{rel};{tags[i]};30;20;59;49;0,0;aiua120214-0/x.avi;{i};0;{i}");
        }
        entries[Top + Lisa.AnnotationFile] = System.Text.Encoding.ASCII.GetBytes(string.Join("\n", lines) + "\n");
        entries[Top + "aiua120214-0/frameAnnotations-DataLog02142012_external_camera.avi_annotations/frameAnnotations.csv"] = "Filename;Annotation tag\n"u8.ToArray();
        entries[Top + "tools/old/" + Lisa.AnnotationFile] = "not LISA's header\n"u8.ToArray();
        var path = temp["signDatabasePublicFramesOnly.zip"];
        File.WriteAllBytes(path, GtsrbArchiveFixtures.Zip(entries));
        return path;
    }

    private static readonly string[] Tags = ["stop", "yield", "stop", "pedestrianCrossing", "stop", "stop", "stop", "stop"];

    [Fact]
    public void ArchiveIsUnpackedFromTheFolderOfItsAnnotationFileAndReads()
    {
        using var temp = new TempFolder();
        var zip = LisaZip(temp, Tags);
        var target = temp["data/lisa"];
        var result = LisaArchive.Install(zip, target, null);
        Assert.Equal($"LISA is in {target}: 8 signs of 3 annotation tags in 8 images.", result.Description);
        Assert.True(File.Exists(Path.Combine(target, Lisa.AnnotationFile)));
        Assert.False(Directory.Exists(Path.Combine(target, "signDatabasePublicFramesOnly")));

        using var split = DataSource.Open(new DataSettings { Source = target });
        Assert.Equal(["stop", "yield", "pedestrianCrossing"], split.ClassNames);
        // 6 stops → ⌊0.16·6⌋ = 0 to test; every sign trains, each cropped to its colour.
        Assert.Equal(8, split.Train.Count);
        Assert.Equal(5 * 3 / 255f, split.Train.Images[3, 0].max().item<float>(), 4);
        Assert.Equal(100 / 255f, split.Train.Images[3, 1].min().item<float>(), 4);
    }

    [Fact]
    public void ImageMissingFromTheArchiveIsNamedBeforeUnpackingAndNothingIsLeft()
    {
        using var temp = new TempFolder();
        var zip = LisaZip(temp, Tags, dropLastImage: true);
        var target = temp["lisa"];
        var e = Assert.Throws<SalientException>(() => LisaArchive.Install(zip, target, null));
        Assert.Equal($"The archive's {Lisa.AnnotationFile} names 'aiua120214-0/frameAnnotations-DataLog02142012_external_camera.avi_annotations/stop_7.avi_image0.png', "
            + $"which '{zip}' does not hold; the archive is incomplete: fetch it again.", e.Message);
        Assert.False(Directory.Exists(target));
        Assert.False(Directory.Exists(target + ".unpacking"));
    }

    [Fact]
    public void FileThatIsNotTheLisaArchiveIsRefused()
    {
        using var temp = new TempFolder();
        File.WriteAllText(temp["lisa.zip"], "not a zip");
        var e = Assert.Throws<SalientException>(() => LisaArchive.Install(temp["lisa.zip"], temp["lisa"], null));
        Assert.StartsWith($"'{temp["lisa.zip"]}' is not a readable zip archive", e.Message);

        File.WriteAllBytes(temp["other.zip"], GtsrbArchiveFixtures.Zip(new Dictionary<string, byte[]> { ["readme.txt"] = [65] }));
        e = Assert.Throws<SalientException>(() => LisaArchive.Install(temp["other.zip"], temp["lisa"], null));
        Assert.Equal($"'{temp["other.zip"]}' holds no {Lisa.AnnotationFile}, so it is not the LISA archive; pass signDatabasePublicFramesOnly.zip as its authors hand it out.", e.Message);
        Assert.False(Directory.Exists(temp["lisa"]));
    }

    [Fact]
    public void CommandInstallsIntoTheDataDirectoryWhereDataLisaFindsIt()
    {
        using var temp = new TempFolder();
        using var dataRoot = new ScopedEnvironment(DataFolders.DataVariable, temp["data"]);
        var zip = LisaZip(temp, Tags);

        var missing = CliRunner.Run("data", "info", "--data", "lisa");
        Assert.Equal(2, missing.Exit);
        Assert.StartsWith($"error: LISA is not in {temp["data/lisa"]} yet: download signDatabasePublicFramesOnly.zip from its authors and run 'salient data download lisa --from-archive FILE'", missing.Err);

        var (exit, output, _) = CliRunner.Run("data", "download", "lisa", "--from-archive", zip);
        Assert.Equal(0, exit);
        Assert.Contains($"LISA is in {temp["data/lisa"]}: 8 signs of 3 annotation tags in 8 images.", output);
        Assert.Contains("Use it with --data lisa.", output);
        var info = CliRunner.Run("data", "info", "--data", "lisa");
        Assert.Equal(0, info.Exit);
        Assert.Contains($"LISA at {temp["data/lisa"]}: 3 classes, 8 training / 0 test signs", info.Err);
    }
}
