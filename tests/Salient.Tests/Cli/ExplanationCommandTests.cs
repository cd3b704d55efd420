using Salient.Attribution;
using Salient.Models;
using Salient.Tests.Data;
using SixLabors.ImageSharp.PixelFormats;
using static TorchSharp.torch;

namespace Salient.Tests.Cli;

[Collection("Console")]
public class ExplanationCommandTests
{
    private static string TinyCheckpoint(TempFolder temp, int classes = 43)
    {
        random.manual_seed(3);
        using var model = ModelFactory.Create(new ModelSpec { Width = 0.0625, NumClasses = classes });
        var path = temp["m.safetensors"];
        Checkpoint.Save(path, model, Salient.Data.SyntheticSigns.ClassNames.Take(classes).ToList());
        return path;
    }

    private static void Images(TempFolder temp, int size = 32)
    {
        Fixtures.Image(temp["imgs/a.png"], size, size, (x, y) => new Rgb24((byte)(8 * x), (byte)(8 * y), 90));
        Fixtures.Image(temp["imgs/b.ppm"], size, size, (x, y) => new Rgb24(200, (byte)(4 * (x + y)), 30));
    }

    /// <summary>The 32×32 float32 map of a version-1 .npy file the verb wrote.</summary>
    private static float[] SavedMap(string path)
    {
        var npy = File.ReadAllBytes(path);
        int headerLength = BitConverter.ToUInt16(npy, 8);
        var map = new float[32 * 32];
        Buffer.BlockCopy(npy, 10 + headerLength, map, 0, map.Length * 4);
        return map;
    }

    [Fact]
    public void ExplainWritesOverlaysAndRawMapsThatMatchTheLibrary()
    {
        using var temp = new TempFolder();
        var ckpt = TinyCheckpoint(temp);
        Images(temp);
        var (exit, output, err) = CliRunner.Run("explain", "--checkpoint", ckpt, "--images", temp["imgs"], "--method", "vg", "--target", "14", "--out", temp["out"]);
        Assert.True(exit == 0, err);
        Assert.Contains("Explained 2 image(s)", output);
        foreach (var name in new[] { "a", "b" })
        {
            Assert.True(new FileInfo(temp[$"out/{name}-vg.png"]).Length > 1000);
            Assert.True(File.Exists(temp[$"out/{name}-vg-attribution.npy"]));
        }
        // The saved map is the channel sum of |∂f_14/∂z| computed by the library.
        var saved = SavedMap(temp["out/a-vg-map.npy"]);
        using var loaded = Checkpoint.Load(ckpt);
        var (images, _) = Salient.Data.ImageFiles.LoadForModel([temp["imgs/a.png"]], 32, false);
        using var expected = SaliencyMap.Reduce(new VanillaGradient().Attribute(loaded.Model, images, tensor(new long[] { 14 })))[0].contiguous();
        var e = expected.data<float>().ToArray();
        // Batched with the other image in the verb, alone here: equal to float32 rounding.
        double scale = e.Max(Math.Abs);
        for (int i = 0; i < e.Length; i++) Assert.True(Math.Abs(e[i] - saved[i]) <= 1e-5 * scale, $"pixel {i}: {saved[i]} vs {e[i]}");
    }

    [Fact]
    public void TheIgRuleIsAnOptionAsInAStudy()
    {
        using var temp = new TempFolder();
        var ckpt = TinyCheckpoint(temp);
        Images(temp);
        var (exit, _, err) = CliRunner.Run("explain", "--checkpoint", ckpt, "--images", temp["imgs/a.png"], "--method", "ig", "--ig-steps", "4",
            "--ig-rule", "riemann-trapezoid", "--target", "14", "--out", temp["out"]);
        Assert.True(exit == 0, err);
        var saved = SavedMap(temp["out/a-ig-map.npy"]);
        using var loaded = Checkpoint.Load(ckpt);
        var (images, _) = Salient.Data.ImageFiles.LoadForModel([temp["imgs/a.png"]], 32, false);
        float[] Map(QuadratureRule rule)
        {
            var ig = new IntegratedGradients(new IntegratedGradientsSettings { Steps = 4, Rule = rule });
            using var map = SaliencyMap.Reduce(ig.Attribute(loaded.Model, images, tensor(new long[] { 14 })))[0].contiguous();
            return map.data<float>().ToArray();
        }
        var (trapezoid, gauss) = (Map(QuadratureRule.RiemannTrapezoid), Map(QuadratureRule.GaussLegendre));
        double scale = trapezoid.Max(Math.Abs);
        for (int i = 0; i < saved.Length; i++) Assert.True(Math.Abs(trapezoid[i] - saved[i]) <= 1e-5 * scale, $"pixel {i}: {saved[i]} vs {trapezoid[i]}");
        Assert.Contains(Enumerable.Range(0, saved.Length), i => Math.Abs(gauss[i] - saved[i]) > 1e-3 * scale);

        (exit, _, err) = CliRunner.Run("explain", "--checkpoint", ckpt, "--images", temp["imgs/a.png"], "--method", "ig", "--ig-rule", "simpson", "--out", temp["out2"]);
        Assert.NotEqual(0, exit);
        Assert.Contains("simpson", err);
    }

    [Fact]
    public void AnImageOfAnotherSizeNeedsResize()
    {
        using var temp = new TempFolder();
        var ckpt = TinyCheckpoint(temp);
        Images(temp, size: 40);
        var (exit, _, err) = CliRunner.Run("explain", "--checkpoint", ckpt, "--images", temp["imgs/a.png"], "--method", "ig", "--out", temp["out"]);
        Assert.Equal(2, exit);
        Assert.Contains("is 40×40 but the model takes 32×32; pass --resize", err);
        (exit, _, err) = CliRunner.Run("explain", "--checkpoint", ckpt, "--images", temp["imgs/a.png"], "--method", "ig", "--ig-steps", "4", "--resize", "--out", temp["out"]);
        Assert.True(exit == 0, err);
    }

    [Fact]
    public void AGreyImageATargetOutOfRangeAndAnUnknownMethodAreRefused()
    {
        using var temp = new TempFolder();
        var ckpt = TinyCheckpoint(temp);
        Images(temp);
        File.WriteAllText(temp["grey.pgm"], "P2 32 32 255 " + string.Join(" ", Enumerable.Repeat("7", 32 * 32)));
        var (exit, _, err) = CliRunner.Run("explain", "--checkpoint", ckpt, "--images", temp["grey.pgm"], "--method", "vg");
        Assert.Equal(2, exit);
        Assert.Contains("has 1 colour channel but the model takes 3", err);
        (exit, _, err) = CliRunner.Run("explain", "--checkpoint", ckpt, "--images", temp["imgs/a.png"], "--method", "vg", "--target", "43");
        Assert.Equal(2, exit);
        Assert.Contains("43", err);
        (exit, _, err) = CliRunner.Run("explain", "--checkpoint", ckpt, "--images", temp["imgs/a.png"], "--method", "lime");
        Assert.NotEqual(0, exit);
        Assert.Contains("lime", err);
    }

    [Fact]
    public void FigureDrawsOneGridPerImage()
    {
        using var temp = new TempFolder();
        var ckpt = TinyCheckpoint(temp);
        Images(temp);
        var (exit, output, err) = CliRunner.Run("figure", "--checkpoints", ckpt, ckpt, "--labels", "Nat", "Copy", "--images", temp["imgs"],
            "--methods", "vg", "sg", "--sg-samples", "2", "--out", temp["fig"]);
        Assert.True(exit == 0, err);
        Assert.Contains("Wrote 2 grid(s) of 2 model(s) × 2 method(s)", output);
        Assert.True(new FileInfo(temp["fig/a-grid.png"]).Length > 1000);
    }

    [Fact]
    public void EvaluateExplanationsPrintsAndWritesEveryMetric()
    {
        using var temp = new TempFolder();
        // Two classes: even an untrained model classifies some images correctly, so the map metrics have work.
        var ckpt = TinyCheckpoint(temp, classes: 2);
        var (exit, output, err) = CliRunner.Run("evaluate-explanations", "--checkpoint", ckpt, "--method", "ig", "--ig-steps", "4", "--limit", "12",
            "--synthetic-classes", "2", "--synthetic-train", "12", "--synthetic-test", "12", "--set", "road.percentages=30,60", "--set", "max-sensitivity.samples=4", "--out", temp["ev"]);
        Assert.True(exit == 0, err);
        Assert.Contains("Method: ig; images: 12", output);
        var summary = File.ReadAllLines(temp["ev/summary.csv"]);
        Assert.Equal("method,metric,score,mean,ci_low,ci_high,images", summary[0]);
        Assert.Equal(["ig,gini,gini", "ig,road,morf-area", "ig,road,lerf-area", "ig,grad-norm,grad-norm", "ig,mass-accuracy,mass-accuracy", "ig,rank-accuracy,rank-accuracy",
            "ig,pointing-game,pointing-game", "ig,mprt,mprt-spearman", "ig,mprt,mprt-ssim", "ig,random-logit,random-logit", "ig,max-sensitivity,max-sensitivity"],
            summary.Skip(1).Select(l => string.Join(",", l.Split(',')[..3])));
        // Every image has a gradient norm; the map metrics score the correctly classified ones only.
        var scores = File.ReadAllLines(temp["ev/scores.csv"]).Skip(1).Select(l => l.Split(',')).ToList();
        Assert.Equal(12, scores.Count(r => r[3] == "grad-norm"));
        Assert.All(scores.Where(r => r[3] == "gini"), r => Assert.Equal(r[1], r[2]));
        var roadKeys = File.ReadAllLines(temp["ev/road-details.csv"]).Skip(1).Select(l => l.Split(',')[0]).Order();
        Assert.Equal(["lerf@30", "lerf@60", "morf@30", "morf@60"], roadKeys);
        Assert.Contains("40% removed", output); // LeRF at 60 keeps 60%, removes 40%

        (exit, _, err) = CliRunner.Run("evaluate-explanations", "--checkpoint", ckpt, "--method", "vg", "--set", "road.percentages=0,50",
            "--synthetic-classes", "2");
        Assert.Equal(2, exit);
        Assert.Contains("ROAD percentage 0 is out of range", err);
        (exit, _, err) = CliRunner.Run("evaluate-explanations", "--checkpoint", ckpt, "--method", "vg", "--set", "road.bogus=1");
        Assert.Equal(2, exit);
        Assert.Contains("has no setting 'bogus'; its settings are: percentages, noise", err);
        (exit, _, err) = CliRunner.Run("evaluate-explanations", "--checkpoint", ckpt, "--method", "vg", "--metrics", "gini,lime");
        Assert.Equal(2, exit);
        Assert.Contains("Unknown metric 'lime'", err);
    }
}
