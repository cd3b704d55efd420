using System.Text.Json;

namespace Salient.Pruning;

/// <summary>
/// How a checkpoint was pruned, in the one shape every writer uses (metadata key
/// <see cref="MetadataKey"/>): the settings, the flow ("Pre", "Post-FT" or "Post-noFT", as the study names
/// its models), the weight sparsity measured after pruning, and whether the pruned channels were removed.
/// </summary>
public sealed record PruningRecord(PruningSettings Settings, string Flow, double Sparsity, bool Compacted = false)
{
    public const string Pre = "Pre", PostFineTuned = "Post-FT", PostNotFineTuned = "Post-noFT";

    public const string MetadataKey = "salient.pruning";

    private static readonly JsonSerializerOptions Json = new() { Converters = { new System.Text.Json.Serialization.JsonStringEnumConverter() } };

    public string ToJson() => JsonSerializer.Serialize(this, Json);

    /// <summary>The record of the model after more training with its masks fixed: a post-train prune becomes
    /// fine-tuned; a pre-train prune stays what it was.</summary>
    public PruningRecord AfterTraining() => Flow == PostNotFineTuned ? this with { Flow = PostFineTuned } : this;

    public static PruningRecord? From(IReadOnlyDictionary<string, string> metadata) =>
        metadata.TryGetValue(MetadataKey, out var json) ? JsonSerializer.Deserialize<PruningRecord>(json, Json) : null;
}
