using Salient.Models;
using Salient.Training;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Salient.Tests.Training;

public class RangerTests
{
    // Least squares with a 2×3 weight (centralised) and a 2-vector bias (not centralised):
    // L = ½ Σₙ Σₒ (Σᵢ W[o,i]·X[n,i] + b[o] − Y[n,o])².
    private static readonly double[,] X = { { 0.5, -1.0, 2.0 }, { 1.5, 0.3, -0.7 }, { -0.2, 0.8, 0.1 }, { 1.0, 1.0, 1.0 }, { -1.3, 0.4, 0.9 } };
    private static readonly double[,] Y = { { 1.0, -0.5 }, { 0.2, 0.7 }, { -1.1, 0.4 }, { 0.6, 0.6 }, { 0.0, -1.2 } };
    private static readonly double[,] W0 = { { 0.3, -0.2, 0.1 }, { -0.4, 0.25, 0.05 } };
    private static readonly double[] B0 = { 0.1, -0.3 };

    /// <summary>The published Ranger, written out step by step in doubles.</summary>
    private sealed class ReferenceRanger(double lr, double beta1, double beta2, double eps, double weightDecay, int k, double alpha)
    {
        private sealed class Slot(double[] value, bool centralise)
        {
            public readonly double[] Value = value, M = new double[value.Length], V = new double[value.Length], Slow = (double[])value.Clone();
            public readonly bool Centralise = centralise;
            public int Rows = 1;
        }

        private readonly List<Slot> slots = [];
        private int t;
        public readonly List<double> SmaHistory = [];

        public double[] Add(double[] value, int rows, bool centralise)
        {
            slots.Add(new Slot(value, centralise) { Rows = rows });
            return value;
        }

        public void Step(IReadOnlyList<double[]> gradients)
        {
            t++;
            double smaMax = 2 / (1 - beta2) - 1;
            double b2t = Math.Pow(beta2, t);
            double sma = smaMax - 2 * t * b2t / (1 - b2t);
            SmaHistory.Add(sma);
            for (int s = 0; s < slots.Count; s++)
            {
                var slot = slots[s];
                var g = (double[])gradients[s].Clone();
                if (slot.Centralise)
                {
                    int cols = g.Length / slot.Rows;
                    for (int r = 0; r < slot.Rows; r++)
                    {
                        double mean = 0;
                        for (int c = 0; c < cols; c++) mean += g[r * cols + c];
                        mean /= cols;
                        for (int c = 0; c < cols; c++) g[r * cols + c] -= mean;
                    }
                }
                for (int i = 0; i < g.Length; i++)
                {
                    slot.V[i] = beta2 * slot.V[i] + (1 - beta2) * g[i] * g[i];
                    slot.M[i] = beta1 * slot.M[i] + (1 - beta1) * g[i];
                    double w = slot.Value[i] * (1 - weightDecay * lr);
                    double mHat = slot.M[i] / (1 - Math.Pow(beta1, t));
                    if (sma > 5)
                    {
                        double r = Math.Sqrt((sma - 4) * (sma - 2) * smaMax / ((smaMax - 4) * (smaMax - 2) * sma));
                        double vHatRoot = Math.Sqrt(slot.V[i]) / Math.Sqrt(1 - b2t);
                        // The published code adds eps to √v before bias correction, i.e. eps/√(1−β₂ᵗ) here.
                        w -= lr * r * mHat / (vHatRoot + eps / Math.Sqrt(1 - b2t));
                    }
                    else
                    {
                        w -= lr * mHat;
                    }
                    slot.Value[i] = w;
                }
                if (t % k == 0)
                {
                    for (int i = 0; i < g.Length; i++)
                    {
                        slot.Slow[i] += alpha * (slot.Value[i] - slot.Slow[i]);
                        slot.Value[i] = slot.Slow[i];
                    }
                }
            }
        }
    }

    private static (double[] dW, double[] dB) Gradients(double[] w, double[] b)
    {
        var dW = new double[6];
        var dB = new double[2];
        for (int n = 0; n < 5; n++)
            for (int o = 0; o < 2; o++)
            {
                double r = b[o] - Y[n, o];
                for (int i = 0; i < 3; i++) r += w[o * 3 + i] * X[n, i];
                dB[o] += r;
                for (int i = 0; i < 3; i++) dW[o * 3 + i] += r * X[n, i];
            }
        return (dW, dB);
    }

    private static double[] Flat(double[,] a) => a.Cast<double>().ToArray();

    [Fact]
    public void TwelveStepsMatchAHandWrittenReferenceOfThePublishedAlgorithm()
    {
        const double lr = 0.05, weightDecay = 0.01, eps = 1e-6;
        var reference = new ReferenceRanger(lr, 0.95, 0.999, eps, weightDecay, k: 6, alpha: 0.5);
        var refW = reference.Add(Flat(W0), rows: 2, centralise: true);
        var refB = reference.Add((double[])B0.Clone(), rows: 1, centralise: false);

        using var w = new Parameter(tensor(Flat(W0), [2, 3], ScalarType.Float64));
        using var b = new Parameter(tensor(B0, ScalarType.Float64));
        using var x = tensor(Flat(X), [5, 3], ScalarType.Float64);
        using var y = tensor(Flat(Y), [5, 2], ScalarType.Float64);
        using var ranger = new Ranger([("w", w), ("b", b)], new RangerSettings { LearningRate = lr, WeightDecay = weightDecay, Eps = eps });

        for (int step = 1; step <= 12; step++)
        {
            using (var scope = NewDisposeScope())
            {
                ranger.zero_grad();
                var residual = x.matmul(w.t()) + b - y;
                (0.5 * residual.pow(2).sum()).backward();
                ranger.step();
            }
            var (dW, dB) = Gradients(refW, refB);
            reference.Step([dW, dB]);

            var actualW = w.data<double>().ToArray();
            var actualB = b.data<double>().ToArray();
            for (int i = 0; i < 6; i++) Assert.True(Math.Abs(actualW[i] - refW[i]) < 1e-12, $"step {step}, W[{i}]: {actualW[i]} vs {refW[i]}");
            for (int i = 0; i < 2; i++) Assert.True(Math.Abs(actualB[i] - refB[i]) < 1e-12, $"step {step}, b[{i}]: {actualB[i]} vs {refB[i]}");
        }
        // The run covered RAdam's SGD-like warm-up and its rectified branch.
        Assert.True(reference.SmaHistory[0] < 5 && reference.SmaHistory[4] < 5);
        Assert.True(reference.SmaHistory[5] > 5 && reference.SmaHistory[11] > 5);
    }

    [Fact]
    public void RectificationSwitchesOnAtTheSixthStepWithThePublishedBetas()
    {
        for (int t = 1; t <= 5; t++) Assert.False(Ranger.Rectification(t, 0.95, 0.999, 5).Rectified);
        Assert.True(Ranger.Rectification(6, 0.95, 0.999, 5).Rectified);
        // ρ₁ = ρ∞ − 2β₂/(1−β₂) = 1999 − 1998 = 1 exactly.
        Assert.Equal(1.0, Ranger.Rectification(1, 0.95, 0.999, 5).SmaLength, 9);
        Assert.Equal(1 / (1 - 0.95), Ranger.Rectification(1, 0.95, 0.999, 5).StepSize, 9);
    }

    [Fact]
    public void ResumingFromSavedStateMatchesUninterruptedTraining()
    {
        using var data = randn(new long[] { 16, 3, 8, 8 }, generator: new Generator(1)).sigmoid();
        using var labels = tensor(Enumerable.Range(0, 16).Select(i => (long)(i % 2)).ToArray());
        var settings = new RangerSettings { LearningRate = 0.01, Eps = 1e-6, WeightDecay = 1e-3 };

        void Steps(TinyNet model, Ranger ranger, int count)
        {
            for (int i = 0; i < count; i++)
            {
                using var scope = NewDisposeScope();
                ranger.zero_grad();
                nn.functional.cross_entropy(model.forward(data), labels).backward();
                ranger.step();
            }
        }

        using var straight = new TinyNet(seed: 8);
        using var straightRanger = new Ranger(straight.named_parameters(), settings);
        Steps(straight, straightRanger, 10);

        var path = Path.Combine(Path.GetTempPath(), $"ranger-{Guid.NewGuid():N}.safetensors");
        try
        {
            using (var first = new TinyNet(seed: 8))
            using (var firstRanger = new Ranger(first.named_parameters(), settings))
            {
                Steps(first, firstRanger, 5);
                using var scope = NewDisposeScope();
                SafeTensors.Write(path, first.state_dict().Concat(firstRanger.StateTensors().Select(kv => KeyValuePair.Create("optimizer/" + kv.Key, kv.Value))));
            }

            using var resumed = new TinyNet(seed: 99);
            using var resumedRanger = new Ranger(resumed.named_parameters(), settings);
            var saved = SafeTensors.Read(path).Tensors;
            using (no_grad())
                foreach (var (name, p) in resumed.named_parameters()) p.copy_(saved[name]);
            resumedRanger.LoadStateTensors(saved.Where(kv => kv.Key.StartsWith("optimizer/")).ToDictionary(kv => kv.Key["optimizer/".Length..], kv => kv.Value));
            foreach (var t in saved.Values) t.Dispose();
            Steps(resumed, resumedRanger, 5);

            // Step 6 is a Lookahead sync, so the restored slow weights are exercised too.
            foreach (var ((name, expected), (_, actual)) in straight.named_parameters().Zip(resumed.named_parameters()))
                Assert.True(expected.allclose(actual, rtol: 0, atol: 0), $"{name} differs after resuming");
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void StateOfAnotherModelIsRefusedWithAClearMessage()
    {
        using var small = new Parameter(zeros(2, 3));
        using var other = new Parameter(zeros(4, 3));
        using var ranger = new Ranger([("w", small)], new RangerSettings());
        using var donor = new Ranger([("w", other)], new RangerSettings());
        var state = donor.StateTensors().ToDictionary();
        var shape = Assert.Throws<SalientException>(() => ranger.LoadStateTensors(state));
        Assert.Contains("'w.exp_avg'", shape.Message);
        using var renamed = new Ranger([("v", other)], new RangerSettings());
        var missing = Assert.Throws<SalientException>(() => ranger.LoadStateTensors(renamed.StateTensors().ToDictionary()));
        Assert.Contains("lacks 'w.step'", missing.Message);
    }

    [Fact]
    public void DecreasesALeastSquaresLoss()
    {
        var generator = new Generator(12);
        using var a = randn(new long[] { 30, 5 }, generator: generator);
        using var target = randn(new long[] { 30 }, generator: generator);
        using var x = new Parameter(zeros(5));
        using var ranger = new Ranger([x], new RangerSettings { LearningRate = 0.05 });
        double Loss() { using var s = NewDisposeScope(); using var g = no_grad(); return (a.matmul(x) - target).pow(2).mean().item<float>(); }
        double initial = Loss();
        var solution = linalg.lstsq(a, target.unsqueeze(1)).Solution.squeeze(1);
        double optimum = (a.matmul(solution) - target).pow(2).mean().item<float>();
        for (int i = 0; i < 400; i++)
        {
            using var scope = NewDisposeScope();
            ranger.zero_grad();
            (a.matmul(x) - target).pow(2).mean().backward();
            ranger.step();
        }
        double final = Loss();
        Assert.True(final - optimum < 0.02 * (initial - optimum), $"initial {initial}, final {final}, optimum {optimum}");
    }

    [Fact]
    public void TheLearningRateLivesInTheParamGroupSoSchedulersCanDriveIt()
    {
        using var a = new Parameter(tensor(new float[] { 1, -2, 3 }));
        using var b = new Parameter(tensor(new float[] { 1, -2, 3 }));
        using var fixedRate = new Ranger([a], new RangerSettings { LearningRate = 0.1 });
        using var changed = new Ranger([b], new RangerSettings { LearningRate = 0.5 });
        changed.ParamGroups.Single().LearningRate = 0.1;
        foreach (var (p, opt) in new[] { (a, fixedRate), (b, changed) })
            for (int i = 0; i < 3; i++)
            {
                using var scope = NewDisposeScope();
                opt.zero_grad();
                p.pow(2).sum().backward();
                opt.step();
            }
        Assert.True(a.allclose(b, rtol: 0, atol: 0));
        Assert.False(a.allclose(tensor(new float[] { 1, -2, 3 })));
    }

    [Fact]
    public void BadSettingsNameTheSetting()
    {
        using var p = new Parameter(zeros(2));
        var e = Assert.Throws<SalientException>(() => new Ranger([p], new RangerSettings { Beta1 = 1.2 }));
        Assert.Contains("betas", e.Message);
    }
}
