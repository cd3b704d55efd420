using System.Text.RegularExpressions;

namespace Salient.Execution.Slurm;

/// <summary>
/// How each job asks Slurm for resources, and how a node starts <c>salient</c>. In a study's
/// settings file this is the <c>slurm</c> object; the defaults suit one cell of the paper's grid.
/// </summary>
public sealed partial record SlurmSettings
{
    /// <summary>sbatch --partition; empty: the cluster's default partition.</summary>
    public string Partition { get; init; } = "";

    /// <summary>
    /// sbatch --time, in Slurm's notation: "minutes", "hours:minutes:seconds", "days-hours",
    /// "days-hours:minutes:seconds", or "UNLIMITED". A job still running then is ended (TIMEOUT).
    /// </summary>
    public string TimeLimit { get; init; } = "1-00:00:00";

    /// <summary>sbatch --cpus-per-task: the CPUs each job (one cell) gets.</summary>
    public int CpusPerTask { get; init; } = 4;

    /// <summary>sbatch --mem, memory per job: a number with K, M, G or T (Slurm reads a bare number as MB); empty: the cluster's default.</summary>
    public string Memory { get; init; } = "8G";

    /// <summary>
    /// More sbatch options, one item each in the --name=value form, e.g. "--account=mylab" or
    /// "--qos=long". They come after Salient's own, so they can override them.
    /// </summary>
    public string[] ExtraArguments { get; init; } = [];

    /// <summary>
    /// The program (and any leading arguments) that runs salient on a node, e.g. the path of a
    /// self-contained publish on the shared file system: "/shared/salient/salient". Nodes need no .NET SDK then.
    /// </summary>
    public string[] SalientCommand { get; init; } = ["salient"];

    /// <summary>The argument list a job runs: <see cref="SalientCommand"/> followed by salient's own arguments.</summary>
    public string[] SalientInvocation(params string[] salientArguments) => [.. SalientCommand, .. salientArguments];

    public void Validate()
    {
        if (Partition.Any(char.IsWhiteSpace))
            throw new SalientException($"'slurm.partition' = \"{Partition}\" contains a space; give one partition name (or several separated by commas), or leave it empty for the cluster's default.");
        if (!TimeLimitPattern().IsMatch(TimeLimit))
            throw new SalientException($"'slurm.timeLimit' = \"{TimeLimit}\" is not a Slurm time limit; write minutes (\"90\"), \"hours:minutes:seconds\" (\"12:00:00\"), \"days-hours:minutes:seconds\" (\"2-00:00:00\") or \"UNLIMITED\".");
        if (CpusPerTask < 1)
            throw new SalientException($"'slurm.cpusPerTask' must be at least 1, got {CpusPerTask}.");
        if (Memory.Length > 0 && !MemoryPattern().IsMatch(Memory))
            throw new SalientException($"'slurm.memory' = \"{Memory}\" is not a Slurm memory size; write a number with K, M, G or T (\"8G\", \"500M\"), or leave it empty for the cluster's default.");
        foreach (var argument in ExtraArguments)
            if (!argument.StartsWith('-') || (argument.Any(char.IsWhiteSpace) && !argument.Contains('=')))
                throw new SalientException($"'slurm.extraArguments' item \"{argument}\" is not one sbatch option; write each option as one item in the --name=value form, e.g. \"--account=mylab\".");
        if (SalientCommand.Length == 0 || string.IsNullOrWhiteSpace(SalientCommand[0]))
            throw new SalientException("'slurm.salientCommand' is empty; give the program that runs salient on a node, e.g. [\"/shared/salient/salient\"] (a self-contained 'dotnet publish', see README).");
    }

    [GeneratedRegex(@"^(\d+(:\d{1,2}){0,2}|\d+-\d{1,2}(:\d{1,2}){0,2}|UNLIMITED|INFINITE)$", RegexOptions.IgnoreCase)]
    private static partial Regex TimeLimitPattern();

    [GeneratedRegex(@"^\d+[KMGT]?$", RegexOptions.IgnoreCase)]
    private static partial Regex MemoryPattern();
}
