namespace Salient.Data;

/// <summary>Where the GTSRB archives come from and what they must be.</summary>
public sealed record GtsrbDownloadSettings
{
    /// <summary>The archive folder of the GTSRB authors (Ruhr-Universität Bochum, hosted by ERDA), as torchvision uses it.</summary>
    public const string OfficialBaseUrl = "https://sid.erda.dk/public/archives/daaeac0d7ce1152aea9b61d9f1e19370/";

    /// <summary>Each archive is fetched from this address + its file name.</summary>
    public string BaseUrl { get; init; } = OfficialBaseUrl;

    /// <summary>The archives, their MD5s and how each unpacks into the official layout <see cref="Gtsrb"/> reads.</summary>
    public IReadOnlyList<DataArchive> Archives { get; init; } = TorchvisionArchives;

    private static readonly DataArchive TestImages =
        new("GTSRB_Final_Test_Images.zip", "c7e4e6327067d32654124b0fe9e82185", [new("GTSRB/Final_Test/Images/", "Final_Test/Images/")]);

    private static readonly DataArchive TestGroundTruth =
        new("GTSRB_Final_Test_GT.zip", "fe31e9c9270bbcd7b84b7f21a9d9d9e5", [new("GT-final_test.csv", "GT-final_test.csv")]);

    /// <summary>
    /// The three files and checksums torchvision's GTSRB class uses. Its training archive is the
    /// training set of GTSRB's online competition (GTSRB/Training/); its class folders are unpacked
    /// to Final_Training/Images/, the official layout, so one reader serves every copy.
    /// </summary>
    public static readonly IReadOnlyList<DataArchive> TorchvisionArchives =
    [
        new("GTSRB-Training_fixed.zip", "513f3c79a4c5141765e10e952eaa2478", [new("GTSRB/Training/", "Final_Training/Images/")]),
        TestImages,
        TestGroundTruth,
    ];

    /// <summary>
    /// The same test archives with GTSRB's final training set (GTSRB/Final_Training/Images/: the online
    /// competition's training and test images together), which GTSRB's authors ask results to be trained on.
    /// </summary>
    public static readonly IReadOnlyList<DataArchive> FinalTrainingArchives =
    [
        new("GTSRB_Final_Training_Images.zip", "f33fd80ac59bff73c82d25ab499e03a3", [new("GTSRB/Final_Training/Images/", "Final_Training/Images/")]),
        TestImages,
        TestGroundTruth,
    ];

    /// <summary>The archive sets by the name <c>--training-set</c> takes.</summary>
    public static readonly IReadOnlyDictionary<string, IReadOnlyList<DataArchive>> TrainingSets = new Dictionary<string, IReadOnlyList<DataArchive>>
    {
        ["torchvision"] = TorchvisionArchives,
        ["final"] = FinalTrainingArchives,
    };
}

/// <summary>
/// Installs GTSRB (training images, test images and the test ground truth) into a folder in the
/// official layout: downloaded, resumably, from <see cref="GtsrbDownloadSettings.BaseUrl"/>, or from
/// archives fetched by hand. Archives are checked against their MD5 before anything is unpacked.
/// </summary>
public static class GtsrbDownload
{
    /// <summary>Downloads the archives into <c>TARGET.download/</c> (kept until the install succeeds, so a rerun resumes), then installs.</summary>
    public static InstallResult Download(string target, GtsrbDownloadSettings settings, IProgress<DataProgress>? progress)
    {
        if (DataInstall.IsPresent(target)) return AlreadyThere(target);
        if (!Uri.TryCreate(settings.BaseUrl.EndsWith('/') ? settings.BaseUrl : settings.BaseUrl + "/", UriKind.Absolute, out var baseUrl) || baseUrl.Scheme is not ("http" or "https"))
            throw new SalientException($"The download address '{settings.BaseUrl}' is not an http(s) URL; pass one with --base-url (default {GtsrbDownloadSettings.OfficialBaseUrl}).");
        var downloads = Path.GetFullPath(target).TrimEnd(Path.DirectorySeparatorChar) + ".download";
        Directory.CreateDirectory(downloads);
        var remedy = $"fetch {string.Join(", ", settings.Archives.Select(a => a.FileName))} from {baseUrl} by hand into a folder and run 'salient data download gtsrb --from-archives FOLDER'";
        using (var client = HttpDownload.CreateClient())
            foreach (var archive in settings.Archives)
                HttpDownload.Fetch(client, new Uri(baseUrl, archive.FileName), Path.Combine(downloads, archive.FileName), archive.Md5, remedy, progress);
        var result = Install(downloads, target, settings, progress);
        Directory.Delete(downloads, recursive: true);
        return result;
    }

    /// <summary>Installs from archives fetched by hand into <paramref name="archiveFolder"/>: the same checks, no network.</summary>
    public static InstallResult FromArchives(string archiveFolder, string target, GtsrbDownloadSettings settings, IProgress<DataProgress>? progress)
    {
        if (DataInstall.IsPresent(target)) return AlreadyThere(target);
        if (!Directory.Exists(archiveFolder))
            throw new SalientException($"--from-archives '{archiveFolder}' is not a folder; pass the folder that holds the GTSRB archives.");
        var absent = settings.Archives.Where(a => !File.Exists(Path.Combine(archiveFolder, a.FileName))).ToList();
        if (absent.Count > 0)
            throw new SalientException($"'{archiveFolder}' lacks {string.Join(", ", absent.Select(a => a.FileName))}; download {(absent.Count == 1 ? "it" : "them")} from {settings.BaseUrl} into that folder.");
        foreach (var archive in settings.Archives)
        {
            var path = Path.Combine(archiveFolder, archive.FileName);
            var actual = Md5.Of(path, $"checking {archive.FileName}", progress);
            if (actual != archive.Md5)
                throw new SalientException($"'{path}' has MD5 {actual} but {archive.Md5} was expected: it is incomplete or not the official file; download it again from {settings.BaseUrl}.");
        }
        return Install(archiveFolder, target, settings, progress);
    }

    private static InstallResult Install(string archiveFolder, string target, GtsrbDownloadSettings settings, IProgress<DataProgress>? progress) =>
        DataInstall.Install(target,
            folder =>
            {
                foreach (var archive in settings.Archives)
                    DataInstall.Unpack(Path.Combine(archiveFolder, archive.FileName), archive.Unpack, folder, progress);
            },
            folder => Check(folder, target));

    /// <summary>Every annotation file reads and every image it names was unpacked; returns the description.</summary>
    private static string Check(string folder, string target)
    {
        var train = Gtsrb.OfficialTrainingEntries(Path.Combine(folder, "Final_Training", "Images"));
        var test = Gtsrb.OfficialTestEntries(folder)
            ?? throw new SalientException("The GTSRB archives gave no test images with ground truth (Final_Test/Images and GT-final_test.csv); fetch GTSRB_Final_Test_Images.zip and GTSRB_Final_Test_GT.zip again.");
        if (train.Concat(test).FirstOrDefault(e => !File.Exists(e.FilePath)) is { } missing)
            throw new SalientException($"{missing.Where} names '{Path.GetFileName(missing.FilePath)}', which the archives do not hold; an archive is damaged: fetch them again.");
        int classes = train.Select(e => e.ClassId).Distinct().Count();
        return $"GTSRB is in {Path.GetFullPath(target)}: {train.Count} training images of {classes} classes, {test.Count} test images with ground truth.";
    }

    private static InstallResult AlreadyThere(string target) =>
        new(Path.GetFullPath(target), $"GTSRB is already in {Path.GetFullPath(target)}; delete that folder to install it again.", AlreadyPresent: true);
}
