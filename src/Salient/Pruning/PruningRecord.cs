using System.Text.Json;

namespace Salient.Pruning;

/// <summary>
/// How a checkpoint was pruned, in the one shape every writer uses (metadata key
/// <see cref="MetadataKey"/>): the settings, the flow, and the weight sparsity measured after pruning.
/// </summary>
public sealed record PruningRecord(PruningSettings Settings, string Flow, double Sparsity)
{
    public const string MetadataKey = "salient.pruning";

    private static readonly JsonSerializerOptions Json = new() { Converters = { new System.Text.Json.Serialization.JsonStringEnumConverter() } };

    public string ToJson() => JsonSerializer.Serialize(this, Json);

    public static PruningRecord? From(IReadOnlyDictionary<string, string> metadata) =>
        metadata.TryGetValue(MetadataKey, out var json) ? JsonSerializer.Deserialize<PruningRecord>(json, Json) : null;
}
