using static TorchSharp.torch;

namespace Salient.Data;

/// <summary>Where images come from: the built-in synthetic signs, or a GTSRB / LISA folder.</summary>
public sealed record DataSettings
{
    /// <summary>"synthetic"; "gtsrb" or "lisa" (installed by 'salient data download' under <see cref="DataFolders.DataRoot"/>); or a folder holding GTSRB (either layout) or LISA.</summary>
    public string Source { get; init; } = Synthetic;
    public LoadOptions Load { get; init; } = new();
    /// <summary>Synthetic only: training and test images (balanced over classes) and the class count.</summary>
    public int SyntheticTrainImages { get; init; } = 4300;
    public int SyntheticTestImages { get; init; } = 1075;
    public int SyntheticClasses { get; init; } = 43;
    /// <summary>"standard" (GTSRB-like nuisances) or "easy" (<see cref="SyntheticSignOptions.Easy"/>).</summary>
    public string SyntheticDifficulty { get; init; } = "standard";

    public const string Synthetic = "synthetic";
}

public static class DataSource
{
    public static DataSplit Open(DataSettings settings)
    {
        if (settings.Source == DataSettings.Synthetic)
        {
            var baseOptions = settings.SyntheticDifficulty switch
            {
                "standard" => new SyntheticSignOptions(),
                "easy" => SyntheticSignOptions.Easy,
                var other => throw new SalientException($"Unknown synthetic difficulty '{other}'; use 'standard' or 'easy'."),
            };
            var options = baseOptions with { Size = settings.Load.ImageSize, Classes = settings.SyntheticClasses };
            var train = GenerateSynthetic(settings.SyntheticTrainImages, SeededRandom.Derive(settings.Load.Seed, "synthetic-train"), options, "train");
            var test = GenerateSynthetic(settings.SyntheticTestImages, SeededRandom.Derive(settings.Load.Seed, "synthetic-test"), options, "test");
            return new DataSplit(train, test, $"synthetic signs ({settings.SyntheticDifficulty}): {options.Classes} classes, {train.Count} training / {test.Count} test images (seed {settings.Load.Seed})");
        }
        var folder = DataFolders.Resolve(settings.Source);
        if (!Directory.Exists(folder))
            throw new SalientException($"Data folder '{folder}' does not exist; pass a GTSRB or LISA folder, or 'synthetic' for the built-in signs.");
        if (Lisa.Recognises(folder)) return Lisa.Load(folder, settings.Load);
        if (Gtsrb.Recognises(folder)) return Gtsrb.Load(folder, settings.Load);
        throw new SalientException($"'{folder}' is neither GTSRB (Final_Training/Images or Train/) nor LISA ({Lisa.AnnotationFile}); point --data at the data set's top folder.");
    }

    /// <summary>Synthetic signs as a data set; image i of a split is fixed by (seed, i) whatever the count.</summary>
    public static SignDataset GenerateSynthetic(int count, ulong seed, SyntheticSignOptions options, string prefix)
    {
        if (count < 1) throw new SalientException($"The synthetic set needs at least one image, got {count}.");
        int s = options.Size, per = 3 * s * s;
        var pixels = new float[(long)count * per];
        var masks = new float[(long)count * s * s];
        var labels = new long[count];
        Parallel.For(0, count, i =>
        {
            var sign = SyntheticSigns.RenderAt(i, seed, options);
            sign.Pixels.CopyTo(pixels.AsSpan(i * per, per));
            sign.Mask.CopyTo(masks.AsSpan(i * s * s, s * s));
            labels[i] = sign.ClassId;
        });
        var sources = Enumerable.Range(0, count).Select(i => $"synthetic:{prefix}:{seed}:{i}").ToArray();
        return new SignDataset(tensor(pixels, [count, 3, s, s]), labels, SyntheticSigns.ClassNames.Take(options.Classes).ToList(), sources,
            masks: tensor(masks, [count, s, s]));
    }
}
