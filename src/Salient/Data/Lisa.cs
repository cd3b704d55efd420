namespace Salient.Data;

/// <summary>
/// The LISA US traffic-sign set: <c>allAnnotations.csv</c> lists one sign box per row in a video
/// frame; each box is cropped and resized. Classes are numbered by first appearance in the CSV (as
/// the reference did), or reduced to the paper's 14 classes. Test split: per class, the first 16%
/// of its rows in file order.
/// </summary>
public static class Lisa
{
    public const string AnnotationFile = "allAnnotations.csv";
    public const string Header = "Filename;Annotation tag;Upper left corner X;Upper left corner Y;Lower right corner X;Lower right corner Y;Occluded,On another road;Origin file;Origin frame number;Origin track;Origin track frame number";
    public const double TestShare = 0.16;

    /// <summary>The paper's subset, in its class order; speed limits other than 35 and "urdbl" merge into speedLimit.</summary>
    public static readonly IReadOnlyList<string> PaperClasses =
    [
        "stop", "speedLimit", "pedestrianCrossing", "turnLeft", "slow", "signalAhead", "laneEnds", "school",
        "merge", "yield", "noRightTurn", "noLeftTurn", "roundabout", "turnRight",
    ];

    private static readonly HashSet<string> MergedSpeedLimits =
        ["speedLimit15", "speedLimit25", "speedLimit30", "speedLimit40", "speedLimit45", "speedLimit50", "speedLimit55", "speedLimit65"];

    public static bool Recognises(string folder) => File.Exists(Path.Combine(folder, AnnotationFile));

    /// <summary>The class a tag belongs to in the paper's subset, or null when the paper drops it.</summary>
    public static string? PaperClassOf(string tag) =>
        MergedSpeedLimits.Contains(tag) ? "speedLimit" : PaperClasses.Contains(tag) && tag != "speedLimit" ? tag : null;

    public static DataSplit Load(string folder, LoadOptions options)
    {
        var (entries, classNames) = ReadEntries(folder, options.LisaPaperClasses);
        // Boxes are always cropped: a LISA image is a whole road scene.
        var (train, test) = FirstShareOfEachClass(entries.Select(e => (long)e.ClassId).ToArray(), classNames.Count, TestShare);
        var parts = ImageSet.LoadParts(entries, classNames, options with { CropToRoi = true }, folder, train, test);
        return new DataSplit(parts[0], parts[1],
            $"LISA at {folder}: {classNames.Count} classes, {train.Length} training / {test.Length} test signs (first 16% of each class to test)");
    }

    /// <summary>The signs <see cref="AnnotationFile"/> lists (one entry per box) and the class names, numbered by first appearance.</summary>
    public static (List<ImageEntry> Entries, List<string> ClassNames) ReadEntries(string folder, bool paperClasses)
    {
        var csv = Path.Combine(folder, AnnotationFile);
        if (!File.Exists(csv))
            throw new SalientException($"'{folder}' has no {AnnotationFile}; point --data at the LISA folder that holds it.");
        var table = CsvTable.Read(csv, ';');
        int file = table.Column("Filename", Header), tag = table.Column("Annotation tag", Header);
        int[] box = new[] { "Upper left corner X", "Upper left corner Y", "Lower right corner X", "Lower right corner Y" }
            .Select(c => table.Column(c, Header)).ToArray();

        var classNames = paperClasses ? PaperClasses.ToList() : [];
        var entries = new List<ImageEntry>();
        foreach (var row in table.Rows)
        {
            var name = table.Field(row, tag);
            string? cls = paperClasses ? PaperClassOf(name) : name;
            if (cls is null) continue;
            int id = classNames.IndexOf(cls);
            if (id < 0) { classNames.Add(cls); id = classNames.Count - 1; }
            var roi = new RoiBox(table.IntField(row, box[0]), table.IntField(row, box[1]), table.IntField(row, box[2]), table.IntField(row, box[3]));
            if (roi.X2 < roi.X1 || roi.Y2 < roi.Y1)
                throw new SalientException($"{table.Where(row)} has an empty box ({roi.X1},{roi.Y1})–({roi.X2},{roi.Y2}); fix the corners or delete that row.");
            var rel = table.Field(row, file);
            entries.Add(new ImageEntry(Path.Combine(folder, rel), id, roi, rel, table.Where(row)));
        }
        if (entries.Count == 0) throw new SalientException($"'{csv}' lists no signs of the selected classes; check the file or drop the paper-class filter.");
        return (entries, classNames);
    }

    /// <summary>Per class, the first ⌊share·n⌋ images in file order go to test, the rest to training.</summary>
    public static (int[] Train, int[] Test) FirstShareOfEachClass(long[] labels, int classes, double share)
    {
        var counts = new int[classes];
        foreach (var l in labels) counts[l]++;
        var seen = new int[classes];
        var train = new List<int>();
        var test = new List<int>();
        for (int i = 0; i < labels.Length; i++)
        {
            long c = labels[i];
            (seen[c]++ < (int)Math.Floor(share * counts[c]) ? test : train).Add(i);
        }
        return (train.ToArray(), test.ToArray());
    }
}
