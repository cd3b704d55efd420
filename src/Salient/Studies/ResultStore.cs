using System.Globalization;
using System.Text.Json;
using Microsoft.Data.Sqlite;

namespace Salient.Studies;

/// <summary>
/// The study's SQLite database (<c>results.db</c>): every cell's latest outcome and the rows it
/// produced, each row tagged with its cell. Its one writer is the process coordinating the study,
/// which imports the cells' outcome files; tables and reports read only the rows of the cells that
/// the current settings plan and that finished with the planned hash (<see cref="Current"/>), so rows
/// of removed seeds or models, or of an earlier run of a cell that has since failed, never show.
/// </summary>
public sealed class ResultStore : IDisposable
{
    public const string FileName = "results.db";
    // Bumped whenever a table changes; an older database is rebuilt from the cells' outcome files.
    private const int SchemaVersion = 2;

    /// <summary>Column name and SQLite type of each results table, after its leading <c>cell</c> column.</summary>
    public static readonly IReadOnlyDictionary<string, (string Name, string Type)[]> Tables = new Dictionary<string, (string, string)[]>
    {
        ["epochs"] = [("model", "TEXT"), ("seed", "INTEGER"), ("phase", "TEXT"), ("epoch", "INTEGER"), ("loss", "REAL"), ("train_accuracy", "REAL"),
            ("test_accuracy", "REAL"), ("robust_accuracy", "REAL"), ("seconds", "REAL")],
        ["accuracy"] = [("model", "TEXT"), ("seed", "INTEGER"), ("method_label", "TEXT"), ("flow_label", "TEXT"), ("accuracy", "REAL"), ("correct", "INTEGER"),
            ("total", "INTEGER"), ("sparsity", "REAL")],
        ["sparsity"] = [("model", "TEXT"), ("seed", "INTEGER"), ("layer", "TEXT"), ("zeros", "INTEGER"), ("total", "INTEGER")],
        ["scores"] = [("model", "TEXT"), ("method", "TEXT"), ("metric", "TEXT"), ("seed", "INTEGER"), ("image", "INTEGER"), ("key", "TEXT"), ("value", "REAL")],
        ["figure_images"] = [("image", "INTEGER"), ("label", "INTEGER"), ("class_name", "TEXT"), ("height", "INTEGER"), ("width", "INTEGER"), ("pixels", "BLOB")],
        ["figure_maps"] = [("model", "TEXT"), ("method", "TEXT"), ("seed", "INTEGER"), ("image", "INTEGER"), ("height", "INTEGER"), ("width", "INTEGER"), ("map", "BLOB")],
    };

    private readonly SqliteConnection connection;
    private readonly string folder;

    /// <summary>Opens (or creates) the store of a study folder.</summary>
    public ResultStore(string studyFolder)
    {
        folder = studyFolder;
        Directory.CreateDirectory(studyFolder);
        var path = Path.Combine(studyFolder, FileName);
        connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString());
        connection.Open();
        Execute("PRAGMA journal_mode=WAL;");
        if (Scalar<long>("PRAGMA user_version") != SchemaVersion)
        {
            // An empty database or one of an older Salient: start afresh; the outcome files hold everything.
            foreach (var table in Query("SELECT name FROM sqlite_master WHERE type = 'table'", r => r.GetString(0)))
                Execute($"DROP TABLE IF EXISTS \"{table}\"");
            Execute($"PRAGMA user_version = {SchemaVersion}");
        }
        Execute("""
            CREATE TABLE IF NOT EXISTS cells(
                cell TEXT PRIMARY KEY, kind TEXT NOT NULL, hash TEXT NOT NULL, status TEXT NOT NULL, error TEXT,
                seconds REAL, finished TEXT, host TEXT, stamp TEXT);
            CREATE TEMP TABLE IF NOT EXISTS current(cell TEXT PRIMARY KEY);
            """);
        foreach (var (table, columns) in Tables)
            Execute($"CREATE TABLE IF NOT EXISTS {table}(cell TEXT NOT NULL, {string.Join(", ", columns.Select(c => $"{c.Name} {c.Type}"))});" +
                    $"CREATE INDEX IF NOT EXISTS {table}_cell ON {table}(cell);");
    }

    /// <summary>The cell's recorded status and hash, if it ran.</summary>
    public (string Status, string Hash, string? Error, double? Seconds)? Record(string cell)
    {
        var rows = Query("SELECT status, hash, error, seconds FROM cells WHERE cell = $c",
            r => (r.GetString(0), r.GetString(1), r.IsDBNull(2) ? null : r.GetString(2), r.IsDBNull(3) ? (double?)null : r.GetDouble(3)), ("$c", cell));
        return rows.Count == 0 ? null : rows[0];
    }

    /// <summary>True when the cell finished with this hash (its artefact, if any, is checked by the caller).</summary>
    public bool IsDone(CellPlan cell) => Record(cell.Id) is { Status: CellOutcome.Done } r && r.Hash == cell.Hash;

    /// <summary>
    /// Imports every outcome file of the study folder that changed since it was last imported (by
    /// size and modification time), so cells that other processes or machines ran reach the tables.
    /// Returns the imported outcomes.
    /// </summary>
    public IReadOnlyList<CellOutcome> Sync()
    {
        var imported = new List<CellOutcome>();
        var dir = Path.Combine(folder, StudyPlan.CellsFolder);
        if (!Directory.Exists(dir)) return imported;
        var stamps = Query("SELECT cell, stamp FROM cells", r => (r.GetString(0), r.IsDBNull(1) ? "" : r.GetString(1))).ToDictionary(x => x.Item1, x => x.Item2);
        foreach (var file in Directory.EnumerateFiles(dir, "*.json").Order(StringComparer.Ordinal))
        {
            var stamp = Stamp(file);
            var cell = Path.GetFileNameWithoutExtension(file).Replace('~', '/');
            if (stamps.TryGetValue(cell, out var known) && known == stamp) continue;
            var outcome = CellOutcome.Read(file);
            Import(outcome, stamp);
            imported.Add(outcome);
        }
        return imported;
    }

    private static string Stamp(string file)
    {
        var info = new FileInfo(file);
        return $"{info.Length}:{info.LastWriteTimeUtc.Ticks}";
    }

    /// <summary>Imports an outcome that was just written to its file (so a later <see cref="Sync"/> skips the file).</summary>
    public void Import(CellOutcome outcome, CellPlan cell) => Import(outcome, Stamp(Path.Combine(folder, cell.OutcomeFile)));

    /// <summary>Replaces a cell's rows and record by its outcome, in one transaction.</summary>
    private void Import(CellOutcome outcome, string stamp)
    {
        using var tx = connection.BeginTransaction();
        foreach (var table in Tables.Keys) Run(tx, $"DELETE FROM {table} WHERE cell = $c", ("$c", outcome.Cell));
        foreach (var (table, rows) in outcome.Tables)
        {
            if (!Tables.TryGetValue(table, out var columns))
                throw new SalientException($"The outcome of cell '{outcome.Cell}' has rows for an unknown table '{table}'; it was written by another version of Salient — delete its file and rerun the study.");
            using var cmd = connection.CreateCommand();
            cmd.Transaction = tx;
            cmd.CommandText = $"INSERT INTO {table} VALUES($cell, {string.Join(", ", columns.Select((_, i) => $"$p{i}"))})";
            cmd.Parameters.AddWithValue("$cell", outcome.Cell);
            var ps = columns.Select((_, i) => cmd.Parameters.Add(new SqliteParameter($"$p{i}", null))).ToArray();
            cmd.Prepare();
            foreach (var row in rows)
            {
                if (row.Length != columns.Length)
                    throw new SalientException($"The outcome of cell '{outcome.Cell}' has a '{table}' row of {row.Length} values where the table has {columns.Length} columns; delete its file and rerun the study.");
                for (int i = 0; i < row.Length; i++) ps[i].Value = Convert(row[i], columns[i].Type) ?? DBNull.Value;
                cmd.ExecuteNonQuery();
            }
        }
        Run(tx, "INSERT OR REPLACE INTO cells VALUES($c, $k, $h, $s, $e, $sec, $f, $host, $stamp)",
            ("$c", outcome.Cell), ("$k", outcome.Kind.ToString().ToLowerInvariant()), ("$h", outcome.Hash), ("$s", outcome.Status), ("$e", outcome.Error),
            ("$sec", outcome.Seconds), ("$f", outcome.Finished.ToString("o", CultureInfo.InvariantCulture)), ("$host", outcome.Host), ("$stamp", stamp));
        tx.Commit();
    }

    /// <summary>Records a cell that did not run because a cell it needs failed: its outcome file says so (replacing any older one).</summary>
    public void Skip(CellPlan cell, string reason)
    {
        var outcome = new CellOutcome { Cell = cell.Id, Kind = cell.Kind, Hash = cell.Hash, Status = CellOutcome.Skipped, Error = reason };
        outcome.Write(folder, cell);
        Import(outcome, cell);
    }

    /// <summary>
    /// Restricts what the report reads to the cells of <paramref name="plan"/> that finished with
    /// their planned hash; returns the planned cells that did not (failed, skipped, or not run yet).
    /// </summary>
    public IReadOnlyList<(CellPlan Cell, string Status, string? Error)> Current(StudyPlan plan)
    {
        var records = Query("SELECT cell, status, hash, error FROM cells", r => (Cell: r.GetString(0), Status: r.GetString(1), Hash: r.GetString(2), Error: r.IsDBNull(3) ? null : r.GetString(3)))
            .ToDictionary(r => r.Cell);
        var missing = new List<(CellPlan, string, string?)>();
        using var tx = connection.BeginTransaction();
        Run(tx, "DELETE FROM current");
        foreach (var cell in plan.Cells)
        {
            if (records.TryGetValue(cell.Id, out var r) && r.Hash == cell.Hash && r.Status == CellOutcome.Done)
                Run(tx, "INSERT INTO current VALUES($c)", ("$c", cell.Id));
            else if (records.TryGetValue(cell.Id, out r) && r.Hash == cell.Hash)
                missing.Add((cell, r.Status, r.Error));
            else
                missing.Add((cell, "not run", null));
        }
        tx.Commit();
        return missing;
    }

    /// <summary>Rows of a query; join a results table with <c>current USING(cell)</c> to read only current rows.</summary>
    public IReadOnlyList<T> Query<T>(string sql, Func<SqliteDataReader, T> map, params (string, object?)[] parameters)
    {
        using var cmd = Command(null, sql, parameters);
        var rows = new List<T>();
        using var reader = cmd.ExecuteReader();
        while (reader.Read()) rows.Add(map(reader));
        return rows;
    }

    private T Scalar<T>(string sql)
    {
        using var cmd = Command(null, sql);
        return (T)System.Convert.ChangeType(cmd.ExecuteScalar()!, typeof(T), CultureInfo.InvariantCulture);
    }

    private static object? Convert(object? value, string type)
    {
        if (value is not JsonElement e) return value;
        return e.ValueKind switch
        {
            JsonValueKind.Null or JsonValueKind.Undefined => null,
            JsonValueKind.String when type == "BLOB" => e.GetBytesFromBase64(),
            JsonValueKind.String when type == "REAL" => double.Parse(e.GetString()!, CultureInfo.InvariantCulture), // NaN, Infinity
            JsonValueKind.String => e.GetString(),
            JsonValueKind.Number when type == "INTEGER" => e.GetInt64(),
            JsonValueKind.Number => e.GetDouble(),
            JsonValueKind.True => 1L,
            JsonValueKind.False => 0L,
            _ => throw new SalientException($"A cell outcome holds a value of kind {e.ValueKind} where a {type} is expected."),
        };
    }

    private void Execute(string sql)
    {
        using var cmd = Command(null, sql);
        cmd.ExecuteNonQuery();
    }

    private void Run(SqliteTransaction? tx, string sql, params (string, object?)[] parameters)
    {
        using var cmd = Command(tx, sql, parameters);
        cmd.ExecuteNonQuery();
    }

    private SqliteCommand Command(SqliteTransaction? tx, string sql, params (string Name, object? Value)[] parameters)
    {
        var cmd = connection.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = sql;
        foreach (var (name, value) in parameters) cmd.Parameters.AddWithValue(name, value ?? DBNull.Value);
        return cmd;
    }

    public void Dispose() => connection.Dispose();
}
