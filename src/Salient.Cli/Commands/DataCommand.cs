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
        command.Add(Download());
        return command;
    }

    private static Command Download()
    {
        var command = new Command("download",
            $"Install a data set in the data directory (${DataFolders.DataVariable}, else {DataFolders.UserCache}), where --data {string.Join(" / --data ", DataFolders.Names)} finds it");
        command.Add(DownloadGtsrb());
        command.Add(DownloadLisa());
        return command;
    }

    private static Command DownloadGtsrb()
    {
        var into = new Option<string>("--into") { Description = $"Folder to install GTSRB in (default: {DataFolders.Gtsrb}/ in the data directory, what --data {DataFolders.Gtsrb} reads)" };
        var fromArchives = new Option<string>("--from-archives") { Description = "Folder holding the three archives fetched by hand: checked and unpacked, no network" };
        var baseUrl = new Option<string>("--base-url") { Description = $"Address the archives are downloaded from (default {GtsrbDownloadSettings.OfficialBaseUrl})" };
        var trainingSet = new Option<string>("--training-set")
        {
            Description = "torchvision (default: GTSRB-Training_fixed.zip, the online competition's training set, as torchvision downloads it) or final (GTSRB_Final_Training_Images.zip: those images and the online test images, the set GTSRB's authors ask results to be trained on)",
        };
        trainingSet.AcceptOnlyFromAmong([.. GtsrbDownloadSettings.TrainingSets.Keys]);
        var command = new Command("gtsrb", "Download GTSRB's training images, test images and test ground truth (MD5-checked; an interrupted download resumes) and unpack them in the official layout")
            { into, fromArchives, baseUrl, trainingSet };
        command.SetAction(CommandRunner.Guard(parse =>
        {
            var settings = new GtsrbDownloadSettings();
            if (parse.GetValue(baseUrl) is { } url) settings = settings with { BaseUrl = url };
            if (parse.GetValue(trainingSet) is { } set) settings = settings with { Archives = GtsrbDownloadSettings.TrainingSets[set] };
            var target = parse.GetValue(into) ?? DataFolders.Folder(DataFolders.Gtsrb);
            var result = parse.GetValue(fromArchives) is { } archives
                ? WithProgress(p => GtsrbDownload.FromArchives(archives, target, settings, p))
                : WithProgress(p => GtsrbDownload.Download(target, settings, p));
            Report(result, DataFolders.Gtsrb, target);
            return 0;
        }));
        return command;
    }

    private static Command DownloadLisa()
    {
        var archive = new Option<string>("--from-archive") { Description = "The LISA archive (signDatabasePublicFramesOnly.zip), which its authors hand out on request", Required = true };
        var into = new Option<string>("--into") { Description = $"Folder to install LISA in (default: {DataFolders.Lisa}/ in the data directory, what --data {DataFolders.Lisa} reads)" };
        var command = new Command("lisa", "Unpack and check the LISA archive (it cannot be downloaded without asking its authors)") { archive, into };
        command.SetAction(CommandRunner.Guard(parse =>
        {
            var target = parse.GetValue(into) ?? DataFolders.Folder(DataFolders.Lisa);
            Report(WithProgress(p => LisaArchive.Install(parse.GetValue(archive)!, target, p)), DataFolders.Lisa, target);
            return 0;
        }));
        return command;
    }

    /// <summary>Runs an install under progress bars: one per step (a download, a checksum, an unpacking).</summary>
    private static InstallResult WithProgress(Func<IProgress<DataProgress>, InstallResult> install)
    {
        InstallResult? result = null;
        AnsiConsole.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new DownloadedColumn(), new TransferSpeedColumn(), new RemainingTimeColumn())
            .Start(ctx =>
            {
                var tasks = new Dictionary<string, ProgressTask>();
                result = install(new SyncProgress<DataProgress>(p =>
                {
                    if (!tasks.TryGetValue(p.Step, out var task))
                        tasks[p.Step] = task = ctx.AddTask(Markup.Escape(p.Step), maxValue: Math.Max(1, p.TotalBytes ?? 1));
                    task.IsIndeterminate = p.TotalBytes is null;
                    if (p.TotalBytes is { } total) task.MaxValue = Math.Max(1, total);
                    task.Value = p.Bytes;
                }));
            });
        return result!;
    }

    private static void Report(InstallResult result, string name, string target)
    {
        Console.WriteLine(result.Description);
        bool isDefault = Path.GetFullPath(target) == Path.GetFullPath(DataFolders.Folder(name));
        if (!result.AlreadyPresent)
            Console.WriteLine(isDefault ? $"Use it with --data {name}." : $"Use it with --data {result.Folder}.");
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
