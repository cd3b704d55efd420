using System.Text.Json;
using Salient.Cli;
using Salient.Models;
using static TorchSharp.torch;

namespace Salient.Tests.Pruning;

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
