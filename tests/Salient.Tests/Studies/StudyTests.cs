using System.Globalization;
using Salient.Attribution;
using Salient.Evaluation.Metrics;
using Salient.Models;
using Salient.Reporting;
using Salient.Studies;
using Salient.Tests.Cli;
using static TorchSharp.torch;

namespace Salient.Tests.Studies;

public class StudyTests
{
    private static readonly StudySettings Tiny = StudySettings.Preset("tiny");
    // Per model: train, grad-norm, and per method explain + gini + road + 3 localisation + mprt + random-logit + max-sensitivity; plus the data cell.
    private const int TinyCells = 1 + 11 * (2 + 3 * 9);

    private static IReadOnlyList<ReportTable> Tables(string folder) => StudyReport.Read(folder).Tables;
    private static ReportTable Table(string folder, string file) => Tables(folder).Single(t => t.File == file);

    [Fact]
    public void TinyStudyRunsEndToEndAndReportsEveryTableAndFigure()
    {
        using var temp = new TempFolder();
        var outcome = new StudyRunner(Tiny, temp.Path).Run();
        Assert.Empty(outcome.Failed);
        Assert.Equal(TinyCells, outcome.Computed.Count);
        Assert.Equal(TinyCells, Directory.GetFiles(Path.Combine(temp.Path, StudyPlan.CellsFolder), "*.json").Length);

        var index = StudyReport.Write(temp.Path);
        var report = Path.GetDirectoryName(index)!;
        foreach (var file in new[] { "accuracy", "gini", "gini-difference-vg", "gini-difference-ig", "gini-difference-sg", "morf-area", "lerf-area-difference-sg",
                     "road-morf", "road-lerf", "grad-norm", "grad-norm-difference" })
        {
            Assert.True(File.Exists(Path.Combine(report, file + ".md")), file);
            Assert.True(File.Exists(Path.Combine(report, file + ".csv")), file);
        }
        foreach (var method in new[] { "vg", "ig", "sg" })
            foreach (var order in new[] { "morf", "lerf" })
                Assert.True(new FileInfo(Path.Combine(report, $"road-{order}-{method}.png")).Length > 1000);
        Assert.True(File.Exists(Path.Combine(report, "training-loss.png")));
        Assert.True(File.Exists(Path.Combine(report, "saliency-0.png")));

        var accuracy = File.ReadAllLines(Path.Combine(report, "accuracy.csv"));
        Assert.Equal(1 + 11, accuracy.Length);
        Assert.StartsWith("Nat,Nat,–,", accuracy[1]);
        // Each model says how it was trained; the adversarial one names its attack.
        var training = Table(temp.Path, "accuracy").Rows.ToDictionary(r => r[0], r => r[5]);
        Assert.Equal("natural", training["Nat"]);
        Assert.Equal("adversarial, PGD-2 (ε = 0.01, α = 0.0125)", training["Adv"]);
        Assert.Equal("natural; fine-tuned 1 epoch", training["L1-Post-FT"]);
        // A fine-tuned checkpoint still says how it was pruned, as its un-fine-tuned parent does.
        var plan = StudyPlan.Build(Tiny);
        foreach (var (model, flow) in new[] { ("L1-Post-noFT", "Post-noFT"), ("L1-Post-FT", "Post-FT") })
        {
            using var ckpt = Checkpoint.Load(Path.Combine(temp.Path, plan.Get($"train/{model}/s0").Artefact!));
            var record = Salient.Pruning.PruningRecord.From(ckpt.Metadata)!;
            Assert.Equal((Salient.Pruning.PruningMethod.L1Unstructured, flow), (record.Settings.Method, record.Flow));
        }
        // The deviations table lists what differs from the paper, here without reasons (tiny gives none).
        Assert.Contains(Table(temp.Path, "deviations").Rows, r => r[0] == "training.epochs" && r[1] == "100" && r[2] == "1");
        var html = File.ReadAllText(index);
        Assert.Contains("Gini index difference to the natural model", html);
        Assert.Equal(6 + 6 + 2 + 2, html.Split("data:image/png;base64,").Length - 1); // 6 ROAD plots, 6 MPRT plots, 2 training curves, 2 saliency grids
        // A grid names its image's place in the test split: 8 of 16 test images explained, so the second is test image 2.
        Assert.Contains("Saliency maps of test image 2 (explained image 1), ", html);
        // Every epoch's numbers behind the training curves: one epoch for each model trained from scratch and each fine-tuning.
        var epochs = Table(temp.Path, "training");
        Assert.Equal(["model", "seed", "phase", "epoch", "loss", "train accuracy", "test accuracy", "robust accuracy"], epochs.Header);
        Assert.Equal(["Nat:train", "Adv:train", "L1-Pre:train", "L1-Post-FT:fine-tune", "Global-Pre:train", "Global-Post-FT:fine-tune", "Layered-Pre:train", "Layered-Post-FT:fine-tune"],
            epochs.Rows.Select(r => $"{r[0]}:{r[2]}"));
        Assert.All(epochs.Rows, r => Assert.Equal("1", r[3]));
        Assert.Equal("–", epochs.Rows[0][7]);
        Assert.NotEqual("–", epochs.Rows[1][7]); // the adversarial model's robust check
        Assert.True(File.Exists(Path.Combine(report, "training.csv")));
        var ginis = File.ReadAllLines(Path.Combine(report, "gini-difference-vg.csv"));
        Assert.Equal([",Pre,Post-FT,Post-noFT", "Adv,"], [ginis[0], ginis[1][..4]]);
    }

    [Fact]
    public void AStoppedStudyResumesWithoutRecomputingFinishedCells()
    {
        using var temp = new TempFolder();
        using var stop = new CancellationTokenSource();
        var runner = new StudyRunner(Tiny, temp.Path, new Progress(p => { if (p.CellsDone >= 5) stop.Cancel(); }), stop.Token);
        Assert.Throws<OperationCanceledException>(() => runner.Run());

        var outcome = new StudyRunner(Tiny, temp.Path).Run();
        Assert.Empty(outcome.Failed);
        Assert.Equal(["data", "train/Nat/s0", "train/Adv/s0", "train/L1-Pre/s0", "train/L1-Post-noFT/s0"], outcome.Cached);
        Assert.Equal(TinyCells - 5, outcome.Computed.Count);
    }

    [Fact]
    public void AfterResumingATrainingCellTheTimeLeftCountsOnlyTheEpochsThisRunTrained()
    {
        using var temp = new TempFolder();
        var settings = Tiny with { Strategies = ["natural"], PruningMethods = [], Training = Tiny.Training with { Epochs = 2 }, Explanations = Tiny.Explanations with { Methods = ["vg"] } };
        using (var stop = new CancellationTokenSource())
        {
            var first = new StudyRunner(settings, temp.Path, new Progress(p => { if (p.Stage.StartsWith("epoch 2/2")) stop.Cancel(); }), stop.Token);
            Assert.Throws<OperationCanceledException>(() => first.Run());
        }

        var plan = StudyPlan.Build(settings);
        var train = plan.Get("train/Nat/s0");
        var reports = new List<StudyProgress>();
        // Far from this machine's speed: the time left after the first finished cell must come from that cell's time alone.
        new StudyRunner(settings, temp.Path, new Progress(reports.Add), estimate: new StudyEstimate(SecondsPerPass: 1)).Run();
        var resumed = reports.Single(p => p.Stage == CellProgress.ResumedStage);
        Assert.Equal((train.Id, 0.5), (resumed.Cell, resumed.CellFraction));

        // The run trained epoch 2 of 2, so the cell's seconds paid for half its passes.
        using var store = new ResultStore(temp.Path);
        double seconds = store.Record(train.Id)!.Value.Seconds!.Value;
        double passesLeft = plan.Cells.Where(c => c.Id != "data" && c.Id != train.Id).Sum(c => c.Passes);
        var afterTraining = reports.First(p => p.Cell == train.Id && p.Stage == CellOutcome.Done);
        Assert.Equal(passesLeft * seconds / (train.Passes / 2), afterTraining.Remaining!.Value.TotalSeconds, 3);
    }

    [Fact]
    public void ChangingAMetricSettingRerunsOnlyThatMetricsCells()
    {
        using var temp = new TempFolder();
        new StudyRunner(Tiny, temp.Path).Run();
        var changed = Tiny with { Metrics = new(Tiny.Metrics) { ["road"] = ExplanationMetrics.WriteSettings(new RoadSettings { Percentages = [20, 60] }) } };
        var outcome = new StudyRunner(changed, temp.Path).Run();
        Assert.Empty(outcome.Failed);
        Assert.All(outcome.Computed, c => Assert.StartsWith("metric/road/", c));
        Assert.Equal(11 * 3, outcome.Computed.Count);
        var morf = Table(temp.Path, "road-morf");
        Assert.Equal(["model", "method", "20% removed", "60% removed", "area"], morf.Header);
    }

    [Fact]
    public void ChangingOneMethodsSettingRerunsOnlyThatMethodsCells()
    {
        using var temp = new TempFolder();
        // Where no study ran, nothing is done and looking creates nothing.
        Assert.Empty(StudyRunner.DoneCells(StudyPlan.Build(Tiny), temp["not yet"]));
        Assert.False(Directory.Exists(temp["not yet"]));
        new StudyRunner(Tiny, temp.Path).Run();
        var changed = Tiny with { Explanations = Tiny.Explanations with { SgSigma = 0.3 } };
        var plan = StudyPlan.Build(changed);
        var done = StudyRunner.DoneCells(plan, temp.Path);
        File.WriteAllText(temp["changed.json"], changed.ToJson());
        var (exit, dryRun, _) = CliRunner.Run("study", "--settings", temp["changed.json"], "--out", temp.Path, "--dry-run");

        var outcome = new StudyRunner(changed, temp.Path).Run();
        Assert.Empty(outcome.Failed);
        Assert.All(outcome.Computed, c => Assert.Contains("/sg/", c));
        Assert.Equal(11 * 9, outcome.Computed.Count); // explain and the 8 map metrics of SG for every model
        // The dry run foretold exactly the cells the run computed, and said so.
        Assert.Equal(plan.Cells.Select(c => c.Id).Except(done).Order(), outcome.Computed.Order());
        Assert.Equal(0, exit);
        Assert.Contains($"{TinyCells} cells, {TinyCells - 11 * 9} done, {11 * 9} to run; estimated", dryRun);
        string Row(string cell) => dryRun.Split('\n').Single(l => l.TrimStart('│', ' ').StartsWith(cell + " "));
        Assert.Contains(" to run ", Row("explain/Nat/sg/s0"));
        Assert.Contains(" done ", Row("explain/Nat/vg/s0"));
    }

    [Fact]
    public void TablesShowOnlyTheCellsOfTheCurrentSettings()
    {
        using var temp = new TempFolder();
        var two = Tiny with { Seeds = [0, 1], Strategies = ["natural"], PruningMethods = [], Explanations = Tiny.Explanations with { Methods = ["vg"] } };
        new StudyRunner(two, temp.Path).Run();
        var bothSeeds = Table(temp.Path, "accuracy").Rows.Single()[3];
        Assert.Contains("±", bothSeeds);

        // Seed 1 is dropped: its rows stay in the store but reach no table; the interval is now over images.
        var one = two with { Seeds = [0] };
        var outcome = new StudyRunner(one, temp.Path).Run();
        Assert.Empty(outcome.Computed);
        var contents = StudyReport.Read(temp.Path);
        using var store = new ResultStore(temp.Path);
        var seed0 = store.Query("SELECT accuracy, total FROM accuracy WHERE seed = 0", r => (Acc: r.GetDouble(0), N: r.GetInt64(1))).Single();
        var halfWidth = Salient.Evaluation.MeanEstimate.Of(Enumerable.Range(0, (int)seed0.N).Select(i => i < Math.Round(seed0.Acc * seed0.N) ? 1.0 : 0.0).ToList()).HalfWidth;
        Assert.Equal(ReportNumbers.MeanCi(seed0.Acc, halfWidth), contents.Tables.Single(t => t.File == "accuracy").Rows.Single()[3]);
        Assert.Empty(contents.Missing);
    }

    [Fact]
    public void ACellWhoseRerunFailedShowsItsReasonAndNotItsOldRows()
    {
        using var temp = new TempFolder();
        var settings = Tiny with { Strategies = ["natural"], PruningMethods = [] };
        new StudyRunner(settings, temp.Path).Run();
        Assert.NotEqual("–", Table(temp.Path, "gini").Rows.Single()[2]); // Nat, IG

        // More IG steps rerun the IG cells; the model file they need is damaged, so they fail.
        var plan = StudyPlan.Build(settings);
        File.WriteAllText(Path.Combine(temp.Path, plan.Get("train/Nat/s0").Artefact!), "not a checkpoint");
        var changed = settings with { Explanations = settings.Explanations with { IgSteps = 6 } };
        var outcome = new StudyRunner(changed, temp.Path).Run();
        Assert.Contains(outcome.Failed, f => f.Cell == "explain/Nat/ig/s0");
        Assert.Contains(outcome.Failed, f => f.Cell == "metric/gini/Nat/ig/s0" && f.Error.Contains("explain/Nat/ig/s0"));

        var contents = StudyReport.Read(temp.Path);
        var gini = contents.Tables.Single(t => t.File == "gini");
        Assert.Equal(["model", "VG", "IG", "SG"], gini.Header);
        Assert.Equal("–", gini.Rows.Single()[2]);
        Assert.NotEqual("–", gini.Rows.Single()[1]);
        var failed = contents.Missing.Single(m => m.Cell.Id == "explain/Nat/ig/s0");
        Assert.Equal(CellOutcome.Failed, failed.Status);
        Assert.Contains("not a checkpoint", File.ReadAllText(Path.Combine(temp.Path, plan.Get("train/Nat/s0").Artefact!)));
        Assert.False(string.IsNullOrEmpty(failed.Error));
        Assert.Equal("skipped", contents.Missing.Single(m => m.Cell.Id == "metric/road/Nat/ig/s0").Status);
    }

    [Fact]
    public void ModelsTrainedFromScratchCanStartFromGivenWeights()
    {
        using var temp = new TempFolder();
        // "ImageNet" weights: another class count and a normalisation of their own.
        random.manual_seed(3);
        using (var start = ModelFactory.Create(new ModelSpec { Width = Tiny.Model.Width, NumClasses = 5, Mean = [0.1f, 0.2f, 0.3f], Std = [0.4f, 0.5f, 0.6f] }))
            Checkpoint.Save(temp["start.safetensors"], start, ["a", "b", "c", "d", "e"]);
        var plain = Tiny with { Strategies = ["natural"], PruningMethods = [], Metrics = [], Explanations = Tiny.Explanations with { Methods = ["vg"] } };
        var settings = plain with { Model = plain.Model with { InitialWeights = temp["start.safetensors"] } };
        settings.Validate();
        var outcome = new StudyRunner(settings, temp["study"]).Run();
        Assert.Empty(outcome.Failed);

        var plan = StudyPlan.Build(settings);
        using (var nat = Checkpoint.Load(Path.Combine(temp["study"], plan.Get("train/Nat/s0").Artefact!)))
        using (var start = Checkpoint.Load(temp["start.safetensors"]))
        {
            // One short epoch moved the start's weights only a little (a random start would be unrelated).
            var (trained, initial) = (nat.Model.state_dict()["features.0.weight"].flatten(), start.Model.state_dict()["features.0.weight"].flatten());
            Assert.InRange(nn.functional.cosine_similarity(trained, initial, 0).item<float>(), 0.9f, 1.001f);
            // The start's normalisation, the data's two classes.
            Assert.Equal([0.1f, 0.2f, 0.3f], nat.Model.Spec.Mean);
            Assert.Equal([0.1f, 0.2f, 0.3f], nat.Model.state_dict()["normalize.mean"].data<float>().ToArray());
            Assert.Equal(2, nat.Model.Spec.NumClasses);
        }
        // The weights are part of the training cell's identity, by content; without them the hash is as before.
        Assert.NotEqual(StudyPlan.Build(plain).Get("train/Nat/s0").Hash, plan.Get("train/Nat/s0").Hash);
        Assert.DoesNotContain("initialWeights", plain.ToJson());
        random.manual_seed(4);
        using (var other = ModelFactory.Create(new ModelSpec { Width = Tiny.Model.Width, NumClasses = 5 }))
            Checkpoint.Save(temp["start.safetensors"], other, ["a", "b", "c", "d", "e"]);
        Assert.NotEqual(plan.Get("train/Nat/s0").Hash, StudyPlan.Build(settings).Get("train/Nat/s0").Hash);

        // Weights that do not fit the study's model, or no file: one sentence before any work.
        var wider = settings with { Model = settings.Model with { Width = 0.125 } };
        var e = Assert.Throws<SalientException>(wider.Validate);
        Assert.Contains("'model.initialWeights'", e.Message);
        Assert.Contains("make 'model' match the weights", e.Message);
        var missing = settings with { Model = settings.Model with { InitialWeights = temp["none.safetensors"] } };
        Assert.Contains("does not exist", Assert.Throws<SalientException>(missing.Validate).Message);
    }

    [Fact]
    public void SaliencyFiguresUseSmoothGradWithTheFigureSampleCount()
    {
        using var temp = new TempFolder();
        var settings = Tiny with { Strategies = ["natural"], PruningMethods = [], Explanations = Tiny.Explanations with { Methods = ["sg"] }, Metrics = [] };
        new StudyRunner(settings, temp.Path).Run();
        var plan = StudyPlan.Build(settings);
        using var store = new ResultStore(temp.Path);
        store.Current(plan);
        var stored = store.Query("SELECT map FROM figure_maps JOIN current USING(cell) WHERE image = 0", r => (byte[])r[0]).Single();
        var figure = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(stored).ToArray();

        using var ckpt = Checkpoint.Load(Path.Combine(temp.Path, plan.Get("train/Nat/s0").Artefact!));
        using var data = Salient.Data.DataSource.Open(settings.Data.ToDataSettings());
        using var images = data.Test.EvenlySpaced(settings.Explanations.Images);
        float[] Map(bool forFigures)
        {
            using var sg = (SmoothGrad)AttributionMethods.Create("sg", settings.Explanations.ToAttributionSettings(0, forFigures));
            using var labels = images.LabelTensor();
            return SaliencyMap.Reduce(sg.Attribute(ckpt.Model, images.Images.narrow(0, 0, 2), labels.narrow(0, 0, 2)))[0].contiguous().data<float>().ToArray();
        }
        Assert.Equal(Map(forFigures: true), figure);
        Assert.NotEqual(Map(forFigures: false), figure);
    }

    [Fact]
    public void LerfColumnsAreTheShareRemovedLeastRelevantFirst()
    {
        using var temp = new TempFolder();
        var settings = Tiny with { Strategies = ["natural"], PruningMethods = [], Explanations = Tiny.Explanations with { Methods = ["vg"] } };
        new StudyRunner(settings, temp.Path).Run();
        var lerf = Table(temp.Path, "road-lerf");
        Assert.Equal(["model", "method", "25% removed", "50% removed", "75% removed", "area"], lerf.Header);
        using var store = new ResultStore(temp.Path);
        // LeRF at p = 25 keeps the top 25% and removes 75%: that is the last column.
        var keep25 = store.Query("SELECT AVG(value) FROM scores WHERE metric = 'road' AND key = 'lerf@25'", r => r.GetDouble(0)).Single();
        Assert.Equal(keep25.ToString("F3", CultureInfo.InvariantCulture), lerf.Rows.Single()[4]);
        Assert.Contains("least relevant", lerf.Title);
    }

    [Fact]
    public void ACellAskedForAgainWithTheSameSettingsIsNotRecomputed()
    {
        using var temp = new TempFolder();
        var settings = Tiny with { Strategies = ["natural"], PruningMethods = [], Explanations = Tiny.Explanations with { Methods = ["vg"] } };
        File.WriteAllText(temp["s.json"], settings.ToJson());
        string[] cell = ["study", "--settings", temp["s.json"], "--out", temp.Path, "--cell", "data"];
        var (first, ran, _) = CliRunner.Run(cell);
        Assert.Equal(0, first);
        Assert.Contains("data: done in", ran);
        var outcome = temp[StudyPlan.Build(settings).Get("data").OutcomeFile];
        var written = File.GetLastWriteTimeUtc(outcome);

        var (again, said, _) = CliRunner.Run(cell);
        Assert.Equal(0, again);
        Assert.Contains("data: already done with these settings; outcome in", said);
        Assert.Equal(written, File.GetLastWriteTimeUtc(outcome));

        // Other settings for the same cell: it runs again.
        File.WriteAllText(temp["s.json"], (settings with { Explanations = settings.Explanations with { Images = settings.Explanations.Images + 1 } }).ToJson());
        var (changed, reran, _) = CliRunner.Run(cell);
        Assert.Equal(0, changed);
        Assert.Contains("data: done in", reran);
    }

    [Fact]
    public void TrainingProgressNamesEpochAndBatchAndCountsTheWholeCell()
    {
        using var temp = new TempFolder();
        var settings = Tiny with { Strategies = ["natural"], PruningMethods = [], Training = Tiny.Training with { Epochs = 2 } };
        var plan = StudyPlan.Build(settings);
        var seen = new List<CellProgress>();
        using var runner = new CellRunner(plan, temp.Path, new SyncProgress<CellProgress>(seen.Add));
        Assert.Equal(CellOutcome.Done, runner.Run(plan.Get("data")).Status);
        Assert.Equal(CellOutcome.Done, runner.Run(plan.Get("train/Nat/s0")).Status);

        var batches = seen.Select(p => System.Text.RegularExpressions.Regex.Match(p.Stage, @"^epoch (\d+)/2, batch (\d+)/(\d+)$"))
            .Zip(seen).Where(m => m.First.Success)
            .Select(m => (Epoch: int.Parse(m.First.Groups[1].Value), Batch: int.Parse(m.First.Groups[2].Value), Of: int.Parse(m.First.Groups[3].Value), m.Second.Fraction))
            .ToList();
        int perEpoch = batches[0].Of;
        Assert.Equal(2 * perEpoch, batches.Count); // one report per batch of both epochs
        Assert.All(batches, b => Assert.Equal(((b.Epoch - 1) * perEpoch + b.Batch) / (2.0 * perEpoch), b.Fraction, 12));
        Assert.Equal((1, perEpoch, 0.5), (batches[perEpoch - 1].Epoch, batches[perEpoch - 1].Batch, batches[perEpoch - 1].Fraction));
    }

    [Fact]
    public void CellsRunOneByOneElsewhereGiveTheSameTablesBitForBit()
    {
        using var local = new TempFolder();
        using var separate = new TempFolder();
        var settings = Tiny with { Strategies = ["natural"], PruningMethods = ["layered"], PruningFlows = ["post-ft"], Explanations = Tiny.Explanations with { Methods = ["vg", "ig"] } };
        new StudyRunner(settings, local.Path).Run();

        // As a worker process or a cluster job would: each cell by itself, with a fresh runner, writing only its outcome file.
        var plan = StudyPlan.Build(settings);
        foreach (var cell in plan.Cells)
        {
            using var runner = new CellRunner(plan, separate.Path);
            Assert.Equal(CellOutcome.Done, runner.Run(cell).Status);
        }
        AtomicFile.WriteAllText(Path.Combine(separate.Path, StudyRunner.SettingsFile), settings.ToJson());
        Assert.False(File.Exists(Path.Combine(separate.Path, ResultStore.FileName)));
        var expected = Tables(local.Path).Select(t => t.ToCsv()).ToList();
        Assert.Equal(expected, Tables(separate.Path).Select(t => t.ToCsv()).ToList());

        // And the store is only a cache of the outcome files: deleting it loses nothing.
        File.Delete(Path.Combine(local.Path, ResultStore.FileName));
        Assert.Equal(expected, Tables(local.Path).Select(t => t.ToCsv()).ToList());
        var outcome = new StudyRunner(settings, local.Path).Run();
        Assert.Empty(outcome.Computed);
    }

    [Fact]
    public void SettingsRoundTripThroughJsonAndBadSettingsAreNamed()
    {
        using var temp = new TempFolder();
        File.WriteAllText(temp["s.json"], Tiny.ToJson());
        var loaded = StudySettings.Load(temp["s.json"]);
        Assert.Equal(Tiny.ToJson(), loaded.ToJson());
        File.WriteAllText(temp["bad.json"], Tiny.ToJson().Replace("\"vg\"", "\"lime\""));
        var e = Assert.Throws<SalientException>(() => StudySettings.Load(temp["bad.json"]));
        Assert.Contains("'lime'", e.Message);
        var missing = Assert.Throws<SalientException>(() => StudySettings.Load(temp["none.json"]));
        Assert.Contains("--write-settings", missing.Message);
    }

    public static TheoryData<string, string> BadSettings => new()
    {
        { "igSteps", "'explanations.igSteps'" },
        { "sgSamples", "'explanations.sgSamples'" },
        { "figureSgSamples", "'explanations.figureSgSamples'" },
        { "sgSigma", "'explanations.sgSigma'" },
        { "figureImages", "'explanations.figureImages'" },
        { "fineTuneEpochs", "'pruning.fineTuneEpochs'" },
        { "roadPercentages", "ROAD percentage 120" },
        { "metric", "Unknown metric 'lime'" },
        { "extraEpsilonWithoutAdv", "add 'adversarial' to 'strategies'" },
        { "extraEpsilonTwice", "The radius 0.01 appears twice" },
        { "extraEpsilonRange", "The radius 2 in 'extraAdversarialEpsilons' is outside (0, 1]" },
        { "extraEpsilonZeroAttack", "'attack.epsilon' is 0 with a fixed 'attack.stepSize'" },
    };

    [Theory]
    [MemberData(nameof(BadSettings))]
    public void EveryBadSettingIsOneSentenceBeforeAnyWork(string setting, string expected)
    {
        var bad = setting switch
        {
            "igSteps" => Tiny with { Explanations = Tiny.Explanations with { IgSteps = 0 } },
            "sgSamples" => Tiny with { Explanations = Tiny.Explanations with { SgSamples = 0 } },
            "figureSgSamples" => Tiny with { Explanations = Tiny.Explanations with { FigureSgSamples = 0 } },
            "sgSigma" => Tiny with { Explanations = Tiny.Explanations with { SgSigma = double.NaN } },
            "figureImages" => Tiny with { Explanations = Tiny.Explanations with { FigureImages = 100 } },
            "fineTuneEpochs" => Tiny with { Pruning = Tiny.Pruning with { FineTuneEpochs = 0 } },
            "roadPercentages" => Tiny with { Metrics = StudySettings.DefaultMetrics(("road", new RoadSettings { Percentages = [10, 120] })) },
            "extraEpsilonWithoutAdv" => Tiny with { Strategies = ["natural"], ExtraAdversarialEpsilons = [0.1] },
            "extraEpsilonTwice" => Tiny with { ExtraAdversarialEpsilons = [0.1, Tiny.Attack.Epsilon] },
            "extraEpsilonRange" => Tiny with { ExtraAdversarialEpsilons = [2] },
            "extraEpsilonZeroAttack" => Tiny with { Attack = Tiny.Attack with { Epsilon = 0, StepSize = 0.01 }, ExtraAdversarialEpsilons = [0.1] },
            _ => Tiny with { Metrics = new() { ["lime"] = new() } },
        };
        using var temp = new TempFolder();
        var e = Assert.Throws<SalientException>(() => new StudyRunner(bad, temp.Path).Run());
        Assert.Contains(expected, e.Message);
        Assert.Empty(Directory.GetFileSystemEntries(temp.Path));
    }

    [Fact]
    public void AStrongerAdversarialModelIsTrainedAtItsRadiusAndReportedBesideAdv()
    {
        using var temp = new TempFolder();
        var attack = Tiny.Attack with { StepSize = 0.02 };
        var settings = Tiny with
        {
            Attack = attack, ExtraAdversarialEpsilons = [0.1], PruningMethods = [],
            Explanations = Tiny.Explanations with { Methods = ["vg"] },
            Metrics = Tiny.Metrics.Where(m => m.Key == "gini").ToDictionary(m => m.Key, m => m.Value),
        };
        var plan = StudyPlan.Build(settings);
        var strong = plan.Get("train/Adv-eps0.1/s0");
        // The study's attack at ε = 0.1, its step scaled with the radius (0.02 · 0.1 / 0.01).
        var recipe = StudyPlan.RecipeFor(settings, strong.Model!, 0);
        Assert.Equal(("adversarial", 0.1, attack.Iterations), (recipe.Strategy, recipe.Attack.Epsilon, recipe.Attack.Iterations));
        Assert.Equal(0.2, recipe.Attack.EffectiveStepSize, 12);
        // Adv and Nat keep the hashes they have without the extra model: adding it retrains nothing.
        var without = StudyPlan.Build(settings with { ExtraAdversarialEpsilons = [] });
        Assert.Equal(without.Get("train/Adv/s0").Hash, plan.Get("train/Adv/s0").Hash);
        Assert.Equal(without.Get("train/Nat/s0").Hash, plan.Get("train/Nat/s0").Hash);

        var outcome = new StudyRunner(settings, temp.Path).Run();
        Assert.Empty(outcome.Failed);
        var accuracy = Table(temp.Path, "accuracy").Rows.ToDictionary(r => r[0]);
        Assert.Equal(["Nat", "Adv", "Adv-eps0.1"], accuracy.Keys);
        Assert.Equal("Adv", accuracy["Adv-eps0.1"][1]);
        Assert.Equal("adversarial, PGD-2 (ε = 0.1, α = 0.2)", accuracy["Adv-eps0.1"][5]);
        // Its Gini difference to Nat sits beside Adv's, as the paper's Table 5 puts the strong model.
        var difference = Table(temp.Path, "gini-difference-vg");
        Assert.Equal(["Adv", "Adv-eps0.1"], difference.Rows.Select(r => r[0]));
        Assert.All(difference.Rows, r => Assert.NotEqual("–", r[1]));
    }

    [Fact]
    public void SeveralSeedsGiveAnIntervalOverSeeds()
    {
        using var temp = new TempFolder();
        var settings = Tiny with { Seeds = [0, 1], Strategies = ["natural"], PruningMethods = [], Explanations = Tiny.Explanations with { Methods = ["vg"] } };
        var outcome = new StudyRunner(settings, temp.Path).Run();
        Assert.Empty(outcome.Failed);
        Assert.Equal(1 + 2 * (2 + 1 + 8), outcome.Computed.Count); // data; per seed: train, grad-norm, VG explain and its 8 map metrics
        var cell = Table(temp.Path, "accuracy").Rows.Single()[3];
        using var store = new ResultStore(temp.Path);
        var perSeed = store.Query("SELECT accuracy FROM accuracy ORDER BY seed", r => r.GetDouble(0));
        Assert.Equal(2, perSeed.Count);
        // Mean of the two seeds' accuracies, ± the t-interval half-width over 2 values (t = 12.706).
        double mean = perSeed.Average(), half = 12.706204736 * Math.Abs(perSeed[0] - perSeed[1]) / 2;
        Assert.Equal(ReportNumbers.MeanCi(mean, half), cell);
    }

    private sealed class Progress(Action<StudyProgress> report) : IProgress<StudyProgress>
    {
        public void Report(StudyProgress value) => report(value);
    }
}
