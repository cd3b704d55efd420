using System.Text.Json;
using Salient.Cli;
using Salient.Models;
using Salient.Tests.Cli;
using static TorchSharp.torch;

namespace Salient.Tests.Pruning;

[Collection("Console")]
public class PruneCommandTests
{
    private static int RunSalient(params string[] args) =>
        (int)typeof(CommandRunner).Assembly.EntryPoint!.Invoke(null, [args])!;

    [Fact]
    public void PruneVerbSavesACompactedCheckpointWithItsClassesAndMetadata()
    {
        var dir = Directory.CreateTempSubdirectory("salient-prune-cli-");
        try
        {
            var input = Path.Combine(dir.FullName, "in.safetensors");
            var output = Path.Combine(dir.FullName, "out.safetensors");
            random.manual_seed(2);
            using (var model = ModelFactory.Create(new ModelSpec { Width = 0.125, NumClasses = 3 }))
                Checkpoint.Save(input, model, ["stop", "yield", "merge"], new Dictionary<string, string> { ["salient.training"] = "natural" });

            int code = RunSalient("prune", "--checkpoint", input, "--method", "layered", "--amount", "0.25", "--out", output, "--compact", "--report");

            Assert.Equal(0, code);
            using var pruned = Checkpoint.Load(output);
            Assert.Equal(["stop", "yield", "merge"], pruned.ClassNames);
            Assert.Equal("natural", pruned.Metadata["salient.training"]);
            using var meta = JsonDocument.Parse(pruned.Metadata["salient.pruning"]);
            Assert.Equal("layered", meta.RootElement.GetProperty("method").GetString());
            Assert.Equal(0.25, meta.RootElement.GetProperty("amount").GetDouble());
            // 8 channels − round(0.25·8) = 6 in the first convolution.
            Assert.Equal(6, pruned.Model.Spec.LayerWidths![0]);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    /// <summary>The report's rows by model: parameters and MACs as printed.</summary>
    private static Dictionary<string, (long Parameters, long Macs)> ReportRows(string output) =>
        output.Split('\n')
            .Select(line => line.Split('|', StringSplitOptions.TrimEntries))
            .Where(cells => cells.Length > 5 && cells[1] is "dense" or "masked" or "compacted")
            .ToDictionary(cells => cells[1], cells => (long.Parse(cells[2].Replace(",", "")), long.Parse(cells[4].Replace(",", ""))));

    [Theory]
    [InlineData("vgg16", true)]
    [InlineData("resnet18", false)]
    public void PruneReportWorksForEveryArchitecture(string architecture, bool batchNorm)
    {
        using var folder = new TempFolder();
        var input = folder["in.safetensors"];
        random.manual_seed(3);
        using (var model = ModelFactory.Create(new ModelSpec { Architecture = architecture, BatchNorm = batchNorm, Width = 0.125, NumClasses = 3, Stem = "cifar" }))
            Checkpoint.Save(input, model, ["a", "b", "c"]);

        var (exit, output, error) = CliRunner.Run("prune", "--checkpoint", input, "--method", "layered", "--amount", "0.25", "--out", folder["out.safetensors"], "--report");

        Assert.True(exit == 0, error);
        var rows = ReportRows(output);
        // A masked model still executes its zeros: same parameters and MACs as the dense one.
        Assert.Equal(rows["dense"], rows["masked"]);
        if (architecture == "vgg16")
        {
            // Compaction removes a quarter of the channels (and folds BatchNorm away): fewer of both.
            Assert.True(rows["compacted"].Macs < rows["dense"].Macs * 0.7);
            Assert.True(rows["compacted"].Parameters < rows["dense"].Parameters * 0.7);
        }
        else Assert.False(rows.ContainsKey("compacted"));
    }

    [Fact]
    public void CompactingAResNetIsRefusedBeforeAnyWork()
    {
        using var folder = new TempFolder();
        var input = folder["in.safetensors"];
        using (var model = ModelFactory.Create(new ModelSpec { Architecture = "resnet18", Width = 0.0625, NumClasses = 3 }))
            Checkpoint.Save(input, model, ["a", "b", "c"]);
        var (exit, output, error) = CliRunner.Run("prune", "--checkpoint", input, "--method", "layered", "--out", folder["out.safetensors"], "--compact");
        Assert.Equal(CommandRunner.UserError, exit);
        Assert.Contains("Compaction supports VGG-16 only", error);
        Assert.DoesNotContain("|", output);
        Assert.False(File.Exists(folder["out.safetensors"]));
    }

    [Fact]
    public void PruneVerbRejectsABadAmountWithTheUserErrorCode()
    {
        var dir = Directory.CreateTempSubdirectory("salient-prune-cli-");
        try
        {
            var input = Path.Combine(dir.FullName, "in.safetensors");
            using (var model = ModelFactory.Create(new ModelSpec { Width = 0.125, NumClasses = 3 }))
                Checkpoint.Save(input, model, ["a", "b", "c"]);
            var output = Path.Combine(dir.FullName, "out.safetensors");
            Assert.Equal(CommandRunner.UserError, RunSalient("prune", "--checkpoint", input, "--method", "l1", "--amount", "1.2", "--out", output));
            Assert.False(File.Exists(output));
            Assert.Equal(CommandRunner.UserError, RunSalient("prune", "--checkpoint", Path.Combine(dir.FullName, "missing.safetensors"), "--method", "l1", "--out", output));
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }
}
