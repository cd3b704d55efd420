using Salient.Data;
using static Salient.Tests.Data.LoopbackHttpServer;

namespace Salient.Tests.Data;

public class GtsrbDownloadTests
{
    private const string TrainingZip = "GTSRB-Training_fixed.zip";

    /// <summary>Nothing at or beside the target that a reader could take for an installed data set.</summary>
    private static void AssertNothingLooksComplete(string target)
    {
        Assert.False(Directory.Exists(target), $"{target} exists");
        Assert.False(Gtsrb.Recognises(target));
        Assert.False(Directory.Exists(target + ".unpacking"));
    }

    /// <summary>The installed folder reads as GTSRB with the fixture's classes, colours and official test labels.</summary>
    private static void AssertInstalled(string target)
    {
        using var split = Gtsrb.Load(target, new LoadOptions());
        Assert.Equal(GtsrbArchiveFixtures.Classes * GtsrbArchiveFixtures.Tracks * GtsrbArchiveFixtures.Frames, split.Train.Count);
        Assert.Equal(GtsrbArchiveFixtures.TestClasses.Select(c => (long)c), split.Test.Labels);
        for (int i = 0; i < split.Train.Count; i++)
            Assert.Equal(Fixtures.ClassColour((int)split.Train.Labels[i]).G / 255f, split.Train.Images[i, 1, 4, 4].item<float>());
        Assert.StartsWith("Final_Training/Images/00000/", split.Train.Sources[0]);
    }

    [Theory]
    [InlineData("torchvision")]
    [InlineData("final")]
    public void GoodDownloadInstallsTheOfficialLayout(string trainingSet)
    {
        using var temp = new TempFolder();
        var archives = GtsrbArchiveFixtures.Make(temp, trainingSet);
        var trainingZip = GtsrbDownloadSettings.TrainingSets[trainingSet][0].FileName;
        using var server = new LoopbackHttpServer(archives);
        var target = temp["data/gtsrb"];
        var progress = new List<DataProgress>();
        var settings = GtsrbArchiveFixtures.Settings(archives, server.BaseUrl, trainingSet);
        var result = GtsrbDownload.Download(target, settings, new SyncProgress<DataProgress>(progress.Add));

        Assert.False(result.AlreadyPresent);
        Assert.Equal($"GTSRB is in {target}: 12 training images of 3 classes, 4 test images with ground truth.", result.Description);
        AssertInstalled(target);
        Assert.Equal([$"/files/{trainingZip}", "/files/GTSRB_Final_Test_Images.zip", "/files/GTSRB_Final_Test_GT.zip"], server.Requests.Select(r => r.Path));
        Assert.All(server.Requests, r => Assert.Null(r.Range));
        Assert.False(Directory.Exists(target + ".download")); // the archives go once the data set is in place
        // Progress ends at the archive's size for each download.
        Assert.Equal(archives[trainingZip].Length, progress.Last(p => p.Step == $"downloading {trainingZip}").Bytes);
        Assert.Equal(archives[trainingZip].Length, progress.Last(p => p.Step == $"downloading {trainingZip}").TotalBytes);

        // A second run finds it and fetches nothing.
        var again = GtsrbDownload.Download(target, settings, null);
        Assert.True(again.AlreadyPresent);
        Assert.Equal(3, server.Requests.Count);
    }

    [Fact]
    public void ChecksumMismatchIsAClearErrorAndLeavesNothingThatLooksComplete()
    {
        using var temp = new TempFolder();
        var archives = GtsrbArchiveFixtures.Make(temp);
        using var server = new LoopbackHttpServer(archives);
        var target = temp["gtsrb"];
        // The last archive fails its check after the first two passed theirs.
        var settings = GtsrbArchiveFixtures.Settings(archives, server.BaseUrl);
        var wrong = GtsrbArchiveFixtures.Md5Of("something else"u8.ToArray());
        settings = settings with { Archives = settings.Archives.Select(a => a.FileName == "GTSRB_Final_Test_GT.zip" ? a with { Md5 = wrong } : a).ToList() };

        var e = Assert.Throws<SalientException>(() => GtsrbDownload.Download(target, settings, null));
        Assert.Equal($"GTSRB_Final_Test_GT.zip downloaded from {server.BaseUrl}GTSRB_Final_Test_GT.zip has MD5 {GtsrbArchiveFixtures.Md5Of(archives["GTSRB_Final_Test_GT.zip"])} but {wrong} was expected, so it was deleted; "
            + "run the same command again to download it afresh, or, if the mismatch repeats, fetch GTSRB-Training_fixed.zip, GTSRB_Final_Test_Images.zip, GTSRB_Final_Test_GT.zip from "
            + $"{server.BaseUrl} by hand into a folder and run 'salient data download gtsrb --from-archives FOLDER'.", e.Message);
        AssertNothingLooksComplete(target);
        Assert.Equal(["GTSRB-Training_fixed.zip", "GTSRB_Final_Test_Images.zip"], Directory.GetFiles(target + ".download").Select(Path.GetFileName).Order(StringComparer.Ordinal));
        var open = Assert.Throws<SalientException>(() => DataSource.Open(new DataSettings { Source = target }));
        Assert.Contains("does not exist", open.Message);

        // The verified archives are kept: the next run fetches only the one that failed.
        GtsrbDownload.Download(target, GtsrbArchiveFixtures.Settings(archives, server.BaseUrl), null);
        AssertInstalled(target);
        Assert.Equal(4, server.Requests.Count);
        Assert.Equal("/files/GTSRB_Final_Test_GT.zip", server.Requests[^1].Path);
    }

    [Fact]
    public void TransferCutHalfWayIsResumedWithARangeRequestForTheRest()
    {
        using var temp = new TempFolder();
        var archives = GtsrbArchiveFixtures.Make(temp);
        int size = archives[TrainingZip].Length, half = size / 2;
        using var server = new LoopbackHttpServer(archives)
        {
            Answer = (n, r) => r.Path.EndsWith(TrainingZip) && n == 0 ? new Reply(CutAfter: half) : Reply.Serve,
        };
        var target = temp["gtsrb"];
        GtsrbDownload.Download(target, GtsrbArchiveFixtures.Settings(archives, server.BaseUrl), null);

        var training = server.Requests.Where(r => r.Path.EndsWith(TrainingZip)).ToList();
        Assert.Equal(2, training.Count);
        Assert.Equal((null, half), (training[0].Range, training[0].BodyBytesSent));
        Assert.Equal(($"bytes={half}-", size - half), (training[1].Range, training[1].BodyBytesSent));
        AssertInstalled(target); // the joined halves passed the MD5 check and unpack
    }

    [Fact]
    public void StoppedDownloadResumesInTheNextRun()
    {
        using var temp = new TempFolder();
        var archives = GtsrbArchiveFixtures.Make(temp);
        int size = archives[TrainingZip].Length, half = size / 2;
        bool serverTrouble = true;
        using var server = new LoopbackHttpServer(archives)
        {
            // The transfer breaks half-way and the server then fails: this run cannot finish.
            Answer = (n, r) => !serverTrouble ? Reply.Serve : n == 0 ? new Reply(CutAfter: half) : new Reply(Status: 503),
        };
        var target = temp["gtsrb"];
        var settings = GtsrbArchiveFixtures.Settings(archives, server.BaseUrl);
        var e = Assert.Throws<SalientException>(() => GtsrbDownload.Download(target, settings, null));
        Assert.StartsWith($"{server.BaseUrl}{TrainingZip} answered 503 Test Status; try again later (the download resumes where it stopped)", e.Message);
        AssertNothingLooksComplete(target);
        Assert.Equal(half, new FileInfo(Path.Combine(target + ".download", TrainingZip + ".part")).Length);

        serverTrouble = false;
        int before = server.Requests.Count;
        GtsrbDownload.Download(target, settings, null);
        var resumed = server.Requests[before];
        Assert.Equal(($"/files/{TrainingZip}", $"bytes={half}-", (long)(size - half)), (resumed.Path, resumed.Range, resumed.BodyBytesSent));
        AssertInstalled(target);
    }

    [Fact]
    public void NotFoundNamesTheAddressAndTheWayAround()
    {
        using var temp = new TempFolder();
        var archives = GtsrbArchiveFixtures.Make(temp);
        using var server = new LoopbackHttpServer(archives)
        {
            Answer = (_, r) => r.Path.EndsWith("GTSRB_Final_Test_Images.zip") ? new Reply(Status: 404) : Reply.Serve,
        };
        var target = temp["gtsrb"];
        var e = Assert.Throws<SalientException>(() => GtsrbDownload.Download(target, GtsrbArchiveFixtures.Settings(archives, server.BaseUrl), null));
        Assert.StartsWith($"{server.BaseUrl}GTSRB_Final_Test_Images.zip answered 404 Not Found: GTSRB_Final_Test_Images.zip is not there; check the download address, or fetch", e.Message);
        Assert.EndsWith("run 'salient data download gtsrb --from-archives FOLDER'.", e.Message);
        AssertNothingLooksComplete(target);
    }

    [Fact]
    public void RefusedConnectionNamesTheHostAndTheWayAround()
    {
        using var temp = new TempFolder();
        var archives = GtsrbArchiveFixtures.Make(temp);
        int port = RefusingPort();
        var target = temp["gtsrb"];
        var e = Assert.Throws<SalientException>(() => GtsrbDownload.Download(target, GtsrbArchiveFixtures.Settings(archives, $"http://127.0.0.1:{port}/gtsrb"), null));
        Assert.StartsWith($"Cannot reach 127.0.0.1:{port} to download {TrainingZip} (Connection refused); check the network connection and proxy settings, or fetch", e.Message);
        Assert.Contains("--from-archives FOLDER", e.Message);
        AssertNothingLooksComplete(target);
    }

    [Fact]
    public void ArchivesFetchedByHandAreCheckedAndInstalledWithoutNetwork()
    {
        using var temp = new TempFolder();
        var archives = GtsrbArchiveFixtures.Make(temp);
        // Any attempt to use the network would be refused.
        var settings = GtsrbArchiveFixtures.Settings(archives, $"http://127.0.0.1:{RefusingPort()}/");
        var folder = temp["by-hand"];
        Directory.CreateDirectory(folder);
        foreach (var (name, bytes) in archives.Where(a => a.Key != "GTSRB_Final_Test_GT.zip")) File.WriteAllBytes(Path.Combine(folder, name), bytes);
        var target = temp["gtsrb"];

        var absent = Assert.Throws<SalientException>(() => GtsrbDownload.FromArchives(folder, target, settings, null));
        Assert.Equal($"'{folder}' lacks GTSRB_Final_Test_GT.zip; download it from {settings.BaseUrl} into that folder.", absent.Message);

        var truncated = archives["GTSRB_Final_Test_GT.zip"][..^10];
        File.WriteAllBytes(Path.Combine(folder, "GTSRB_Final_Test_GT.zip"), truncated);
        var bad = Assert.Throws<SalientException>(() => GtsrbDownload.FromArchives(folder, target, settings, null));
        Assert.Equal($"'{Path.Combine(folder, "GTSRB_Final_Test_GT.zip")}' has MD5 {GtsrbArchiveFixtures.Md5Of(truncated)} but {settings.Archives[2].Md5} was expected: "
            + $"it is incomplete or not the official file; download it again from {settings.BaseUrl}.", bad.Message);
        AssertNothingLooksComplete(target);

        File.WriteAllBytes(Path.Combine(folder, "GTSRB_Final_Test_GT.zip"), archives["GTSRB_Final_Test_GT.zip"]);
        var result = GtsrbDownload.FromArchives(folder, target, settings, null);
        Assert.StartsWith($"GTSRB is in {target}: 12 training images", result.Description);
        AssertInstalled(target);
        Assert.Equal(3, Directory.GetFiles(folder).Length); // the user's archives stay
    }

    [Fact]
    public void ArchiveOfAnotherLayoutFailsBeforeAnythingLooksComplete()
    {
        using var temp = new TempFolder();
        var archives = GtsrbArchiveFixtures.Make(temp);
        // A well-formed zip with the right checksum (as far as the settings know) but without GTSRB/Training/.
        archives[TrainingZip] = GtsrbArchiveFixtures.Zip(new Dictionary<string, byte[]> { ["Train/0/a.png"] = [1, 2, 3] });
        using var server = new LoopbackHttpServer(archives);
        var target = temp["gtsrb"];
        var e = Assert.Throws<SalientException>(() => GtsrbDownload.Download(target, GtsrbArchiveFixtures.Settings(archives, server.BaseUrl), null));
        Assert.Equal($"{Path.Combine(target + ".download", TrainingZip)} holds nothing at 'GTSRB/Training/', so it is not the archive expected; fetch {TrainingZip} again from its official source.", e.Message);
        AssertNothingLooksComplete(target);
    }

    [Fact]
    public void DamagedTrainingCsvFailsTheCheckAndNothingIsInstalled()
    {
        using var temp = new TempFolder();
        var archives = GtsrbArchiveFixtures.Make(temp);
        // A class folder whose CSV names an image the archive lacks.
        archives[TrainingZip] = GtsrbArchiveFixtures.Zip(new Dictionary<string, byte[]>
        {
            ["GTSRB/Training/00000/GT-00000.csv"] = System.Text.Encoding.ASCII.GetBytes($"{Gtsrb.OfficialHeader}\n00000_00000.ppm;30;31;2;2;27;28;0\n"),
        });
        using var server = new LoopbackHttpServer(archives);
        var target = temp["gtsrb"];
        var e = Assert.Throws<SalientException>(() => GtsrbDownload.Download(target, GtsrbArchiveFixtures.Settings(archives, server.BaseUrl), null));
        Assert.EndsWith("GT-00000.csv' line 2 names '00000_00000.ppm', which the archives do not hold; an archive is damaged: fetch them again.", e.Message);
        AssertNothingLooksComplete(target);
    }
}
