using System.Diagnostics;
using Salient.Execution;
using Salient.Studies;
using Salient.Tests.Cli;
using static Salient.Tests.Execution.StudyGrids;

namespace Salient.Tests.Execution;

/// <summary>Cells run by local worker processes (<c>--executor local --jobs N</c>).</summary>
[Collection("Console")]
public class LocalProcessExecutorTests
{
    [Fact]
    public void TwoWorkersGiveTheSameTablesBitForBitAsTheInProcessRun()
    {
        using var inProcess = new TempFolder();
        using var workers = new TempFolder();
        RunInProcess(Small, inProcess.Path, threads: 1);

        var seen = new List<StudyProgress>();
        var outcome = new StudyRunner(Small, workers.Path, Collect(seen), executor: new LocalProcessExecutor(SalientProgram, jobs: 2, threadsPerCell: 1)).Run();

        Assert.Empty(outcome.Failed);
        Assert.Equal(SmallCells, outcome.Computed.Count);
        Assert.Equal(Rows(inProcess.Path), Rows(workers.Path));
        Assert.Equal(Tables(inProcess.Path), Tables(workers.Path));
        // Two worker processes ran every cell, each started once (not once per cell), never this process ...
        var hosts = Hosts(Small, workers.Path);
        Assert.Equal(2, hosts.Distinct().Count());
        Assert.DoesNotContain(ThisProcess, hosts);
        // ... two at once as soon as two were ready (the data and the natural model need nothing), never more.
        var busy = seen.Select(p => p.Activity).OfType<string>().Select(a => int.Parse(a.Split(' ')[0])).ToList();
        Assert.Equal(2, busy[0]);
        Assert.Equal(2, busy.Max());
    }

    [Fact]
    public void StudyCommandStartsWorkersAsItWasStartedWithTheThreadsAsked()
    {
        using var inProcess = new TempFolder();
        using var workers = new TempFolder();
        var settings = NaturalModelOnly("grad-norm");
        // Two threads per worker, where this machine's default share would be fewer: the gradient norm's
        // last bits show whether the workers used them.
        RunInProcess(settings, inProcess.Path, threads: 2);
        File.WriteAllText(workers["settings.json"], settings.ToJson());

        // In the test host, this process is 'dotnet testhost.dll': the workers must be 'dotnet salient.dll'.
        var (exit, output, error) = CliRunner.Run("study", "--settings", workers["settings.json"], "--out", workers.Path, "--executor", "local", "--jobs", "2", "--threads", "2");

        Assert.True(exit == 0, output + error);
        Assert.Contains("Cells computed: 3, reused: 0, failed or skipped: 0.", output);
        Assert.Equal(Rows(inProcess.Path), Rows(workers.Path));
        Assert.Equal(Tables(inProcess.Path), Tables(workers.Path));
        Assert.DoesNotContain(ThisProcess, Hosts(settings, workers.Path));
    }

    [Fact]
    public void AWorkerThatEndsWithoutAnOutcomeFailsItsCellAndTheCellsThatNeedItAreSkipped()
    {
        using var folder = new TempFolder();
        // A worker that dies before it can write anything (as one killed by the kernel would).
        var dying = new LocalProcessExecutor(["/bin/sh", "-c", "echo 'disk on fire' >&2; exit 3", "sh"], jobs: 2, threadsPerCell: 1);

        var outcome = new StudyRunner(Small, folder.Path, executor: dying).Run();

        Assert.Empty(outcome.Computed);
        var reasons = outcome.Failed.ToDictionary(f => f.Cell, f => f.Error);
        Assert.Equal(SmallCells, reasons.Count);
        Assert.Equal("its worker process ended with exit code 3 without writing an outcome; it printed: disk on fire", reasons["data"]);
        Assert.Equal(reasons["data"], reasons["train/Nat/s0"]);
        Assert.Equal("skipped: it needs train/Nat/s0, which failed", reasons["train/Layered-Post-noFT/s0"]);
        Assert.Matches("^skipped: it needs (data|train/Nat/s0), which failed$", reasons["explain/Nat/vg/s0"]); // whichever failed first
        // The coordinator recorded each failure as the cell's outcome file and in the store, so the report lists the reasons.
        var plan = StudyPlan.Build(Small);
        Assert.Equal(CellOutcome.Failed, CellOutcome.Read(Path.Combine(folder.Path, plan.Get("data").OutcomeFile)).Status);
        using var store = new ResultStore(folder.Path);
        Assert.Equal((CellOutcome.Failed, reasons["data"]), (store.Record("data")!.Value.Status, store.Record("data")!.Value.Error));
    }

    [Fact]
    public void StoppingTheRunStopsItsWorkers()
    {
        using var folder = new TempFolder();
        var pids = folder["pids"];
        var sleepy = new LocalProcessExecutor(["/bin/sh", "-c", $"echo $$ >> '{pids}'; exec sleep 120", "sh"], jobs: 2, threadsPerCell: 1);
        using var stop = new CancellationTokenSource();
        var run = Task.Run(() => new StudyRunner(Small, folder.Path, cancellation: stop.Token, executor: sleepy).Run());
        WaitUntil(() => File.Exists(pids) && File.ReadAllLines(pids).Length == 2, "two workers to start");

        stop.Cancel();

        Assert.ThrowsAny<OperationCanceledException>(() => run.GetAwaiter().GetResult());
        foreach (var pid in File.ReadAllLines(pids).Select(int.Parse))
            Assert.Throws<ArgumentException>(() => Process.GetProcessById(pid)); // no such process any more
        Assert.False(Directory.Exists(Path.Combine(folder.Path, StudyPlan.CellsFolder))); // no outcome of any cell
    }

    [Fact]
    public void ProgressLinesOfACellProcessReadBack()
    {
        var line = CellCommand.ProgressLine(new CellProgress("metric/road/L1-Post-FT/ig/s0", "epoch 2/10", 0.354));
        Assert.Equal("metric/road/L1-Post-FT/ig/s0: epoch 2/10 35 %", line);
        Assert.True(CellCommand.TryParseProgress(line, out var back));
        Assert.Equal(new CellProgress("metric/road/L1-Post-FT/ig/s0", "epoch 2/10", 0.35), back);
        // A worker's resumed training cell tells the coordinator's time estimate how much an earlier run did.
        Assert.True(CellCommand.TryParseProgress(CellCommand.ProgressLine(new CellProgress("train/Adv/s0", CellProgress.ResumedStage, 0.75)), out var resumed));
        Assert.True(resumed.IsResume);
        Assert.Equal(0.75, resumed.Fraction);
        Assert.False(CellCommand.TryParseProgress("[W NNPACK.cpp:64] Could not initialize NNPACK! Reason: Unsupported hardware.", out _));
        Assert.False(CellCommand.TryParseProgress("error: The study has no cell 'x'.", out _));
    }
}
