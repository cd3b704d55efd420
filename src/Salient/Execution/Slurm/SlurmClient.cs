using System.Globalization;

namespace Salient.Execution.Slurm;

/// <summary>
/// Submits, follows and cancels Slurm jobs through Slurm's own commands (sbatch, squeue, sacct,
/// scancel) on the machine that runs it — a cluster's login node, or any machine where those
/// commands reach the controller. A failing command is a <see cref="SalientException"/> naming it
/// with its stderr.
/// </summary>
public sealed class SlurmClient
{
    /// <summary>
    /// The batch script Slurm stores with every job. It replaces itself with the job's command, which
    /// sbatch passes on as the script's arguments, one by one: no shell parses a path or an argument.
    /// </summary>
    private const string Launcher = "#!/bin/sh\nexec \"$@\"\n";

    public SlurmClient(SlurmSettings settings)
    {
        settings.Validate();
        Settings = settings;
    }

    public SlurmSettings Settings { get; }

    /// <summary>Submits one job with the settings' resources and returns its job id.</summary>
    public string Submit(SlurmJobRequest job)
    {
        if (job.Command.Count == 0 || string.IsNullOrWhiteSpace(job.Command[0]))
            throw new SalientException($"Slurm job '{job.Name}' has no command to run.");
        if (string.IsNullOrWhiteSpace(job.Name) || job.Name.Any(char.IsControl))
            throw new SalientException($"Slurm job name \"{job.Name}\" must be non-empty and on one line.");
        foreach (var log in new[] { job.OutputLog, job.ErrorLog }.OfType<string>())
        {
            // Slurm writes the log from the node but does not create its folder: a missing one would fail the job silently.
            var folder = Path.GetDirectoryName(Path.GetFullPath(log))!;
            try { Directory.CreateDirectory(folder); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new SalientException($"Cannot create the folder '{folder}' for the log of Slurm job '{job.Name}': {e.Message.TrimEnd('.')}.", e);
            }
        }

        var arguments = new List<string>
        {
            "--parsable",
            "--job-name=" + job.Name,
            "--output=" + LogPattern(job.OutputLog),
            "--error=" + LogPattern(job.ErrorLog ?? job.OutputLog),
            "--time=" + Settings.TimeLimit,
            "--cpus-per-task=" + Settings.CpusPerTask.ToString(CultureInfo.InvariantCulture),
            // A dependent of a failed job can never run: Slurm cancels it rather than keeping it pending
            // for ever, whatever the cluster's kill_invalid_depend setting, so a rerun can resubmit it.
            "--kill-on-invalid-dep=yes",
        };
        if (Settings.Partition.Length > 0) arguments.Add("--partition=" + Settings.Partition);
        if (Settings.Memory.Length > 0) arguments.Add("--mem=" + Settings.Memory);
        if (job.WorkingDirectory is not null) arguments.Add("--chdir=" + Path.GetFullPath(job.WorkingDirectory));
        if (job.AfterOk.Count > 0) arguments.Add("--dependency=afterok:" + string.Join(":", job.AfterOk.Select(CheckedJobId)));
        arguments.AddRange(Settings.ExtraArguments);
        arguments.Add("/dev/stdin"); // the launcher, read by sbatch at submission
        arguments.AddRange(job.Command);

        var printed = SlurmCommand.Output("sbatch", arguments, Launcher).Trim();
        var id = printed.Split(';')[0]; // --parsable prints "id" or "id;cluster"
        if (!IsJobId(id))
            throw new SalientException($"sbatch printed \"{printed}\" instead of a job id for Slurm job '{job.Name}'.");
        return id;
    }

    /// <summary>
    /// The state of each job: from the controller while it remembers the job (pending with its reason,
    /// running, or finished within the cluster's MinJobAge), else from accounting
    /// (<see cref="QueryAccounting"/>); <see cref="SlurmJobState.Unknown"/> if neither knows it.
    /// </summary>
    public IReadOnlyDictionary<string, SlurmJobStatus> Query(IEnumerable<string> jobIds)
    {
        var ids = jobIds.Select(CheckedJobId).Distinct().ToList();
        var statuses = new Dictionary<string, SlurmJobStatus>();
        if (ids.Count == 0) return statuses;

        string[] arguments = ["--noheader", "--states=all", "--jobs=" + string.Join(",", ids),
            "--Format=JobID:0|,State:0|,exit_code:0|,Reason:0|,STDOUT:0"];
        var result = SlurmCommand.Run("squeue", arguments);
        // squeue asked for one id the controller no longer knows says so as an error; for several it lists the rest.
        if (result.ExitCode != 0 && !result.Error.Contains("Invalid job id specified"))
            throw SlurmCommand.Failure("squeue", arguments, result);
        if (result.ExitCode == 0)
            foreach (var line in Lines(result.Output))
            {
                var fields = line.Split('|', 5); // the log path comes last: it may itself hold a '|'
                if (fields.Length < 5) throw Unreadable("squeue", line);
                var state = fields[1];
                var folded = SlurmJobStatus.Fold(state);
                var finished = folded is not (SlurmJobState.Pending or SlurmJobState.Running);
                // squeue gives the raw wait status: exit code in the high byte, signal in the low bits.
                if (!int.TryParse(fields[2], CultureInfo.InvariantCulture, out var waitStatus)) finished = false;
                statuses[fields[0]] = new SlurmJobStatus(fields[0], folded, state, ReasonOrNull(fields[3]),
                    finished ? (waitStatus >> 8) & 0xff : null, finished ? waitStatus & 0x7f : null,
                    fields[4].Length == 0 ? null : fields[4].Replace("%%", "%"));
            }

        var forgotten = ids.Where(id => !statuses.ContainsKey(id)).ToList();
        if (forgotten.Count > 0)
            foreach (var (id, status) in QueryAccounting(forgotten))
                statuses[id] = status;
        foreach (var id in ids)
            statuses.TryAdd(id, new SlurmJobStatus(id, SlurmJobState.Unknown, "", null, null, null, null));
        return statuses;
    }

    /// <summary>
    /// What Slurm's accounting says about the jobs: sacct, or — on a cluster without an accounting
    /// database — its job completion log (sacct --completion). Jobs it does not know are left out.
    /// </summary>
    public IReadOnlyDictionary<string, SlurmJobStatus> QueryAccounting(IEnumerable<string> jobIds)
    {
        var ids = jobIds.Select(CheckedJobId).Distinct().ToList();
        var statuses = new Dictionary<string, SlurmJobStatus>();
        if (ids.Count == 0) return statuses;

        List<string> arguments = ["--noheader", "--parsable2", "--allocations", "--jobs=" + string.Join(",", ids),
            "--format=JobID,State,ExitCode,Reason"];
        var result = SlurmCommand.Run("sacct", arguments);
        if (result.ExitCode != 0 && result.Error.Contains("accounting storage is disabled"))
        {
            arguments.Insert(0, "--completion");
            result = SlurmCommand.Run("sacct", arguments);
        }
        if (result.ExitCode != 0) throw SlurmCommand.Failure("sacct", arguments, result);

        foreach (var line in Lines(result.Output))
        {
            var fields = line.Split('|');
            if (fields.Length < 4) throw Unreadable("sacct", line);
            if (!ids.Contains(fields[0])) continue;
            var state = fields[1].Split(' ')[0]; // "CANCELLED by 1000"
            var folded = SlurmJobStatus.Fold(state);
            var finished = folded is not (SlurmJobState.Pending or SlurmJobState.Running);
            var exit = fields[2].Split(':'); // "exit:signal"
            var exitCode = finished && exit.Length == 2 && int.TryParse(exit[0], out var e) ? e : (int?)null;
            var signal = finished && exit.Length == 2 && int.TryParse(exit[1], out var s) ? s : (int?)null;
            // A requeued job has one record per run; the last one is the current.
            statuses[fields[0]] = new SlurmJobStatus(fields[0], folded, state, ReasonOrNull(fields[3]), exitCode, signal, null);
        }
        return statuses;
    }

    /// <summary>Cancels the jobs (scancel); cancelling a job that has already ended does nothing.</summary>
    public void Cancel(IEnumerable<string> jobIds)
    {
        var ids = jobIds.Select(CheckedJobId).Distinct().ToList();
        if (ids.Count > 0) SlurmCommand.Output("scancel", ids);
    }

    // sbatch expands %j, %x, … in log paths; "%%" is a literal '%'.
    private static string LogPattern(string path) => Path.GetFullPath(path).Replace("%", "%%");

    private static string? ReasonOrNull(string reason) => reason is "" or "None" ? null : reason;

    private static bool IsJobId(string id) => id.Length > 0 && id.All(c => char.IsAsciiDigit(c) || c == '_');

    private static string CheckedJobId(string id) =>
        IsJobId(id) ? id : throw new SalientException($"\"{id}\" is not a Slurm job id (digits, as sbatch prints them).");

    private static IEnumerable<string> Lines(string output) =>
        output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    private static SalientException Unreadable(string command, string line) =>
        new($"{command} printed a line this version of Salient cannot read: \"{line}\".");
}
