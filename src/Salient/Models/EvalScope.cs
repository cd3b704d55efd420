using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Salient.Models;

/// <summary>
/// Puts a model in evaluation mode — and, for input gradients, freezes its parameters — for the
/// lifetime of a <c>using</c>, then restores exactly the mode and <c>requires_grad</c> flags it found.
/// </summary>
public sealed class EvalScope : IDisposable
{
    private readonly nn.Module model;
    private readonly bool wasTraining;
    private readonly List<(Parameter Parameter, bool RequiresGrad)> frozen = [];

    private EvalScope(nn.Module model, bool freeze)
    {
        this.model = model;
        wasTraining = model.training;
        model.eval();
        if (!freeze) return;
        frozen.AddRange(model.parameters().Select(p => (p, p.requires_grad)));
        foreach (var (p, _) in frozen) p.requires_grad = false;
    }

    /// <summary>Evaluation mode only (inference).</summary>
    public static EvalScope Eval(nn.Module model) => new(model, freeze: false);

    /// <summary>Evaluation mode with frozen parameters: gradients flow to the input only (explanations, attacks).</summary>
    public static EvalScope Frozen(nn.Module model) => new(model, freeze: true);

    public void Dispose()
    {
        foreach (var (p, requiresGrad) in frozen) p.requires_grad = requiresGrad;
        model.train(wasTraining);
    }
}
