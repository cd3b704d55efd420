using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Salient.Training;

/// <summary>
/// Stochastic gradient descent with momentum and L2 weight decay, with PyTorch's update rule
/// (d = g + λw; b ← μb + d, b = d on the first step; w ← w − ηb).
/// </summary>
public sealed class Sgd(IReadOnlyList<(string Name, Parameter Param)> parameters, double learningRate, double momentum, double weightDecay) : IStatefulOptimizer
{
    private readonly Dictionary<string, Tensor> momentumBuffers = new();

    public double LearningRate { get; set; } = learningRate;

    public void ZeroGrad()
    {
        foreach (var (_, p) in parameters)
            if (p.grad is { } g) { g.detach_(); g.zero_(); }
    }

    public void Step()
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        foreach (var (name, p) in parameters)
        {
            if (p.grad is not { } grad) continue;
            var d = weightDecay != 0 ? grad.add(p, alpha: weightDecay) : grad;
            if (momentum != 0)
            {
                if (momentumBuffers.TryGetValue(name, out var buf)) buf.mul_(momentum).add_(d);
                else momentumBuffers[name] = buf = d.detach().clone().DetachFromDisposeScope();
                d = buf;
            }
            p.add_(d, alpha: -LearningRate);
        }
    }

    public IEnumerable<KeyValuePair<string, Tensor>> StateTensors() =>
        momentumBuffers.Select(kv => KeyValuePair.Create($"momentum/{kv.Key}", kv.Value));

    public void LoadState(IReadOnlyDictionary<string, Tensor> state)
    {
        foreach (var (key, t) in state)
            if (key.StartsWith("momentum/")) momentumBuffers[key["momentum/".Length..]] = t.detach().clone().DetachFromDisposeScope();
    }

    public void Dispose()
    {
        foreach (var b in momentumBuffers.Values) b.Dispose();
        momentumBuffers.Clear();
    }
}
