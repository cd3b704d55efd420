using System.CommandLine;
using Salient.Attribution;
using Salient.Data;
using Salient.Models;
using Salient.Reporting;
using static TorchSharp.torch;

namespace Salient.Cli.Commands;

/// <summary>Options shared by the verbs that explain image files.</summary>
internal sealed class ExplainOptions
{
    public Option<string[]> Images { get; } = new("--images") { Description = "Image files and/or folders of images", Required = true, AllowMultipleArgumentsPerToken = true };
    public Option<bool> Resize { get; } = new("--resize") { Description = "Resize images of another size to the model's input (bilinear)" };
    public Option<string> Target { get; } = new("--target") { Description = "Class to explain: 'predicted' or a class id", DefaultValueFactory = _ => "predicted" };
    // Figures: SG with the figure sample count (SPEC.md §4).
    private readonly MethodOptions methods = new(SmoothGradSettings.SamplesForFigures);

    public void AddTo(Command command)
    {
        foreach (var o in new Option[] { Images, Resize, Target }) command.Add(o);
        methods.AddTo(command);
    }

    public AttributionSettings Settings(ParseResult parse) => methods.Settings(parse);

    public (Tensor Images, string[] Files) Load(ParseResult parse, ModelSpec spec) =>
        ImageFiles.LoadForModel(parse.GetValue(Images)!, spec.InputSize, parse.GetValue(Resize));

    public Tensor Targets(ParseResult parse, SalientModel model, Tensor images)
    {
        var target = parse.GetValue(Target)!;
        if (target == "predicted") return Attribution.Targets.Predicted(model, images);
        if (!long.TryParse(target, out var cls))
            throw new SalientException($"--target '{target}' is neither 'predicted' nor a class id; give e.g. --target 14.");
        return Attribution.Targets.Given(model, Enumerable.Repeat(cls, (int)images.shape[0]).ToArray());
    }
}

internal static class ExplainCommand
{
    public static Command Create()
    {
        var options = new ExplainOptions();
        var checkpoint = new Option<string>("--checkpoint") { Description = "Model checkpoint", Required = true };
        var method = new Option<string>("--method") { Description = "vg, ig or sg", Required = true };
        var outDir = new Option<string>("--out") { Description = "Folder for heat maps, overlays and raw maps", DefaultValueFactory = _ => "explanations" };
        var command = new Command("explain", "Explain a model's decision on image files: PNG heat maps and overlays, raw maps as .npy") { checkpoint, method, outDir };
        options.AddTo(command);
        command.SetAction(CommandRunner.Guard(parse =>
        {
            using var ckpt = Checkpoint.Load(parse.GetValue(checkpoint)!);
            var attribution = AttributionMethods.Create(parse.GetValue(method)!, options.Settings(parse));
            using var ownsNoise = attribution as IDisposable;
            var (images, files) = options.Load(parse, ckpt.Model.Spec);
            using var _ = images;
            using var targets = options.Targets(parse, ckpt.Model, images);
            using var raw = attribution.Attribute(ckpt.Model, images, targets);
            using var maps = SaliencyMap.Reduce(raw);
            // The .npy files keep the signed values; the pictures show them as figures do.
            using var shown = SaliencyMap.ForDisplay(maps);
            var dir = parse.GetValue(outDir)!;
            Directory.CreateDirectory(dir);
            var classes = targets.data<long>().ToArray();
            for (int i = 0; i < files.Length; i++)
            {
                var stem = Path.Combine(dir, $"{Path.GetFileNameWithoutExtension(files[i])}-{attribution.Name}");
                using var image = images[i];
                using var map = shown[i];
                SaliencyFigures.Overlay(stem + ".png", image, map, $"{Path.GetFileName(files[i])}: {attribution.Name.ToUpperInvariant()} for class {classes[i]} ({ckpt.ClassNames[(int)classes[i]]})");
                using var rawOne = raw[i];
                using var mapOne = maps[i];
                NpyWriter.Write(stem + "-attribution.npy", rawOne);
                NpyWriter.Write(stem + "-map.npy", mapOne);
            }
            Console.WriteLine($"Explained {files.Length} image(s) with {attribution.Name.ToUpperInvariant()}; wrote <name>-{attribution.Name}.png (heat map, overlay, colour bar), -attribution.npy (3×H×W) and -map.npy (H×W) to {dir}");
            return 0;
        }));
        return command;
    }
}

internal static class FigureCommand
{
    public static Command Create()
    {
        var options = new ExplainOptions();
        var checkpoints = new Option<string[]>("--checkpoints") { Description = "Checkpoints, one row each", Required = true, AllowMultipleArgumentsPerToken = true };
        var labels = new Option<string[]?>("--labels") { Description = "Row labels (default: checkpoint file names)", AllowMultipleArgumentsPerToken = true };
        var methods = new Option<string[]>("--methods") { Description = "Columns", DefaultValueFactory = _ => AttributionMethods.Names, AllowMultipleArgumentsPerToken = true };
        var outDir = new Option<string>("--out") { Description = "Folder for one grid PNG per image", DefaultValueFactory = _ => "figures" };
        var command = new Command("figure", "The paper-style saliency grid: rows = models, columns = the input image then each method") { checkpoints, labels, methods, outDir };
        options.AddTo(command);
        command.SetAction(CommandRunner.Guard(parse =>
        {
            var paths = parse.GetValue(checkpoints)!;
            var rowLabels = parse.GetValue(labels) ?? paths.Select(p => Path.GetFileNameWithoutExtension(p)).ToArray();
            if (rowLabels.Length != paths.Length)
                throw new SalientException($"--labels names {rowLabels.Length} rows but --checkpoints gives {paths.Length}; give one label per checkpoint.");
            var methodNames = parse.GetValue(methods)!;
            var models = paths.Select(Checkpoint.Load).ToList();
            try
            {
                var (images, files) = options.Load(parse, models[0].Model.Spec);
                using var _ = images;
                // maps[model][method] = N×H×W, negatives clipped for display.
                var maps = models.Select(m => methodNames.Select(name =>
                {
                    var attribution = AttributionMethods.Create(name, options.Settings(parse));
                    using var ownsNoise = attribution as IDisposable;
                    using var targets = options.Targets(parse, m.Model, images);
                    using var raw = attribution.Attribute(m.Model, images, targets);
                    using var map = SaliencyMap.Reduce(raw);
                    return SaliencyMap.ForDisplay(map);
                }).ToList()).ToList();
                var dir = parse.GetValue(outDir)!;
                for (int i = 0; i < files.Length; i++)
                {
                    var rows = models.Select((m, r) => new SaliencyFigures.GridRow(rowLabels[r], images[i], maps[r].Select(t => (Tensor?)t[i]).ToList())).ToList();
                    SaliencyFigures.Grid(Path.Combine(dir, $"{Path.GetFileNameWithoutExtension(files[i])}-grid.png"), methodNames.Select(n => n.ToUpperInvariant()).ToList(), rows);
                }
                foreach (var t in maps.SelectMany(x => x)) t.Dispose();
                Console.WriteLine($"Wrote {files.Length} grid(s) of {models.Count} model(s) × {methodNames.Length} method(s) to {dir}");
                return 0;
            }
            finally
            {
                foreach (var m in models) m.Dispose();
            }
        }));
        return command;
    }
}
