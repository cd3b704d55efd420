using Salient.Reporting;
using Salient.Studies;
using static TorchSharp.torch;

namespace Salient.Tests.Execution;

/// <summary>Small study grids for the executors' tests, the salient their workers and jobs run, and the reference run in this process.</summary>
internal static class StudyGrids
{
    public static readonly StudySettings Tiny = StudySettings.Preset("tiny");

    /// <summary>
    /// Natural and layered post-train models, VG maps, Gini and gradient norm: nine cells with every kind of
    /// dependency (a model on a model, maps on a model and the data, a score on maps). The natural model
    /// trains long enough that a cell started before it ends (on the worker or CPU the data cell frees)
    /// would find no checkpoint and fail.
    /// </summary>
    public static readonly StudySettings Small = Tiny with
    {
        Training = Tiny.Training with { Epochs = 8 },
        Strategies = ["natural"], PruningMethods = ["layered"], PruningFlows = ["post-noft"],
        Explanations = Tiny.Explanations with { Methods = ["vg"] },
        Metrics = Tiny.Metrics.Where(m => m.Key is "gini" or "grad-norm").ToDictionary(m => m.Key, m => m.Value),
    };
    public const int SmallCells = 9;

    /// <summary>The data and the natural model only, with or without its gradient norm.</summary>
    public static StudySettings NaturalModelOnly(params string[] metrics) => Tiny with
    {
        Strategies = ["natural"], PruningMethods = [], Explanations = Tiny.Explanations with { Methods = [] },
        Metrics = Tiny.Metrics.Where(m => metrics.Contains(m.Key)).ToDictionary(m => m.Key, m => m.Value),
    };

    /// <summary>The salient program built beside the tests (a framework-dependent apphost), as workers and jobs start it.</summary>
    public static string[] SalientProgram => [Path.Combine(AppContext.BaseDirectory, "salient")];

    /// <summary>
    /// Runs the study in this process with the given torch threads: libtorch splits its reductions by
    /// thread, so results are bit-identical only between runs with the same thread count.
    /// </summary>
    public static void RunInProcess(StudySettings settings, string folder, int threads)
    {
        int before = get_num_threads();
        set_num_threads(threads);
        try
        {
            Assert.Empty(new StudyRunner(settings, folder).Run().Failed);
        }
        finally
        {
            set_num_threads(before);
        }
    }

    /// <summary>Every table of the study's report, as CSV text (numbers as the report prints them).</summary>
    public static List<string> Tables(string folder) => StudyReport.Read(folder).Tables.Select(t => t.ToCsv()).ToList();

    /// <summary>
    /// Every row the study's current cells put in the store, each number by its exact bits: what the
    /// report's rounded tables are made from. Only the time an epoch took is left out.
    /// </summary>
    public static List<string> Rows(string folder)
    {
        var plan = StudyPlan.Build(StudySettings.Load(Path.Combine(folder, StudyRunner.SettingsFile)));
        using var store = new ResultStore(folder);
        store.Sync();
        store.Current(plan);
        var rows = new List<string>();
        foreach (var (table, columns) in ResultStore.Tables)
        {
            var compared = columns.Select(c => c.Name).Where(c => !(table == "epochs" && c == "seconds")).Prepend("cell").ToList();
            rows.AddRange(store.Query($"SELECT {string.Join(", ", compared)} FROM {table} JOIN current USING(cell)", r =>
                table + ": " + string.Join(" | ", Enumerable.Range(0, r.FieldCount).Select(i => r.GetValue(i) switch
                {
                    double d => BitConverter.DoubleToInt64Bits(d).ToString("x16"),
                    byte[] b => Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(b)),
                    var v => v.ToString(),
                }))));
        }
        rows.Sort(StringComparer.Ordinal);
        return rows;
    }

    /// <summary>Which process ran each cell, from its outcome file.</summary>
    public static List<string> Hosts(StudySettings settings, string folder) =>
        StudyPlan.Build(settings).Cells.Select(c => CellOutcome.Read(Path.Combine(folder, c.OutcomeFile)).Host).ToList();

    public static string ThisProcess => $"{Environment.MachineName}:{Environment.ProcessId}";

    public static IProgress<StudyProgress> Collect(List<StudyProgress> seen) => new SyncProgress<StudyProgress>(p =>
    {
        lock (seen) seen.Add(p);
    });

    /// <summary>The messages told so far (thread-safe).</summary>
    public static List<string> Messages(List<StudyProgress> seen)
    {
        lock (seen) return seen.Select(p => p.Message).OfType<string>().ToList();
    }

    /// <summary>Polls until the condition holds; fails with the description after two minutes.</summary>
    public static void WaitUntil(Func<bool> condition, string what)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (!condition())
        {
            if (clock.Elapsed > TimeSpan.FromMinutes(2)) Assert.Fail($"Waited two minutes in vain for {what}.");
            Thread.Sleep(200);
        }
    }
}
