using System.Globalization;
using System.Text.RegularExpressions;
using Salient.Studies;

namespace Salient.Execution;

/// <summary>
/// One cell run by another process — a local worker or a cluster job: the <c>salient study</c>
/// arguments that run it, and the progress lines that process prints, which the coordinator reads back.
/// </summary>
public static partial class CellCommand
{
    /// <summary>
    /// <c>study --settings FOLDER/settings.json --out FOLDER --cell ID --threads N</c>: runs the cell of
    /// the study in <paramref name="folder"/> (whose settings the coordinator wrote) with N torch threads,
    /// and writes its outcome file. Paths are absolute, so the process may start in any folder.
    /// </summary>
    public static string[] Arguments(string folder, CellPlan cell, int threads)
    {
        var full = Path.GetFullPath(folder);
        return ["study", "--settings", Path.Combine(full, StudyRunner.SettingsFile), "--out", full, "--cell", cell.Id,
            "--threads", threads.ToString(CultureInfo.InvariantCulture)];
    }

    /// <summary>
    /// <c>study --settings FOLDER/settings.json --out FOLDER --worker --threads N</c>: runs the cells whose
    /// ids arrive on its standard input, one per line, until the input closes, and prints
    /// <see cref="FinishedLine"/> after each outcome file is written.
    /// </summary>
    public static string[] WorkerArguments(string folder, int threads)
    {
        var full = Path.GetFullPath(folder);
        return ["study", "--settings", Path.Combine(full, StudyRunner.SettingsFile), "--out", full, "--worker",
            "--threads", threads.ToString(CultureInfo.InvariantCulture)];
    }

    private const string FinishedPrefix = "finished cell ";

    /// <summary>What a worker prints (to stdout) once a cell's outcome file is written.</summary>
    public static string FinishedLine(string cell) => FinishedPrefix + cell;

    public static bool TryParseFinished(string line, out string cell)
    {
        cell = line.StartsWith(FinishedPrefix, StringComparison.Ordinal) ? line[FinishedPrefix.Length..].Trim() : "";
        return cell.Length > 0;
    }

    /// <summary>How a cell's process prints its progress (to stderr, one line per step): "train/Nat/s0: epoch 2/10 35 %".</summary>
    public static string ProgressLine(CellProgress p) =>
        $"{p.Cell}: {p.Stage} {Math.Round(100 * Math.Clamp(p.Fraction, 0, 1)).ToString("0", CultureInfo.InvariantCulture)} %";

    /// <summary>Reads a line of <see cref="ProgressLine"/> back; false for any other line (warnings, errors).</summary>
    public static bool TryParseProgress(string line, out CellProgress progress)
    {
        var match = ProgressPattern().Match(line);
        progress = match.Success
            ? new CellProgress(match.Groups["cell"].Value, match.Groups["stage"].Value, int.Parse(match.Groups["percent"].Value, CultureInfo.InvariantCulture) / 100.0)
            : default;
        return match.Success;
    }

    // Cell ids hold no spaces or colons (see StudyPlan).
    [GeneratedRegex(@"^(?<cell>[^\s:]+): (?<stage>.*) (?<percent>\d{1,3}) %$")]
    private static partial Regex ProgressPattern();
}
