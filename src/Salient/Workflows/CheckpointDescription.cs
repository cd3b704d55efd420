using System.Globalization;
using Salient.Models;
using Salient.Pruning;
using Salient.Training;

namespace Salient.Workflows;

/// <summary>
/// What a checkpoint holds, in words: the model, its classes and normalisation, how it was trained
/// and pruned (from the records the trainer, the pruner, a study and import leave in its metadata),
/// its weights and whether training can resume from it. What `salient inspect` prints.
/// </summary>
public static class CheckpointDescription
{
    public static IReadOnlyList<(string What, string Value)> Describe(string path)
    {
        if (!File.Exists(path)) throw new SalientException($"Checkpoint '{path}' does not exist; give the .safetensors file a verb wrote (train, prune, import).");
        using var ckpt = Checkpoint.Load(path);
        var spec = ckpt.Model.Spec;
        var rows = new List<(string, string)>
        {
            ("file", $"{path} ({new FileInfo(path).Length / 1e6:0.0} MB)"),
            ("model", ckpt.Model is ScriptedModel
                ? $"TorchScript module given {spec.InputLayout ?? ScriptedModel.ChannelsLast} input (imported; explained, evaluated and scored as it is)"
                : Checkpoint.Describe(spec)),
            ("input", Invariant($"{spec.InputSize}×{spec.InputSize} pixels in [0,1], normalised inside by mean [{string.Join(", ", spec.Mean)}] and std [{string.Join(", ", spec.Std)}]")),
            ("classes", $"{ckpt.ClassNames.Count}: {string.Join(", ", ckpt.ClassNames.Take(4))}{(ckpt.ClassNames.Count > 4 ? ", …" : "")}"),
        };
        long parameters = ckpt.Model.parameters().Sum(p => p.numel());
        var weights = ckpt.Model is ScriptedModel ? null : SparsityReport.Measure(ckpt.Model);
        rows.Add(("parameters", Invariant($"{parameters:N0}") + (weights is null ? "" : Invariant($"; {weights.Overall:P1} of the convolution and linear weights are zero"))));

        var training = TrainingState.From(ckpt.Metadata);
        rows.Add(("training", training is null ? "none recorded (imported, or pruned without training)" : Training(training)));
        if (PruningRecord.From(ckpt.Metadata) is { } pruning)
            rows.Add(("pruning", Invariant($"{pruning.Settings.Method}, {pruning.Flow}, {pruning.Sparsity:P1} of the weights zero after pruning{(pruning.Compacted ? "; compacted (pruned channels removed)" : "")}")));
        if (ckpt.Metadata.TryGetValue(Checkpoint.StudyModelKey, out var studyModel)) rows.Add(("study model", studyModel));
        if (ckpt.Metadata.TryGetValue(Checkpoint.ImportKey, out var import)) rows.Add(("imported from", ImportedFrom(import)));
        if (training is not null && ckpt.TrainingState.Count > 0 && training.EpochsCompleted < training.Recipe.Epochs && training.StoppedEarly is null)
            rows.Add(("resume", $"optimizer state kept: training the same checkpoint again continues with epoch {training.EpochsCompleted + 1}"));
        return rows;
    }

    private static string Training(TrainingState state)
    {
        var recipe = state.Recipe;
        var how = recipe.Strategy == "adversarial" ? $"adversarial ({state.Attack ?? recipe.Attack.Describe()})" : "natural";
        var text = Invariant($"{how}, {recipe.Optimizer} lr {recipe.LearningRate}, batch {recipe.BatchSize}, {state.EpochsCompleted} of {recipe.Epochs} epochs");
        if (state.StoppedEarly is { } why) text += $", stopped early: {why}";
        if (state.History.LastOrDefault() is { } last)
            text += Invariant($"; epoch {last.Epoch}: test accuracy {last.TestAccuracy:P2}") + (last.RobustTestAccuracy is { } robust ? Invariant($", robust {robust:P2}") : "");
        return text;
    }

    /// <summary>The import record's source file, and the keys it ignored (see the import verb).</summary>
    private static string ImportedFrom(string json)
    {
        using var record = System.Text.Json.JsonDocument.Parse(json);
        var root = record.RootElement;
        string source = root.TryGetProperty("source", out var s) ? s.GetString() ?? "?" : "?";
        int ignored = root.TryGetProperty("ignored", out var keys) ? keys.GetArrayLength() : 0;
        return ignored == 0 ? source : $"{source} ({ignored} key(s) of it ignored)";
    }

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
