using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Salient.Interop;
using Salient.Models;

namespace Salient.Cli.Commands;

/// <summary>`salient import`: a PyTorch state dict (.pth/.pt/.safetensors) → a Salient checkpoint.</summary>
internal static class ImportCommand
{
    public static Command Create()
    {
        var from = new Option<FileInfo>("--from") { Description = "PyTorch state dict: torch.save file (.pth, .pt, .bin) or .safetensors; or a TorchScript archive (torch.jit.save) of any classifier taking normalised N×3×H×W images.", Required = true };
        var arch = new Option<string?>("--arch") { Description = "vgg16 (the paper's, or torchvision's naming) or resnet18 (torchvision's naming); default: what 'salient export' recorded in the file." };
        var classes = new Option<string?>("--classes") { Description = "Number of classes, or a text file with one class name per line; default: what 'salient export' recorded in the file." };
        var output = new Option<FileInfo>("--out") { Description = "Where to write the Salient checkpoint (.safetensors).", Required = true };
        var width = new Option<double?>("--width") { Description = "Width multiplier; default: recorded by 'salient export', else the first convolution's channels / 64." };
        var inputSize = new Option<int?>("--input-size") { Description = "Input side in pixels; default: recorded by 'salient export', else inferred for VGG-16 and 32 for ResNet-18." };
        var stem = new Option<string?>("--stem") { Description = "ResNet-18 stem imagenet|cifar; default: from the first convolution's kernel (7 or 3)." };
        var mean = new Option<string?>("--mean") { Description = "Per-channel mean the PyTorch pipeline subtracted, m1,m2,m3; default: recorded by 'salient export', else the paper's." };
        var std = new Option<string?>("--std") { Description = "Per-channel standard deviation the pipeline divided by, s1,s2,s3; default: recorded by 'salient export', else the paper's." };

        var command = new Command("import", "Bring a PyTorch state dict (torchvision's or the paper's VGG-16/ResNet-18 naming, torch.nn.utils.prune masks included) or any TorchScript model (torch.jit.save) into a Salient checkpoint.")
        {
            from, arch, classes, output, width, inputSize, stem, mean, std,
        };
        command.SetAction(CommandRunner.Guard(parse =>
        {
            var source = parse.GetValue(from)!.FullName;
            var options = new ImportOptions
            {
                Architecture = parse.GetValue(arch)?.Trim().ToLowerInvariant(),
                ClassNames = parse.GetValue(classes) is { } classList ? ParseClasses(classList) : null,
                Width = parse.GetValue(width),
                InputSize = parse.GetValue(inputSize),
                Stem = parse.GetValue(stem),
                Mean = ParseTriple(parse.GetValue(mean), "--mean"),
                Std = ParseTriple(parse.GetValue(std), "--std"),
            };
            var result = StateDictImport.Import(source, options);
            using var model = result.Model;
            var spec = model.Spec;
            foreach (var warning in result.Warnings) Console.Error.WriteLine($"warning: {warning}");
            if (result.UnplacedKeys.Count > 0)
                Console.Error.WriteLine($"warning: {result.UnplacedKeys.Count} key(s) of '{source}' correspond to nothing in a {spec.Architecture} and were ignored: {string.Join(", ", result.UnplacedKeys)}");
            if (result.PaperNormalization.Count > 0)
            {
                var defaulted = result.PaperNormalization.Select(n => $"{n} [{Join(n == "mean" ? spec.Mean : spec.Std)}]");
                Console.Error.WriteLine($"note: '{source}' records no normalisation, so the model takes the paper's {string.Join(" and ", defaulted)}; give --mean and --std if the PyTorch pipeline normalised otherwise.");
            }
            var metadata = new Dictionary<string, string>
            {
                [Checkpoint.ImportKey] = JsonSerializer.Serialize(new { source, ignored = result.UnplacedKeys }),
            };
            var outPath = parse.GetValue(output)!.FullName;
            Checkpoint.Save(outPath, model, result.ClassNames, metadata);
            int masked = model.MaskableLayers().Count(l => l.Layer.WeightMask is not null);
            Console.WriteLine(model is ScriptedModel
                ? $"TorchScript model (explain, evaluate and score it; training and pruning need Salient's own models), input {spec.InputSize}×{spec.InputSize} ({spec.InputLayout ?? ScriptedModel.ChannelsLast} layout), {spec.NumClasses} classes, {model.parameters().Sum(p => p.numel())} parameters"
                : $"{spec.Architecture}{(spec.BatchNorm ? " with BatchNorm" : "")}, width {spec.Width.ToString(CultureInfo.InvariantCulture)}, input {spec.InputSize}×{spec.InputSize}{(spec.Architecture == "resnet18" ? $", {spec.Stem} stem" : "")}, {spec.NumClasses} classes, {masked} pruned layer(s)");
            Console.WriteLine($"normalisation in the checkpoint: mean [{Join(spec.Mean)}], std [{Join(spec.Std)}]");
            Console.WriteLine($"wrote {outPath}");
            return 0;
        }));
        return command;
    }

    private static string Join(float[] values) => string.Join(", ", values.Select(v => v.ToString("R", CultureInfo.InvariantCulture)));

    private static IReadOnlyList<string> ParseClasses(string value)
    {
        if (int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out int count))
        {
            if (count < 2) throw new SalientException($"--classes {count} is too few; a classifier needs at least 2 classes.");
            return Enumerable.Range(0, count).Select(i => i.ToString(CultureInfo.InvariantCulture)).ToList();
        }
        if (!File.Exists(value)) throw new SalientException($"--classes '{value}' is neither a number nor an existing file; give the class count or a text file with one name per line.");
        var names = File.ReadAllLines(value).Select(l => l.Trim()).Where(l => l.Length > 0).ToList();
        if (names.Count < 2) throw new SalientException($"Class file '{value}' lists {names.Count} class name(s); put one name per line, at least 2.");
        return names;
    }

    private static float[]? ParseTriple(string? value, string option)
    {
        if (value is null) return null;
        var parts = value.Split(',', StringSplitOptions.TrimEntries);
        var numbers = new float[parts.Length];
        for (int i = 0; i < parts.Length; i++)
            if (!float.TryParse(parts[i], NumberStyles.Float, CultureInfo.InvariantCulture, out numbers[i]))
                throw new SalientException($"{option} '{value}' is not a list of numbers; write three comma-separated values, e.g. 0.485,0.456,0.406.");
        if (numbers.Length != 3) throw new SalientException($"{option} needs three comma-separated values (red, green, blue), got {numbers.Length}.");
        return numbers;
    }
}
