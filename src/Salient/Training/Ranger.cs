using System.Globalization;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Salient.Training;

/// <summary>Hyper-parameters of <see cref="Ranger"/>; defaults are the published Ranger's, except the protocol's eps (1e-6) is set by the recipe.</summary>
public sealed record RangerSettings
{
    public double LearningRate { get; init; } = 1e-3;
    public double Beta1 { get; init; } = 0.95;
    public double Beta2 { get; init; } = 0.999;
    public double Eps { get; init; } = 1e-5;
    /// <summary>Decoupled decay: every step multiplies the weights by (1 − lr·decay) before the RAdam update.</summary>
    public double WeightDecay { get; init; }
    /// <summary>Lookahead's k: fast steps between two syncs with the slow weights.</summary>
    public int LookaheadSteps { get; init; } = 6;
    /// <summary>Lookahead's α: how far the slow weights move toward the fast ones at a sync.</summary>
    public double LookaheadAlpha { get; init; } = 0.5;
    /// <summary>RAdam uses the adaptive (rectified) step only when the SMA length exceeds this; below, it takes a momentum-SGD step.</summary>
    public double RectificationThreshold { get; init; } = 5;
    /// <summary>Subtract the mean over all dims but the first from the gradient of every parameter with more than one dim.</summary>
    public bool GradientCentralization { get; init; } = true;

    public void Validate()
    {
        if (!(LearningRate > 0)) throw new SalientException($"Ranger learning rate {LearningRate} must be positive, e.g. 1e-4.");
        if (Beta1 is < 0 or >= 1 || Beta2 is < 0 or >= 1)
            throw new SalientException($"Ranger betas ({Beta1}, {Beta2}) must lie in [0, 1); the protocol uses (0.95, 0.999).");
        if (!(Eps > 0)) throw new SalientException($"Ranger eps {Eps} must be positive, e.g. 1e-6.");
        if (WeightDecay < 0) throw new SalientException($"Ranger weight decay {WeightDecay} must not be negative.");
        if (LookaheadSteps < 1) throw new SalientException($"Ranger lookahead steps {LookaheadSteps} must be at least 1 (the published value is 6).");
        if (LookaheadAlpha is < 0 or > 1) throw new SalientException($"Ranger lookahead alpha {LookaheadAlpha} must lie in [0, 1] (the published value is 0.5).");
    }
}

/// <summary>
/// Ranger (Wright 2019/2020): RAdam with its variance rectification, Lookahead (k fast steps, then
/// the slow weights move α of the way to the fast ones and the fast weights restart from there) and
/// gradient centralisation, as one torch-style optimizer (<c>step()</c>, <c>zero_grad()</c>, learning
/// rate in the parameter group so schedulers can drive it). Its state can be exported as named
/// tensors for checkpoints and loaded back to resume bit-for-bit.
/// </summary>
public sealed class Ranger : OptimizerHelper, IStatefulOptimizer
{
    private readonly RangerSettings settings;
    private readonly List<(string Name, Parameter Parameter)> named = [];

    public Ranger(IEnumerable<(string Name, Parameter Parameter)> parameters, RangerSettings settings)
    {
        settings.Validate();
        this.settings = settings;
        _defaults = new OptimizerOptions { LearningRate = settings.LearningRate, InitialLearningRate = settings.LearningRate };
        _parameter_groups = new List<ParamGroup>();
        AddGroup(parameters.ToList());
    }

    /// <summary>Unnamed parameters are keyed by their position ("0", "1", …) in the exported state.</summary>
    public Ranger(IEnumerable<Parameter> parameters, RangerSettings settings)
        : this(parameters.Select((p, i) => (i.ToString(CultureInfo.InvariantCulture), p)), settings)
    {
    }

    public RangerSettings Settings => settings;

    /// <summary>Every parameter group's rate (read from the first).</summary>
    public double LearningRate
    {
        get => _parameter_groups[0].LearningRate;
        set { foreach (var group in _parameter_groups) group.LearningRate = value; }
    }

    public void ZeroGrad() => zero_grad();
    public void Step() => step();
    public void LoadState(IReadOnlyDictionary<string, Tensor> state) => LoadStateTensors(state);

    /// <summary>A later group's parameters are keyed "group{g}.{position}" in the exported state.</summary>
    public override void add_param_group(ParamGroup param_group)
    {
        int g = _parameter_groups.Count;
        AddGroup(param_group.Parameters.Select((p, i) => ($"group{g}.{i}", p)).ToList(), param_group.Options);
    }

    private void AddGroup(List<(string Name, Parameter Parameter)> parameters, OptimizerOptions? options = null)
    {
        options ??= new OptimizerOptions();
        options.LearningRate ??= _defaults.LearningRate;
        options.InitialLearningRate = options.LearningRate!.Value;
        _parameter_groups.Add(new ParamGroup { Parameters = parameters.Select(p => p.Parameter).ToList(), Options = options });
        foreach (var (name, p) in parameters)
        {
            if (named.Any(n => n.Name == name))
                throw new ArgumentException($"Two parameters are both named '{name}'.");
            named.Add((name, p));
            _state[p.Handle] = new State(p);
        }
    }

    /// <summary>RAdam's SMA length ρ_t and the step size (bias correction and, when rectified, the rectification factor).</summary>
    public static (double SmaLength, double StepSize, bool Rectified) Rectification(long step, double beta1, double beta2, double threshold)
    {
        double beta2Power = Math.Pow(beta2, step);
        double smaMax = 2 / (1 - beta2) - 1;
        double sma = smaMax - 2 * step * beta2Power / (1 - beta2Power);
        double biasCorrection1 = 1 - Math.Pow(beta1, step);
        if (sma > threshold)
        {
            double rectification = (sma - 4) / (smaMax - 4) * (sma - 2) / sma * smaMax / (smaMax - 2);
            return (sma, Math.Sqrt((1 - beta2Power) * rectification) / biasCorrection1, true);
        }
        return (sma, 1 / biasCorrection1, false);
    }

    public override Tensor step(Func<Tensor>? closure = null) => _step<ParamGroup>(group =>
    {
        double lr = group.LearningRate;
        var s = settings;
        foreach (var p in group.Parameters)
        {
            var grad = p.grad;
            if (grad is null) continue;
            var state = (State)_state[p.Handle];
            // The slow weights start where the first step starts, as in the published code.
            if (state.Step == 0) state.Slow.copy_(p);

            if (s.GradientCentralization && grad.dim() > 1)
                grad = grad - grad.mean(Enumerable.Range(1, (int)grad.dim() - 1).Select(d => (long)d).ToArray(), keepdim: true);

            state.Step++;
            state.ExpAvgSq.mul_(s.Beta2).addcmul_(grad, grad, value: 1 - s.Beta2);
            state.ExpAvg.mul_(s.Beta1).add_(grad, alpha: 1 - s.Beta1);
            var (_, stepSize, rectified) = Rectification(state.Step, s.Beta1, s.Beta2, s.RectificationThreshold);

            if (s.WeightDecay != 0) p.add_(p, alpha: -s.WeightDecay * lr);
            if (rectified)
                p.addcdiv_(state.ExpAvg, state.ExpAvgSq.sqrt().add_(s.Eps), value: -stepSize * lr);
            else
                p.add_(state.ExpAvg, alpha: -stepSize * lr);

            if (state.Step % s.LookaheadSteps == 0)
            {
                state.Slow.add_(p - state.Slow, alpha: s.LookaheadAlpha);
                p.copy_(state.Slow);
            }
        }
    }, closure);

    private const string StepKey = "step", ExpAvgKey = "exp_avg", ExpAvgSqKey = "exp_avg_sq", SlowKey = "slow_weights";

    /// <summary>
    /// The optimizer's state as named tensors ("{parameter}.step", ".exp_avg", ".exp_avg_sq",
    /// ".slow_weights"), copied so they stay valid while training goes on; the caller owns them.
    /// </summary>
    public IEnumerable<KeyValuePair<string, Tensor>> StateTensors()
    {
        foreach (var (name, p) in named)
        {
            var state = (State)_state[p.Handle];
            yield return KeyValuePair.Create($"{name}.{StepKey}", tensor(state.Step));
            yield return KeyValuePair.Create($"{name}.{ExpAvgKey}", state.ExpAvg.detach().clone());
            yield return KeyValuePair.Create($"{name}.{ExpAvgSqKey}", state.ExpAvgSq.detach().clone());
            yield return KeyValuePair.Create($"{name}.{SlowKey}", state.Slow.detach().clone());
        }
    }

    /// <summary>Restores state exported by <see cref="StateTensors"/> (copying values), refusing state of other parameters.</summary>
    public void LoadStateTensors(IReadOnlyDictionary<string, Tensor> source)
    {
        var expected = new HashSet<string>();
        foreach (var (name, p) in named)
        {
            foreach (var key in new[] { StepKey, ExpAvgKey, ExpAvgSqKey, SlowKey })
            {
                var full = $"{name}.{key}";
                expected.Add(full);
                if (!source.TryGetValue(full, out var t))
                    throw new SalientException($"The saved optimizer state lacks '{full}'; it was saved by another optimizer or for another model, so resume without it or use the matching checkpoint.");
                if (key != StepKey && !t.shape.SequenceEqual(p.shape))
                    throw new SalientException($"The saved optimizer state '{full}' has shape [{string.Join(",", t.shape)}] but the parameter is [{string.Join(",", p.shape)}]; it belongs to another model.");
            }
        }
        var unexpected = source.Keys.FirstOrDefault(k => !expected.Contains(k));
        if (unexpected is not null)
            throw new SalientException($"The saved optimizer state has '{unexpected}', which this Ranger does not hold; it was saved by another optimizer or for another model.");

        using var noGrad = no_grad();
        foreach (var (name, p) in named)
        {
            var state = (State)_state[p.Handle];
            state.Step = source[$"{name}.{StepKey}"].item<long>();
            state.ExpAvg.copy_(source[$"{name}.{ExpAvgKey}"]);
            state.ExpAvgSq.copy_(source[$"{name}.{ExpAvgSqKey}"]);
            state.Slow.copy_(source[$"{name}.{SlowKey}"]);
        }
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        foreach (var state in _state.values()) ((State)state).Dispose();
    }

    private sealed class State : OptimizerState, IDisposable
    {
        public long Step;
        public Tensor ExpAvg, ExpAvgSq, Slow;

        public State(Parameter p) : base(p)
        {
            ExpAvg = zeros_like(p).DetachFromDisposeScope();
            ExpAvgSq = zeros_like(p).DetachFromDisposeScope();
            Slow = p.detach().clone().DetachFromDisposeScope();
        }

        public override void Initialize(OptimizerOptions options)
        {
            Step = 0;
            ExpAvg.zero_();
            ExpAvgSq.zero_();
        }

        public override void SaveStateDict(BinaryWriter writer)
        {
            writer.Write(Step);
            TensorExtensionMethods.Save(ExpAvg, writer);
            TensorExtensionMethods.Save(ExpAvgSq, writer);
            TensorExtensionMethods.Save(Slow, writer);
        }

        public override void LoadStateDict(BinaryReader reader)
        {
            Step = reader.ReadInt64();
            TensorExtensionMethods.Load(ExpAvg, reader);
            TensorExtensionMethods.Load(ExpAvgSq, reader);
            TensorExtensionMethods.Load(Slow, reader);
        }

        public override void LoadStateDict(OptimizerState source)
        {
            var other = (State)source;
            Step = other.Step;
            using var noGrad = no_grad();
            ExpAvg.copy_(other.ExpAvg);
            ExpAvgSq.copy_(other.ExpAvgSq);
            Slow.copy_(other.Slow);
        }

        public override void to(Device device)
        {
            ExpAvg = Move(ExpAvg, device);
            ExpAvgSq = Move(ExpAvgSq, device);
            Slow = Move(Slow, device);
        }

        private static Tensor Move(Tensor t, Device device)
        {
            var moved = t.to(device).DetachFromDisposeScope();
            if (!ReferenceEquals(moved, t)) t.Dispose();
            return moved;
        }

        public void Dispose()
        {
            ExpAvg.Dispose();
            ExpAvgSq.Dispose();
            Slow.Dispose();
        }
    }
}
