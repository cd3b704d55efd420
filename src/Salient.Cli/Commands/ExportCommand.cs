using System.CommandLine;
using System.Globalization;
using Salient.Interop;
using Salient.Models;

namespace Salient.Cli.Commands;

/// <summary>`salient export`: a Salient checkpoint → a PyTorch state dict (.safetensors or .pt).</summary>
internal static class ExportCommand
{
    public static Command Create()
    {
        var checkpoint = new Option<FileInfo>("--checkpoint") { Description = "Salient checkpoint to export (.safetensors).", Required = true };
        var to = new Option<FileInfo>("--to") { Description = "PyTorch state dict to write: model.safetensors, or model.pt/.pth (torch.save format).", Required = true };
        var command = new Command("export", "Write a checkpoint as a PyTorch state dict (pruned layers as weight_orig + weight_mask), for PyTorch, Captum or Quantus.")
        {
            checkpoint, to,
        };
        command.SetAction(CommandRunner.Guard(parse =>
        {
            var input = parse.GetValue(checkpoint)!;
            if (!input.Exists) throw new SalientException($"Checkpoint '{input.FullName}' does not exist; give the path of a .safetensors file written by 'salient train' or 'salient import'.");
            using var ckpt = Checkpoint.Load(input.FullName);
            var outPath = parse.GetValue(to)!.FullName;
            var result = StateDictExport.Export(ckpt, outPath);
            var spec = ckpt.Model.Spec;
            Console.WriteLine($"wrote {outPath}: {result.Keys.Count} tensors of a {spec.Architecture} (width {spec.Width.ToString(CultureInfo.InvariantCulture)}, {spec.NumClasses} classes, input {spec.InputSize}×{spec.InputSize})");
            Console.WriteLine("The model expects normalised input; apply this in your PyTorch pipeline:");
            Console.WriteLine($"  transforms.Normalize(mean=[{Join(result.Mean)}], std=[{Join(result.Std)}])");
            return 0;
        }));
        return command;
    }

    private static string Join(float[] values) => string.Join(", ", values.Select(v => v.ToString("R", CultureInfo.InvariantCulture)));
}
