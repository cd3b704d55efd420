using System.CommandLine;
using Salient.Data;

namespace Salient.Cli;

/// <summary>The options every verb that reads images shares, and their translation into <see cref="DataSettings"/>.</summary>
public sealed class DataOptions
{
    private static readonly DataSettings Defaults = new();

    public Option<string> Data { get; } = new("--data") { Description = "'synthetic' (built-in signs), 'gtsrb' / 'lisa' (installed by 'salient data download' in $SALIENT_DATA, else the user's cache folder), or a GTSRB / LISA folder", DefaultValueFactory = _ => Defaults.Source };
    public Option<int> ImageSize { get; } = new("--image-size") { Description = "Square size images are resized to", DefaultValueFactory = _ => Defaults.Load.ImageSize };
    public Option<ulong> DataSeed { get; } = new("--data-seed") { Description = "Seed of the synthetic images and of the split by track", DefaultValueFactory = _ => Defaults.Load.Seed };
    public Option<bool> CropRoi { get; } = new("--crop-roi") { Description = "GTSRB: crop each image to its ROI box before resizing" };
    public Option<bool> LisaPaperClasses { get; } = new("--lisa-paper-classes") { Description = "LISA: keep the paper's 14 classes (speed limits merged)" };
    public Option<int> SyntheticTrain { get; } = new("--synthetic-train") { Description = "Synthetic: training images", DefaultValueFactory = _ => Defaults.SyntheticTrainImages };
    public Option<int> SyntheticTest { get; } = new("--synthetic-test") { Description = "Synthetic: test images", DefaultValueFactory = _ => Defaults.SyntheticTestImages };
    public Option<int> SyntheticClasses { get; } = new("--synthetic-classes") { Description = "Synthetic: number of classes (2–43)", DefaultValueFactory = _ => Defaults.SyntheticClasses };
    public Option<string> SyntheticDifficulty { get; } = new("--synthetic-difficulty") { Description = "Synthetic: standard (GTSRB-like nuisances) or easy (learned in a few epochs)", DefaultValueFactory = _ => Defaults.SyntheticDifficulty };

    public void AddTo(Command command)
    {
        foreach (var o in new Option[] { Data, ImageSize, DataSeed, CropRoi, LisaPaperClasses, SyntheticTrain, SyntheticTest, SyntheticClasses, SyntheticDifficulty })
            command.Add(o);
    }

    public DataSettings Read(ParseResult parse) => new()
    {
        Source = parse.GetValue(Data)!,
        Load = new LoadOptions
        {
            ImageSize = parse.GetValue(ImageSize),
            Seed = parse.GetValue(DataSeed),
            CropToRoi = parse.GetValue(CropRoi),
            LisaPaperClasses = parse.GetValue(LisaPaperClasses),
        },
        SyntheticTrainImages = parse.GetValue(SyntheticTrain),
        SyntheticTestImages = parse.GetValue(SyntheticTest),
        SyntheticClasses = parse.GetValue(SyntheticClasses),
        SyntheticDifficulty = parse.GetValue(SyntheticDifficulty)!,
    };

    public DataSplit Open(ParseResult parse)
    {
        var settings = Read(parse);
        if (settings.Source == DataSettings.Synthetic && settings.SyntheticClasses is < 2 or > 43)
            throw new SalientException($"--synthetic-classes must be between 2 and 43, got {settings.SyntheticClasses}.");
        Console.Error.WriteLine($"Loading {DataFolders.Resolve(settings.Source)} ...");
        var split = DataSource.Open(settings);
        Console.Error.WriteLine(split.Description);
        return split;
    }

    /// <summary>A checkpoint is evaluated on the data set it was trained for: same classes, same order.</summary>
    public static void RequireSameClasses(IReadOnlyList<string> checkpointClasses, IReadOnlyList<string> dataClasses,
        string fix = "use the data set the model was trained on")
    {
        if (checkpointClasses.Count != dataClasses.Count)
            throw new SalientException($"The checkpoint has {checkpointClasses.Count} classes but --data has {dataClasses.Count}; {fix}.");
        int i = Enumerable.Range(0, dataClasses.Count).FirstOrDefault(k => checkpointClasses[k] != dataClasses[k], -1);
        if (i >= 0)
            throw new SalientException($"The checkpoint's class {i} is '{checkpointClasses[i]}' but --data's is '{dataClasses[i]}'; {fix}.");
    }
}
