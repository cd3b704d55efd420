using System.Text.RegularExpressions;
using Microsoft.Data.Sqlite;
using Salient.Execution;
using Salient.Execution.Slurm;
using Salient.Models;
using Salient.Studies;
using Salient.Tests.Cli;
using static Salient.Tests.Execution.StudyGrids;
using static Salient.Tests.Execution.TestCluster;

namespace Salient.Tests.Execution;

/// <summary>Study cells as jobs of the real one-node Slurm of .ci/slurm-up (<c>--executor slurm</c>).</summary>
[Collection("Console")]
public sealed class SlurmExecutorTests : IDisposable
{
    /// <summary>One CPU per job (so one torch thread, as the in-process reference uses), room for libtorch.</summary>
    private static readonly SlurmSettings Jobs = TestCluster.Settings with { SalientCommand = SalientProgram, Memory = "1G" };

    private static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(500);
    private readonly List<TempFolder> folders = [];

    /// <summary>A study folder that outlives the test until its jobs are cancelled (see <see cref="Dispose"/>).</summary>
    private TempFolder Folder()
    {
        var folder = new TempFolder();
        folders.Add(folder);
        return folder;
    }

    /// <summary>The job of each cell, as its .job file records it.</summary>
    private static Dictionary<string, SlurmExecutor.JobRecord> Records(StudySettings settings, string folder) =>
        StudyPlan.Build(settings).Cells.Select(c => (c.Id, Record: SlurmExecutor.ReadRecord(folder, c)))
            .Where(r => r.Record is not null).ToDictionary(r => r.Id, r => r.Record!);

    // A test that failed midway leaves no job behind to hold the node.
    public void Dispose()
    {
        var jobs = folders.Select(f => Path.Combine(f.Path, StudyPlan.CellsFolder)).Where(Directory.Exists)
            .SelectMany(cells => Directory.GetFiles(cells, "*.job"))
            .Select(file => System.Text.Json.JsonDocument.Parse(File.ReadAllText(file)).RootElement.GetProperty("jobId").GetString()!).ToList();
        if (jobs.Count > 0) new SlurmClient(Jobs).Cancel(jobs);
        foreach (var folder in folders) folder.Dispose();
    }

    [SlurmFact]
    public void GridThroughSlurmGivesTheSameTablesBitForBitAsTheLocalRun()
    {
        using var local = new TempFolder();
        var cluster = Folder();
        var settings = Small with { Slurm = Jobs };
        RunInProcess(settings, local.Path, threads: Jobs.CpusPerTask);

        var seen = new List<StudyProgress>();
        var outcome = new StudyRunner(settings, cluster.Path, Collect(seen), executor: new SlurmExecutor(settings.Slurm, pollInterval: Poll)).Run();

        Assert.Empty(outcome.Failed);
        Assert.Equal(SmallCells, outcome.Computed.Count);
        Assert.Equal(Rows(local.Path), Rows(cluster.Path));
        Assert.Equal(Tables(local.Path), Tables(cluster.Path));
        // One job per cell, each told with the jobs it waits for (afterok), and run outside this process.
        var jobs = Records(settings, cluster.Path);
        Assert.Equal(SmallCells, jobs.Values.Select(j => j.JobId).Distinct().Count());
        var messages = Messages(seen);
        foreach (var cell in StudyPlan.Build(settings).Cells)
            Assert.Contains($"Slurm job {jobs[cell.Id].JobId}: {cell.Id}" + (cell.DependsOn.Count == 0 ? "" : $" (after {string.Join(", ", cell.DependsOn.Select(d => jobs[d].JobId))})"), messages);
        Assert.DoesNotContain(ThisProcess, Hosts(settings, cluster.Path));
    }

    [SlurmFact]
    public void ScancelOfARunningCellMakesTheRerunResubmitOnlyThatCell()
    {
        var study = Folder();
        // Two models that train long enough to be caught running; nothing depends on the adversarial one.
        var settings = NaturalModelOnly() with { Strategies = ["natural", "adversarial"], Training = Tiny.Training with { Epochs = 30 }, Slurm = Jobs };
        var file = study["settings.json"];
        File.WriteAllText(file, settings.ToJson());
        string[] command = ["study", "--settings", file, "--out", study.Path, "--executor", "slurm"];

        var first = CliRunner.Run([.. command, "--no-wait"]);
        Assert.True(first.Exit == 0, first.Out + first.Err);
        var jobs = Records(settings, study.Path);
        foreach (var cell in new[] { "data", "train/Nat/s0", "train/Adv/s0" })
            Assert.Contains($"Slurm job {jobs[cell].JobId}: {cell}", first.Out);
        Assert.Contains("Cells queued or running as Slurm jobs: 3.", first.Out);

        // While they are queued or running, a rerun submits nothing.
        var again = CliRunner.Run([.. command, "--no-wait"]);
        Assert.True(again.Exit == 0, again.Out + again.Err);
        Assert.DoesNotMatch(@"Slurm job \d+:", again.Out);
        Assert.Equal(jobs, Records(settings, study.Path));

        var adversarial = jobs["train/Adv/s0"];
        WaitUntil(() => File.Exists(adversarial.Log) && File.ReadAllText(adversarial.Log).Contains("train/Adv/s0: epoch 2/30"), "the adversarial model's second epoch");
        Admin("scancel", adversarial.JobId);
        var client = new SlurmClient(Jobs);
        foreach (var job in jobs.Values) WaitUntilFinished(client, job.JobId);
        Assert.Equal(SlurmJobState.Cancelled, client.Query([adversarial.JobId])[adversarial.JobId].State);
        var plan = StudyPlan.Build(settings);
        Assert.False(File.Exists(Path.Combine(study.Path, plan.Get("train/Adv/s0").OutcomeFile)));

        // The rerun resubmits the cancelled cell alone and follows it to the end.
        var rerun = CliRunner.Run(command);
        Assert.True(rerun.Exit == 0, rerun.Out + rerun.Err);
        Assert.Equal(["train/Adv/s0"], Regex.Matches(rerun.Out, @"^Slurm job \d+: (\S+)", RegexOptions.Multiline).Select(m => m.Groups[1].Value));
        Assert.Contains("Cells computed: 1, reused: 2, failed or skipped: 0.", rerun.Out);
        Assert.Equal(2, Records(settings, study.Path)["train/Adv/s0"].Attempt);
    }

    [SlurmFact]
    public void AJobKilledMidCellLeavesNoHalfWrittenResultAndTheRerunMatchesAnUninterruptedRun()
    {
        using var local = new TempFolder();
        var study = Folder();
        var settings = NaturalModelOnly("gini") with
        {
            Explanations = Tiny.Explanations with { Methods = ["vg"] }, Training = Tiny.Training with { Epochs = 30 }, Slurm = Jobs,
        };
        RunInProcess(settings, local.Path, threads: Jobs.CpusPerTask);
        var plan = StudyPlan.Build(settings);
        var train = plan.Get("train/Nat/s0");

        var seen = new List<StudyProgress>();
        var run = Task.Run(() => new StudyRunner(settings, study.Path, Collect(seen), executor: new SlurmExecutor(settings.Slurm, pollInterval: Poll)).Run());
        WaitUntil(() => SlurmExecutor.ReadRecord(study.Path, train) is { } r && File.Exists(r.Log) && File.ReadAllText(r.Log).Contains("epoch 3/30"), "the third epoch of training");
        var killed = SlurmExecutor.ReadRecord(study.Path, train)!;
        // SIGKILL to the job's process, as the kernel's OOM killer would send it: nothing can tidy up.
        var pids = Admin("scontrol", "listpids", killed.JobId).Split('\n').Skip(1).Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Where(f => f.Length >= 3 && f[2] == "batch").Select(f => int.Parse(f[0])).ToList();
        Assert.NotEmpty(pids);
        foreach (var pid in pids) System.Diagnostics.Process.GetProcessById(pid).Kill();
        var outcome = run.GetAwaiter().GetResult();

        var reasons = outcome.Failed.ToDictionary(f => f.Cell, f => f.Error);
        Assert.Equal($"train/Nat/s0: {reasons["train/Nat/s0"]}", Messages(seen).Single(m => m.StartsWith("train/Nat/s0: ")));
        Assert.Equal($"Slurm job {killed.JobId} failed: killed by signal 9; its log is {killed.Log}.", reasons["train/Nat/s0"]);
        Assert.StartsWith("skipped: it needs train/Nat/s0", reasons["explain/Nat/vg/s0"]);
        Assert.StartsWith("skipped: it needs", reasons["metric/gini/Nat/vg/s0"]);

        // Nothing half-written: every model file there is whole (the last epoch's checkpoint, to resume from),
        // no maps were made, and the store is intact and records the failure.
        foreach (var model in Directory.GetFiles(Path.Combine(study.Path, StudyPlan.ModelsFolder)).Where(f => !Path.GetFileName(f).StartsWith('.')))
            Checkpoint.Load(model).Dispose();
        Assert.False(Directory.Exists(Path.Combine(study.Path, StudyPlan.MapsFolder)));
        using (var connection = new SqliteConnection($"Data Source={Path.Combine(study.Path, ResultStore.FileName)};Pooling=false"))
        {
            connection.Open();
            using var check = connection.CreateCommand();
            check.CommandText = "PRAGMA integrity_check";
            Assert.Equal("ok", check.ExecuteScalar());
        }
        using (var store = new ResultStore(study.Path))
            Assert.Equal(CellOutcome.Failed, store.Record("train/Nat/s0")!.Value.Status);

        // The rerun resubmits the killed cell and the two that need it; training resumes from its last
        // epoch and the tables come out as an uninterrupted run's.
        var rerun = new StudyRunner(settings, study.Path, executor: new SlurmExecutor(settings.Slurm, pollInterval: Poll)).Run();
        Assert.Empty(rerun.Failed);
        Assert.Equal(["train/Nat/s0", "explain/Nat/vg/s0", "metric/gini/Nat/vg/s0"], rerun.Computed);
        Assert.Equal(Rows(local.Path), Rows(study.Path));
        Assert.Equal(Tables(local.Path), Tables(study.Path));
    }

    [SlurmFact]
    public void WhileTheNodeIsDownTheCellsStayPendingAndTheCommandSaysWhy()
    {
        var study = Folder();
        var settings = NaturalModelOnly() with { Slurm = Jobs };
        var plan = StudyPlan.Build(settings);
        Admin("scontrol", "update", $"nodename={Node}", "state=down", "reason=salient-test");
        try
        {
            var seen = new List<StudyProgress>();
            using var stop = new CancellationTokenSource();
            var run = Task.Run(() => new StudyRunner(settings, study.Path, Collect(seen), stop.Token, new SlurmExecutor(settings.Slurm, pollInterval: Poll)).Run());
            WaitUntil(() => Messages(seen).Any(m => m.StartsWith("Slurm holds cells back")), "the command to say why the cells wait");
            stop.Cancel();
            Assert.ThrowsAny<OperationCanceledException>(() => run.GetAwaiter().GetResult());

            // Slurm's own reason, and the cells it holds back.
            var told = Messages(seen).Where(m => m.StartsWith("Slurm holds cells back")).ToList();
            const string pattern = @"^Slurm holds cells back because of: .*(UnavailableNodes:localhost|DOWN).*\(Slurm's reason; 'sinfo' shows the nodes' state\)\. They start when Slurm can run them: (data|train/Nat/s0)";
            Assert.True(told.Any(m => Regex.IsMatch(m, pattern)), string.Join("\n", told));
            var client = new SlurmClient(Jobs);
            var jobs = Records(settings, study.Path);
            Assert.All(jobs.Values, j => Assert.Equal(SlurmJobState.Pending, client.Query([j.JobId])[j.JobId].State));
            Assert.All(plan.Cells, c => Assert.False(File.Exists(Path.Combine(study.Path, c.OutcomeFile))));

            // Back up: the rerun follows the queued jobs rather than submitting the cells again.
            Admin("scontrol", "update", $"nodename={Node}", "state=resume");
            seen.Clear();
            var outcome = new StudyRunner(settings, study.Path, Collect(seen), executor: new SlurmExecutor(settings.Slurm, pollInterval: Poll)).Run();
            Assert.Empty(outcome.Failed);
            // Which of the two the queue ran by the time the rerun looked is a race; that both were computed, not resubmitted, is the point.
            Assert.Equal(["data", "train/Nat/s0"], outcome.Computed.Order());
            Assert.Contains("Cells submitted to Slurm: 0, already queued or running: 2; job logs in " + Path.Combine(study.Path, SlurmExecutor.LogsFolder) + ".", Messages(seen));
            Assert.Equal(jobs, Records(settings, study.Path));
        }
        finally
        {
            if (NodeState().StartsWith("down")) Admin("scontrol", "update", $"nodename={Node}", "state=resume");
        }
    }

    [Fact]
    public void AProgramJobsCannotFindStopsBeforeAnythingIsSubmitted()
    {
        var missing = Assert.Throws<SalientException>(() => new SlurmExecutor(new SlurmSettings { SalientCommand = ["no-such-salient-program"] }));
        Assert.Equal("'slurm.salientCommand' starts with 'no-such-salient-program', which is not on this machine's PATH; give the full path of salient on the file system the nodes share, " +
                     "e.g. [\"/shared/salient/salient\"] (a self-contained 'dotnet publish'; see README, \"Running on a Slurm cluster\").", missing.Message);
        var absent = Assert.Throws<SalientException>(() => new SlurmExecutor(new SlurmSettings { SalientCommand = ["/nowhere/salient"] }));
        Assert.StartsWith("'slurm.salientCommand' names '/nowhere/salient', which does not exist;", absent.Message);
    }

    [Fact]
    public void BadSlurmSettingsInAStudyFileAreNamedBeforeAnyWork()
    {
        using var folder = new TempFolder();
        File.WriteAllText(folder["study.json"], (Tiny with { Slurm = new SlurmSettings { CpusPerTask = 0 } }).ToJson());
        var e = Assert.Throws<SalientException>(() => StudySettings.Load(folder["study.json"]));
        Assert.Equal("'slurm.cpusPerTask' must be at least 1, got 0.", e.Message);
    }
}
