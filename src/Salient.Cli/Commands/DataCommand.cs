using System.CommandLine;
using Salient.Data;
using Spectre.Console;

namespace Salient.Cli.Commands;

internal static class DataCommand
{
    public static Command Create()
    {
        var command = new Command("data", "Make or inspect data sets");
        command.Add(Synth());
        command.Add(Info());
        return command;
    }

    private static Command Synth()
    {
        var outDir = new Option<string>("--out") { Description = "Folder to write (GTSRB's official training layout: PPM images + GT-000NN.csv)", Required = true };
        var count = new Option<int>("--count") { Description = "Number of images (balanced over classes)", DefaultValueFactory = _ => 430 };
        var classes = new Option<int>("--classes") { Description = "Number of classes (2–43)", DefaultValueFactory = _ => 43 };
        var seed = new Option<ulong>("--seed") { Description = "Seed; the same seed gives the same images", DefaultValueFactory = _ => 0UL };
        var size = new Option<int>("--image-size") { Description = "Image side in pixels", DefaultValueFactory = _ => 32 };
        var command = new Command("synth", "Write synthetic traffic signs to a folder in GTSRB's layout, readable by 'train --data FOLDER'") { outDir, count, classes, seed, size };
        command.SetAction(CommandRunner.Guard(parse =>
        {
            int k = parse.GetValue(classes);
            if (k is < 2 or > 43) throw new SalientException($"--classes must be between 2 and 43, got {k}.");
            var folder = parse.GetValue(outDir)!;
            if (Directory.Exists(folder) && Directory.EnumerateFileSystemEntries(folder).Any())
                throw new SalientException($"'{folder}' is not empty; choose a new folder so no existing file is overwritten.");
            var options = new SyntheticSignOptions { Classes = k, Size = parse.GetValue(size) };
            using var data = DataSource.GenerateSynthetic(parse.GetValue(count), parse.GetValue(seed), options, "synth");
            Gtsrb.WriteOfficialLayout(data, folder);
            Console.WriteLine($"Wrote {data.Count} synthetic signs of {k} classes to {Path.Combine(folder, "Final_Training", "Images")}.");
            return 0;
        }));
        return command;
    }

    private static Command Info()
    {
        var dataOptions = new DataOptions();
        var command = new Command("info", "Load a data set and print its split and class counts");
        dataOptions.AddTo(command);
        command.SetAction(CommandRunner.Guard(parse =>
        {
            using var split = dataOptions.Open(parse);
            var table = new Table().AddColumns("id", "class", "train", "test");
            var train = split.Train.ClassCounts();
            var test = split.Test.ClassCounts();
            for (int c = 0; c < split.ClassNames.Count; c++)
                table.AddRow(c.ToString(), Markup.Escape(split.ClassNames[c]), train[c].ToString(), test[c].ToString());
            AnsiConsole.Write(table);
            return 0;
        }));
        return command;
    }
}
