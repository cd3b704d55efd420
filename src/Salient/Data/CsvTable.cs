namespace Salient.Data;

/// <summary>
/// A small delimited-text reader for annotation files: a header line names the columns and every
/// problem is reported with the file and line number. Quotes are honoured for fields that contain
/// the separator.
/// </summary>
public sealed class CsvTable
{
    private readonly Dictionary<string, int> columns;

    private CsvTable(string path, string[] header, List<(int Line, string[] Fields)> rows)
    {
        Path = path;
        Header = header;
        Rows = rows;
        columns = header.Select((h, i) => (h.Trim(), i)).GroupBy(p => p.Item1).ToDictionary(g => g.Key, g => g.First().i);
    }

    public string Path { get; }
    public string[] Header { get; }
    public IReadOnlyList<(int Line, string[] Fields)> Rows { get; }

    public static CsvTable Read(string path, char separator)
    {
        if (!File.Exists(path)) throw new SalientException($"Annotation file '{path}' does not exist; check the data folder's layout.");
        var lines = File.ReadAllLines(path);
        if (lines.Length == 0 || string.IsNullOrWhiteSpace(lines[0]))
            throw new SalientException($"'{path}' is empty; it needs a header line naming its columns.");
        var header = Split(lines[0].TrimStart('\uFEFF'), separator);
        var rows = new List<(int, string[])>();
        for (int i = 1; i < lines.Length; i++)
        {
            if (string.IsNullOrWhiteSpace(lines[i])) continue;
            rows.Add((i + 1, Split(lines[i], separator)));
        }
        return new CsvTable(path, header, rows);
    }

    /// <summary>The index of a column, or a clear error naming the file and what the header should hold.</summary>
    public int Column(string name, string expectedHeader)
    {
        if (columns.TryGetValue(name, out var i)) return i;
        throw new SalientException($"'{Path}' has no '{name}' column (line 1 is '{string.Join(",", Header)}'); its header should be '{expectedHeader}'.");
    }

    public bool HasColumn(string name) => columns.ContainsKey(name);

    public string Field((int Line, string[] Fields) row, int column)
    {
        if (column >= row.Fields.Length)
            throw new SalientException($"'{Path}' line {row.Line} has {row.Fields.Length} fields but the header names {Header.Length}; fix or delete that line.");
        return row.Fields[column].Trim();
    }

    public int IntField((int Line, string[] Fields) row, int column)
    {
        var text = Field(row, column);
        if (int.TryParse(text, System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out var v)) return v;
        throw new SalientException($"'{Path}' line {row.Line}: '{Header[column]}' is '{text}', not a whole number; fix or delete that line.");
    }

    public string Where((int Line, string[] Fields) row) => $"'{Path}' line {row.Line}";

    private static string[] Split(string line, char separator)
    {
        if (!line.Contains('"')) return line.Split(separator);
        var fields = new List<string>();
        var current = new System.Text.StringBuilder();
        bool quoted = false;
        for (int i = 0; i < line.Length; i++)
        {
            char c = line[i];
            if (c == '"')
            {
                if (quoted && i + 1 < line.Length && line[i + 1] == '"') { current.Append('"'); i++; }
                else quoted = !quoted;
            }
            else if (c == separator && !quoted) { fields.Add(current.ToString()); current.Clear(); }
            else current.Append(c);
        }
        fields.Add(current.ToString());
        return fields.ToArray();
    }
}
