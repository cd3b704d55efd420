using System.Text.RegularExpressions;

namespace Salient.Data;

/// <summary>
/// The German Traffic Sign Recognition Benchmark, in its official layout
/// (<c>Final_Training/Images/000NN/GT-000NN.csv</c>, <c>Final_Test/Images</c> + <c>GT-final_test.csv</c>)
/// or the common re-packaging (<c>Train/&lt;ClassId&gt;/</c>, optional <c>Train.csv</c>, <c>Test.csv</c>).
/// Labels always come from ClassId (or the folder's number), never from folder sort order.
/// </summary>
public static partial class Gtsrb
{
    public static readonly IReadOnlyList<string> ClassNames =
    [
        "Speed limit (20km/h)", "Speed limit (30km/h)", "Speed limit (50km/h)", "Speed limit (60km/h)",
        "Speed limit (70km/h)", "Speed limit (80km/h)", "End of speed limit (80km/h)", "Speed limit (100km/h)",
        "Speed limit (120km/h)", "No passing", "No passing for vehicles over 3.5 t", "Right-of-way at the next intersection",
        "Priority road", "Yield", "Stop", "No vehicles", "Vehicles over 3.5 t prohibited", "No entry",
        "General caution", "Dangerous curve to the left", "Dangerous curve to the right", "Double curve",
        "Bumpy road", "Slippery road", "Road narrows on the right", "Road work", "Traffic signals", "Pedestrians",
        "Children crossing", "Bicycles crossing", "Beware of ice/snow", "Wild animals crossing",
        "End of all speed and passing limits", "Turn right ahead", "Turn left ahead", "Ahead only",
        "Go straight or right", "Go straight or left", "Keep right", "Keep left", "Roundabout mandatory",
        "End of no passing", "End of no passing by vehicles over 3.5 t",
    ];

    public const string OfficialHeader = "Filename;Width;Height;Roi.X1;Roi.Y1;Roi.X2;Roi.Y2;ClassId";
    private const string RepackHeader = "Width,Height,Roi.X1,Roi.Y1,Roi.X2,Roi.Y2,ClassId,Path";

    [GeneratedRegex(@"^\d{5}$")] private static partial Regex ClassFolder();

    /// <summary>True when <paramref name="folder"/> looks like either GTSRB layout.</summary>
    public static bool Recognises(string folder) =>
        FindOfficialTraining(folder) is not null || Directory.Exists(Path.Combine(folder, "Train"));

    /// <summary>Loads training and test data; without an official test set, a seeded split by track.</summary>
    public static DataSplit Load(string folder, LoadOptions options)
    {
        if (!Directory.Exists(folder))
            throw new SalientException($"Data folder '{folder}' does not exist; pass a GTSRB folder (with Final_Training/Images or Train/) or 'synthetic'.");
        List<ImageEntry> trainEntries;
        List<ImageEntry>? testEntries;
        if (FindOfficialTraining(folder) is { } imagesDir)
        {
            trainEntries = OfficialTrainingEntries(imagesDir);
            testEntries = OfficialTestEntries(folder);
        }
        else if (Directory.Exists(Path.Combine(folder, "Train")))
        {
            trainEntries = RepackTrainingEntries(folder);
            var testCsv = Path.Combine(folder, "Test.csv");
            testEntries = File.Exists(testCsv) ? RepackEntries(testCsv, folder) : null;
        }
        else
            throw new SalientException($"'{folder}' has neither Final_Training/Images nor Train/; point --data at the folder that holds GTSRB's training images.");

        if (testEntries is not null)
        {
            var train = ImageSet.Load(trainEntries, ClassNames, options, folder);
            var test = ImageSet.Load(testEntries, ClassNames, options, folder);
            return new DataSplit(train, test, $"GTSRB at {folder}: {train.Count} training images, {test.Count} official test images");
        }
        var (tr, te) = Splits.ByGroup(trainEntries.Select(e => (long)e.ClassId).ToArray(), trainEntries.Select(e => e.Group).ToArray(), ClassNames.Count,
            options.TestFraction, options.Seed);
        var parts = ImageSet.LoadParts(trainEntries, ClassNames, options, folder, tr, te);
        return new DataSplit(parts[0], parts[1],
            $"GTSRB at {folder}: {tr.Length} training / {te.Length} test images, split by track (seed {options.Seed}, no official test set found)");
    }

    private static string? FindOfficialTraining(string folder)
    {
        foreach (var candidate in new[] { Path.Combine(folder, "Final_Training", "Images"), Path.Combine(folder, "Images"), folder })
            if (Directory.Exists(candidate) && Directory.EnumerateDirectories(candidate).Any(d => ClassFolder().IsMatch(Path.GetFileName(d))))
                return candidate;
        return null;
    }

    public static List<ImageEntry> OfficialTrainingEntries(string imagesDir)
    {
        var entries = new List<ImageEntry>();
        foreach (var classDir in Directory.EnumerateDirectories(imagesDir).Where(d => ClassFolder().IsMatch(Path.GetFileName(d))).Order(StringComparer.Ordinal))
        {
            var name = Path.GetFileName(classDir);
            var csv = Path.Combine(classDir, $"GT-{name}.csv");
            if (!File.Exists(csv))
                throw new SalientException($"Class folder '{classDir}' has no GT-{name}.csv; restore it from the GTSRB archive (header '{OfficialHeader}').");
            entries.AddRange(OfficialEntries(csv, classDir));
        }
        if (entries.Count == 0) throw new SalientException($"'{imagesDir}' holds no annotated images; check that the GTSRB archive was unpacked completely.");
        return entries;
    }

    private static IEnumerable<ImageEntry> OfficialEntries(string csvPath, string imageDir)
    {
        var table = CsvTable.Read(csvPath, ';');
        int file = table.Column("Filename", OfficialHeader), cls = table.Column("ClassId", OfficialHeader);
        var roi = RoiColumns(table, OfficialHeader);
        foreach (var row in table.Rows)
        {
            var fileName = table.Field(row, file);
            int classId = table.IntField(row, cls);
            yield return new ImageEntry(Path.Combine(imageDir, fileName), classId, ReadRoi(table, row, roi), GroupOf(classId, fileName), table.Where(row));
        }
    }

    /// <summary>The official test images with their ground truth, or null when either is absent.</summary>
    public static List<ImageEntry>? OfficialTestEntries(string folder)
    {
        var imageDir = Path.Combine(folder, "Final_Test", "Images");
        if (!Directory.Exists(imageDir)) return null;
        var csv = new[] { Path.Combine(imageDir, "GT-final_test.csv"), Path.Combine(folder, "Final_Test", "GT-final_test.csv"), Path.Combine(folder, "GT-final_test.csv") }
            .FirstOrDefault(File.Exists);
        // The archive's own GT-final_test.test.csv has no ClassId; without the separate ground truth there is no test set.
        return csv is null ? null : OfficialEntries(csv, imageDir).ToList();
    }

    private static List<ImageEntry> RepackTrainingEntries(string folder)
    {
        var csv = Path.Combine(folder, "Train.csv");
        if (File.Exists(csv)) return RepackEntries(csv, folder);
        var entries = new List<ImageEntry>();
        var classDirs = Directory.EnumerateDirectories(Path.Combine(folder, "Train")).Select(dir =>
            int.TryParse(Path.GetFileName(dir), out var id) ? (dir, id)
                : throw new SalientException($"Folder '{dir}' is not named by a class id; Train/ must hold one folder per ClassId (0, 1, …, 42)."));
        foreach (var (dir, classId) in classDirs.OrderBy(d => d.id))
        {
            foreach (var file in Directory.EnumerateFiles(dir).Where(IsImageFile).Order(StringComparer.Ordinal))
                entries.Add(new ImageEntry(file, classId, null, GroupOf(classId, Path.GetFileName(file)), $"folder '{dir}'"));
        }
        if (entries.Count == 0) throw new SalientException($"'{Path.Combine(folder, "Train")}' holds no images; check that the archive was unpacked completely.");
        return entries;
    }

    private static List<ImageEntry> RepackEntries(string csvPath, string folder)
    {
        var table = CsvTable.Read(csvPath, ',');
        int path = table.Column("Path", RepackHeader), cls = table.Column("ClassId", RepackHeader);
        var roi = RoiColumns(table, RepackHeader);
        return table.Rows.Select(row =>
        {
            var rel = table.Field(row, path);
            int classId = table.IntField(row, cls);
            return new ImageEntry(Path.Combine(folder, rel), classId, ReadRoi(table, row, roi), GroupOf(classId, Path.GetFileName(rel)), table.Where(row));
        }).ToList();
    }

    // The image's Width and Height (when the CSV has them) place the box in the resized image.
    private static int[]? RoiColumns(CsvTable table, string header) =>
        table.HasColumn("Roi.X1") ? new[] { "Roi.X1", "Roi.Y1", "Roi.X2", "Roi.Y2", "Width", "Height" }.Where(c => c.StartsWith("Roi") || table.HasColumn(c)).Select(c => table.Column(c, header)).ToArray() : null;

    private static RoiBox? ReadRoi(CsvTable table, (int Line, string[] Fields) row, int[]? roi) =>
        roi is null ? null : new RoiBox?(new RoiBox(table.IntField(row, roi[0]), table.IntField(row, roi[1]), table.IntField(row, roi[2]), table.IntField(row, roi[3]),
            roi.Length == 6 ? table.IntField(row, roi[4]) : 0, roi.Length == 6 ? table.IntField(row, roi[5]) : 0));

    /// <summary>
    /// GTSRB names training files TRACK_FRAME (official) or CLASS_TRACK_FRAME (re-packaged); frames
    /// of one track are near-duplicates, so the track is the group. Other names are their own group.
    /// </summary>
    private static string GroupOf(int classId, string fileName)
    {
        var parts = Path.GetFileNameWithoutExtension(fileName).Split('_');
        bool numeric = parts.All(p => p.Length > 0 && p.All(char.IsAsciiDigit));
        return (numeric, parts.Length) switch
        {
            (true, 2) => $"{classId}/{parts[0]}",
            (true, 3) => $"{classId}/{parts[1]}",
            _ => $"{classId}/{fileName}",
        };
    }

    internal static bool IsImageFile(string path) =>
        Path.GetExtension(path).ToLowerInvariant() is ".ppm" or ".png" or ".jpg" or ".jpeg" or ".bmp";

    /// <summary>
    /// Writes a data set in the official training layout (binary PPM + one GT-000NN.csv per class),
    /// each image its own track unless the set's groups say otherwise. Used to hand synthetic signs
    /// to other tools and to exercise this reader on them.
    /// </summary>
    public static void WriteOfficialLayout(SignDataset data, string folder)
    {
        var imagesDir = Path.Combine(folder, "Final_Training", "Images");
        int s = data.ImageSize, per = 3 * s * s;
        var pixels = data.Images.contiguous().data<float>().ToArray();
        var trackIds = data.Groups.Distinct().Select((g, i) => (g, i)).ToDictionary(p => p.g, p => p.i);
        var frameInTrack = new Dictionary<string, int>();
        var rows = new Dictionary<int, List<string>>();
        for (int i = 0; i < data.Count; i++)
        {
            int cls = (int)data.Labels[i];
            int frame = frameInTrack[data.Groups[i]] = frameInTrack.GetValueOrDefault(data.Groups[i], -1) + 1;
            var fileName = $"{trackIds[data.Groups[i]]:D5}_{frame:D5}.ppm";
            var classDir = Path.Combine(imagesDir, $"{cls:D5}");
            ImageFiles.Save(pixels.AsSpan(i * per, per), s, s, Path.Combine(classDir, fileName));
            var roi = data.Rois[i] ?? new RoiBox(0, 0, s - 1, s - 1);
            if (!rows.TryGetValue(cls, out var list)) rows[cls] = list = [];
            list.Add($"{fileName};{s};{s};{roi.X1};{roi.Y1};{roi.X2};{roi.Y2};{cls}");
        }
        foreach (var (cls, list) in rows)
        {
            var csv = Path.Combine(imagesDir, $"{cls:D5}", $"GT-{cls:D5}.csv");
            AtomicFile.WriteAllLines(csv, list.Prepend(OfficialHeader));
        }
    }
}
