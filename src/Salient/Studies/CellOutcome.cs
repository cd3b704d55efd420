using System.Text.Json;
using System.Text.Json.Serialization;

namespace Salient.Studies;

/// <summary>
/// What one run of a cell produced: its status and, when done, the rows it adds to the results
/// tables (table name → rows, each row the table's columns after <c>cell</c>). Written atomically to
/// the cell's own file by whichever process ran it; only the coordinator imports it into the
/// SQLite store, so the store has one writer even when cells run on many machines.
/// </summary>
public sealed record CellOutcome
{
    public const string Done = "done", Failed = "failed", Skipped = "skipped";

    public required string Cell { get; init; }
    public required CellKind Kind { get; init; }
    public required string Hash { get; init; }
    public required string Status { get; init; }
    public string? Error { get; init; }
    public double Seconds { get; init; }
    public DateTime Finished { get; init; } = DateTime.UtcNow;
    /// <summary>The machine and process that ran the cell (for the log of a cluster run).</summary>
    public string Host { get; init; } = $"{Environment.MachineName}:{Environment.ProcessId}";
    public Dictionary<string, List<object?[]>> Tables { get; init; } = [];

    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
        // Doubles are written in their shortest round-trip form: importing gives back the same bits.
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    public void Write(string studyFolder, CellPlan cell) =>
        AtomicFile.WriteAllBytes(Path.Combine(studyFolder, cell.OutcomeFile), JsonSerializer.SerializeToUtf8Bytes(this, Json));

    /// <summary>Reads an outcome file; a damaged one (e.g. a disk that filled up) is reported, not imported.</summary>
    public static CellOutcome Read(string path)
    {
        try
        {
            return JsonSerializer.Deserialize<CellOutcome>(File.ReadAllBytes(path), Json)
                ?? throw new JsonException("empty");
        }
        catch (JsonException e)
        {
            throw new SalientException($"The cell outcome file '{path}' is damaged ({e.Message}); delete it and run the study again to recompute that cell.", e);
        }
    }
}
