using Salient.Data;
using Salient.Tests.Cli;

namespace Salient.Tests.Data;

[Collection("Console")]
public class DataFoldersTests
{
    [Fact]
    public void DataDirectoryIsSalientDataElseTheUserCacheFolder()
    {
        if (!OperatingSystem.IsLinux()) return; // the XDG rule is Linux's
        using var temp = new TempFolder();
        using var cache = new ScopedEnvironment("XDG_CACHE_HOME", temp["xdg"]);
        using (new ScopedEnvironment(DataFolders.DataVariable, null))
        {
            Assert.Equal(temp["xdg/salient"], DataFolders.DataRoot);
            Assert.Equal(temp["xdg/salient/gtsrb"], DataFolders.Folder("gtsrb"));
        }
        using (new ScopedEnvironment("XDG_CACHE_HOME", null))
        using (new ScopedEnvironment(DataFolders.DataVariable, null))
            Assert.Equal(Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "salient"), DataFolders.DataRoot);
        using (new ScopedEnvironment(DataFolders.DataVariable, temp["mine"]))
            Assert.Equal(temp["mine/lisa"], DataFolders.Folder("lisa"));
    }

    [Fact]
    public void DataGtsrbReadsTheInstalledFolderAndSaysHowToDownloadItWhenMissing()
    {
        using var temp = new TempFolder();
        using var dataRoot = new ScopedEnvironment(DataFolders.DataVariable, temp["data"]);
        var missing = CliRunner.Run("data", "info", "--data", "gtsrb");
        Assert.Equal(2, missing.Exit);
        Assert.Equal($"error: GTSRB is not in {temp["data/gtsrb"]} yet: run 'salient data download gtsrb' to download it (about 280 MB), or set SALIENT_DATA to the folder that holds gtsrb/.",
            missing.Err.Trim());

        // An install (here from hand-fetched stand-in archives) is what --data gtsrb then reads.
        var archives = GtsrbArchiveFixtures.Make(temp);
        Directory.CreateDirectory(temp["archives"]);
        foreach (var (name, bytes) in archives) File.WriteAllBytes(temp[$"archives/{name}"], bytes);
        GtsrbDownload.FromArchives(temp["archives"], DataFolders.Folder("gtsrb"), GtsrbArchiveFixtures.Settings(archives, GtsrbDownloadSettings.OfficialBaseUrl), null);
        var info = CliRunner.Run("data", "info", "--data", "gtsrb");
        Assert.Equal(0, info.Exit);
        Assert.Contains($"GTSRB at {temp["data/gtsrb"]}: 12 training images, 4 official test images", info.Err);
    }

    [Fact]
    public void DownloadCommandReportsAFailureInOneSentence()
    {
        using var temp = new TempFolder();
        int port = LoopbackHttpServer.RefusingPort();
        var (exit, _, err) = CliRunner.Run("data", "download", "gtsrb", "--into", temp["g"], "--base-url", $"http://127.0.0.1:{port}/");
        Assert.Equal(2, exit);
        var line = Assert.Single(err.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith($"error: Cannot reach 127.0.0.1:{port} to download GTSRB-Training_fixed.zip (Connection refused)", line);
        Assert.False(Directory.Exists(temp["g"]));

        (exit, _, err) = CliRunner.Run("data", "download", "gtsrb", "--into", temp["g"], "--base-url", "ftp://example.org/");
        Assert.Equal(2, exit);
        Assert.Equal("error: The download address 'ftp://example.org/' is not an http(s) URL; pass one with --base-url (default https://sid.erda.dk/public/archives/daaeac0d7ce1152aea9b61d9f1e19370/).", err.Trim());

        (exit, _, err) = CliRunner.Run("data", "download", "gtsrb", "--into", temp["g"], "--from-archives", temp.Path);
        Assert.Equal(2, exit);
        Assert.Equal($"error: '{temp.Path}' lacks GTSRB-Training_fixed.zip, GTSRB_Final_Test_Images.zip, GTSRB_Final_Test_GT.zip; download them from {GtsrbDownloadSettings.OfficialBaseUrl} into that folder.", err.Trim());

        (exit, _, err) = CliRunner.Run("data", "download", "gtsrb", "--into", temp["g"], "--from-archives", temp.Path, "--training-set", "final");
        Assert.Equal(2, exit);
        Assert.StartsWith($"error: '{temp.Path}' lacks GTSRB_Final_Training_Images.zip, GTSRB_Final_Test_Images.zip", err.Trim());
    }
}
