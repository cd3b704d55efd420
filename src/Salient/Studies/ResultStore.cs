using System.Globalization;
using Microsoft.Data.Sqlite;

namespace Salient.Studies;

/// <summary>
/// The study's SQLite database (<c>results.db</c> in the study folder): which cells finished with
/// which settings hash, per-epoch training curves, accuracy, per-image Gini and ROAD outcomes,
/// gradient norms and sparsity. Reports are made from it alone, without recomputing.
/// </summary>
public sealed class ResultStore : IDisposable
{
    private readonly SqliteConnection connection;

    public ResultStore(string path)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString());
        connection.Open();
        Execute("PRAGMA journal_mode=WAL;");
        Execute("""
            CREATE TABLE IF NOT EXISTS cells(
                cell TEXT PRIMARY KEY, kind TEXT NOT NULL, model TEXT, method TEXT, seed INTEGER,
                hash TEXT NOT NULL, settings TEXT NOT NULL, status TEXT NOT NULL, error TEXT,
                seconds REAL, finished TEXT);
            CREATE TABLE IF NOT EXISTS epochs(
                model TEXT, seed INTEGER, phase TEXT, epoch INTEGER, loss REAL, train_accuracy REAL, test_accuracy REAL, seconds REAL,
                PRIMARY KEY(model, seed, phase, epoch));
            CREATE TABLE IF NOT EXISTS accuracy(
                model TEXT, seed INTEGER, method_label TEXT, flow_label TEXT, accuracy REAL, correct INTEGER, total INTEGER,
                sparsity REAL, PRIMARY KEY(model, seed));
            CREATE TABLE IF NOT EXISTS sparsity(
                model TEXT, seed INTEGER, layer TEXT, zeros INTEGER, total INTEGER, PRIMARY KEY(model, seed, layer));
            CREATE TABLE IF NOT EXISTS gini(
                model TEXT, method TEXT, seed INTEGER, image INTEGER, value REAL, PRIMARY KEY(model, method, seed, image));
            CREATE TABLE IF NOT EXISTS road(
                model TEXT, method TEXT, seed INTEGER, ordering TEXT, percentage REAL, image INTEGER, correct INTEGER,
                PRIMARY KEY(model, method, seed, ordering, percentage, image));
            CREATE TABLE IF NOT EXISTS grad_norm(
                model TEXT, seed INTEGER, image INTEGER, value REAL, PRIMARY KEY(model, seed, image));
            CREATE TABLE IF NOT EXISTS figure_images(
                seed INTEGER, image INTEGER, label INTEGER, class_name TEXT, height INTEGER, width INTEGER, pixels BLOB,
                PRIMARY KEY(seed, image));
            CREATE TABLE IF NOT EXISTS figure_maps(
                model TEXT, method TEXT, seed INTEGER, image INTEGER, height INTEGER, width INTEGER, map BLOB,
                PRIMARY KEY(model, method, seed, image));
            """);
    }

    public string? FinishedHash(string cell)
    {
        using var cmd = Command("SELECT hash FROM cells WHERE cell = $cell AND status = 'done'", ("$cell", cell));
        return cmd.ExecuteScalar() as string;
    }

    /// <summary>Runs <paramref name="write"/> and marks the cell done in one transaction, so a kill never leaves half a result.</summary>
    public void Complete(CellRecord cell, Action<Writer> write)
    {
        using var tx = connection.BeginTransaction();
        var writer = new Writer(this, tx);
        writer.Delete(cell);
        write(writer);
        writer.Run("INSERT OR REPLACE INTO cells VALUES($cell,$kind,$model,$method,$seed,$hash,$settings,'done',NULL,$seconds,$finished)",
            ("$cell", cell.Cell), ("$kind", cell.Kind), ("$model", cell.Model), ("$method", cell.Method), ("$seed", (long)cell.Seed),
            ("$hash", cell.Hash), ("$settings", cell.Settings), ("$seconds", cell.Seconds), ("$finished", DateTime.UtcNow.ToString("o", CultureInfo.InvariantCulture)));
        tx.Commit();
    }

    /// <summary>Replaces a whole table's rows (data that belongs to the study, not to one cell).</summary>
    public void Replace(string table, IEnumerable<object?[]> rows)
    {
        using var tx = connection.BeginTransaction();
        var writer = new Writer(this, tx);
        writer.Run($"DELETE FROM {table}");
        var list = rows.ToList();
        if (list.Count > 0)
            writer.Bulk($"INSERT INTO {table} VALUES({string.Join(",", Enumerable.Range(0, list[0].Length).Select(i => $"$p{i}"))})", list);
        tx.Commit();
    }

    public void Fail(CellRecord cell, string error)
    {
        using var cmd = Command("INSERT OR REPLACE INTO cells VALUES($cell,$kind,$model,$method,$seed,$hash,$settings,'failed',$error,$seconds,$finished)",
            ("$cell", cell.Cell), ("$kind", cell.Kind), ("$model", cell.Model), ("$method", cell.Method), ("$seed", (long)cell.Seed),
            ("$hash", cell.Hash), ("$settings", cell.Settings), ("$error", error), ("$seconds", cell.Seconds), ("$finished", DateTime.UtcNow.ToString("o", CultureInfo.InvariantCulture)));
        cmd.ExecuteNonQuery();
    }

    public IReadOnlyList<(string Cell, string Kind, string Status, string? Error, double? Seconds)> Cells()
    {
        using var cmd = Command("SELECT cell, kind, status, error, seconds FROM cells ORDER BY rowid");
        return Read(cmd, r => (r.GetString(0), r.GetString(1), r.GetString(2), r.IsDBNull(3) ? null : r.GetString(3), r.IsDBNull(4) ? (double?)null : r.GetDouble(4)));
    }

    /// <summary>Rows of any query, for the report's tables.</summary>
    public IReadOnlyList<T> Query<T>(string sql, Func<SqliteDataReader, T> map, params (string, object?)[] parameters)
    {
        using var cmd = Command(sql, parameters);
        return Read(cmd, map);
    }

    private static List<T> Read<T>(SqliteCommand cmd, Func<SqliteDataReader, T> map)
    {
        var rows = new List<T>();
        using var reader = cmd.ExecuteReader();
        while (reader.Read()) rows.Add(map(reader));
        return rows;
    }

    private void Execute(string sql)
    {
        using var cmd = Command(sql);
        cmd.ExecuteNonQuery();
    }

    private SqliteCommand Command(string sql, params (string Name, object? Value)[] parameters)
    {
        var cmd = connection.CreateCommand();
        cmd.CommandText = sql;
        foreach (var (name, value) in parameters) cmd.Parameters.AddWithValue(name, value ?? DBNull.Value);
        return cmd;
    }

    public void Dispose() => connection.Dispose();

    /// <summary>Writes one cell's rows inside its transaction.</summary>
    public sealed class Writer
    {
        private readonly ResultStore store;
        private readonly SqliteTransaction tx;

        internal Writer(ResultStore store, SqliteTransaction tx) => (this.store, this.tx) = (store, tx);

        internal void Run(string sql, params (string, object?)[] parameters)
        {
            using var cmd = store.Command(sql, parameters);
            cmd.Transaction = tx;
            cmd.ExecuteNonQuery();
        }

        /// <summary>Many rows of one statement, prepared once.</summary>
        public void Bulk(string sql, IEnumerable<object?[]> rows)
        {
            using var cmd = store.connection.CreateCommand();
            cmd.Transaction = tx;
            cmd.CommandText = sql;
            SqliteParameter[]? ps = null;
            foreach (var row in rows)
            {
                if (ps is null)
                {
                    ps = Enumerable.Range(0, row.Length).Select(i => cmd.Parameters.Add(new SqliteParameter($"$p{i}", null))).ToArray();
                    cmd.Prepare();
                }
                for (int i = 0; i < row.Length; i++) ps[i].Value = row[i] ?? DBNull.Value;
                cmd.ExecuteNonQuery();
            }
        }

        /// <summary>Removes what an earlier run of this cell (other settings) wrote.</summary>
        internal void Delete(CellRecord cell)
        {
            switch (cell.Kind)
            {
                case CellKinds.Train:
                    Run("DELETE FROM epochs WHERE model = $m AND seed = $s", ("$m", cell.Model), ("$s", (long)cell.Seed));
                    Run("DELETE FROM accuracy WHERE model = $m AND seed = $s", ("$m", cell.Model), ("$s", (long)cell.Seed));
                    Run("DELETE FROM sparsity WHERE model = $m AND seed = $s", ("$m", cell.Model), ("$s", (long)cell.Seed));
                    break;
                case CellKinds.GradientNorm:
                    Run("DELETE FROM grad_norm WHERE model = $m AND seed = $s", ("$m", cell.Model), ("$s", (long)cell.Seed));
                    break;
                case CellKinds.Explain:
                    foreach (var table in new[] { "gini", "road", "figure_maps" })
                        Run($"DELETE FROM {table} WHERE model = $m AND method = $x AND seed = $s", ("$m", cell.Model), ("$x", cell.Method), ("$s", (long)cell.Seed));
                    break;
            }
        }
    }
}

public static class CellKinds
{
    public const string Train = "train";
    public const string Explain = "explain";
    public const string GradientNorm = "grad-norm";
}

/// <summary>One cell of the grid as the store records it.</summary>
public sealed record CellRecord(string Cell, string Kind, string Model, string? Method, ulong Seed, string Hash, string Settings, double Seconds);
