using System.IO.Compression;
using System.Security.Cryptography;
using Salient.Data;

namespace Salient.Tests.Data;

/// <summary>
/// Tiny stand-ins for the three GTSRB archives, in their real layouts: training class folders
/// under GTSRB/Training/ (torchvision's archive) or GTSRB/Final_Training/Images/ (the final
/// training set), each with PPM images and GT-000NN.csv; test images and their ClassId-less
/// CSV under GTSRB/Final_Test/Images/, and GT-final_test.csv alone. Class c is a solid
/// <see cref="Fixtures.ClassColour"/> image.
/// </summary>
public static class GtsrbArchiveFixtures
{
    public const int Classes = 3, Tracks = 2, Frames = 2;
    public static readonly int[] TestClasses = [2, 0, 1, 2];

    public static Dictionary<string, byte[]> Make(TempFolder temp, string trainingSet = "torchvision")
    {
        var trainingArchive = GtsrbDownloadSettings.TrainingSets[trainingSet][0];
        var classFolders = trainingArchive.Unpack[0].From;
        var training = new Dictionary<string, byte[]> { ["GTSRB/Readme-Images.txt"] = "not an image"u8.ToArray() };
        for (int c = 0; c < Classes; c++)
        {
            var lines = new List<string> { Gtsrb.OfficialHeader };
            for (int t = 0; t < Tracks; t++)
                for (int f = 0; f < Frames; f++)
                {
                    var name = $"{t:D5}_{f:D5}.ppm";
                    training[$"{classFolders}{c:D5}/{name}"] = Ppm(temp, 30 + f, 31, c);
                    lines.Add($"{name};{30 + f};31;2;2;{27 + f};28;{c}");
                }
            training[$"{classFolders}{c:D5}/GT-{c:D5}.csv"] = Csv(lines);
        }
        var testImages = new Dictionary<string, byte[]>();
        var testLines = new List<string> { "Filename;Width;Height;Roi.X1;Roi.Y1;Roi.X2;Roi.Y2" };
        var truth = new List<string> { Gtsrb.OfficialHeader };
        for (int i = 0; i < TestClasses.Length; i++)
        {
            testImages[$"GTSRB/Final_Test/Images/{i:D5}.ppm"] = Ppm(temp, 40, 36, TestClasses[i]);
            testLines.Add($"{i:D5}.ppm;40;36;5;5;34;30");
            truth.Add($"{i:D5}.ppm;40;36;5;5;34;30;{TestClasses[i]}");
        }
        testImages["GTSRB/Final_Test/Images/GT-final_test.test.csv"] = Csv(testLines);
        return new Dictionary<string, byte[]>
        {
            [trainingArchive.FileName] = Zip(training),
            ["GTSRB_Final_Test_Images.zip"] = Zip(testImages),
            ["GTSRB_Final_Test_GT.zip"] = Zip(new Dictionary<string, byte[]> { ["GT-final_test.csv"] = Csv(truth) }),
        };
    }

    /// <summary>The default settings with these archives' checksums (the real MD5s belong to the real files) and a base URL.</summary>
    public static GtsrbDownloadSettings Settings(IReadOnlyDictionary<string, byte[]> archives, string baseUrl, string trainingSet = "torchvision") => new GtsrbDownloadSettings() with
    {
        BaseUrl = baseUrl,
        Archives = GtsrbDownloadSettings.TrainingSets[trainingSet].Select(a => a with { Md5 = Md5Of(archives[a.FileName]) }).ToList(),
    };

    public static string Md5Of(byte[] bytes) => Convert.ToHexStringLower(MD5.HashData(bytes));

    public static byte[] Zip(IReadOnlyDictionary<string, byte[]> entries)
    {
        using var memory = new MemoryStream();
        using (var zip = new ZipArchive(memory, ZipArchiveMode.Create, leaveOpen: true))
            foreach (var (name, bytes) in entries)
            {
                using var entry = zip.CreateEntry(name).Open();
                entry.Write(bytes);
            }
        return memory.ToArray();
    }

    private static byte[] Ppm(TempFolder temp, int width, int height, int classId)
    {
        var path = temp[$"ppm/{Guid.NewGuid():N}.ppm"];
        Fixtures.SolidImage(path, width, height, Fixtures.ClassColour(classId));
        return File.ReadAllBytes(path);
    }

    private static byte[] Csv(IEnumerable<string> lines) => System.Text.Encoding.ASCII.GetBytes(string.Concat(lines.Select(l => l + "\r\n")));
}
