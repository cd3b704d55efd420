namespace Salient.Pruning;

/// <summary>The three pruning strategies of SPEC.md §3.</summary>
public enum PruningMethod
{
    /// <summary>Per layer, zero the smallest-|w| fraction of each selected layer's weights.</summary>
    L1Unstructured,
    /// <summary>Rank |w| of all selected layers together and zero the smallest fraction, one shared threshold.</summary>
    GlobalUnstructured,
    /// <summary>Per layer, zero the output channels/neurons with the smallest L2 norm (torch's ln_structured, n = 2, dim = 0).</summary>
    LayeredStructured,
}

/// <summary>What to prune and how much; <see cref="Paper"/> gives the protocol's numbers.</summary>
public sealed record PruningSettings
{
    public PruningMethod Method { get; init; } = PruningMethod.L1Unstructured;

    /// <summary>
    /// Fraction in [0, 1): of each convolution's weights (L1), of output channels per convolution
    /// (layered), or of all selected weights together (global).
    /// </summary>
    public double Amount { get; init; } = 0.2;

    /// <summary>Fraction in [0, 1) for linear layers in the per-layer methods; global pruning ignores it.</summary>
    public double LinearAmount { get; init; } = 0.1;

    /// <summary>Norm order for layered pruning's channel ranking.</summary>
    public double StructuredNorm { get; init; } = 2;

    /// <summary>
    /// State-dict names of the layers to prune (e.g. "features.0", "classifier.1"); null selects every
    /// convolution and linear layer, except the output layer for layered pruning.
    /// </summary>
    public IReadOnlyList<string>? Layers { get; init; }

    public static PruningSettings Paper(PruningMethod method) => method switch
    {
        PruningMethod.L1Unstructured => new() { Method = method, Amount = 0.2, LinearAmount = 0.1 },
        PruningMethod.GlobalUnstructured => new() { Method = method, Amount = 0.2 },
        PruningMethod.LayeredStructured => new() { Method = method, Amount = 0.1, LinearAmount = 0.1 },
        _ => throw new ArgumentOutOfRangeException(nameof(method)),
    };

    /// <summary>Command-line names: l1, global, layered.</summary>
    public static PruningMethod ParseMethod(string name) => name.Trim().ToLowerInvariant() switch
    {
        "l1" or "l1-unstructured" => PruningMethod.L1Unstructured,
        "global" or "global-unstructured" => PruningMethod.GlobalUnstructured,
        "layered" or "structured" or "layered-structured" => PruningMethod.LayeredStructured,
        _ => throw new SalientException($"Unknown pruning method '{name}'; use l1, global or layered."),
    };

    public void Validate()
    {
        CheckAmount(nameof(Amount), Amount);
        if (Method != PruningMethod.GlobalUnstructured) CheckAmount(nameof(LinearAmount), LinearAmount);
        if (!(StructuredNorm > 0)) throw new SalientException($"Pruning setting StructuredNorm = {StructuredNorm} must be positive; use 2 for the L2 norm.");
    }

    private static void CheckAmount(string setting, double value)
    {
        // 1 would remove a layer entirely (and is never a sensible study setting); NaN fails both comparisons.
        if (!(value >= 0 && value < 1))
            throw new SalientException($"Pruning setting {setting} = {value} is outside [0, 1); give the fraction of weights to remove, e.g. 0.2 for 20%.");
    }
}

/// <summary>When pruning happens relative to natural training (SPEC.md §3 "Flows").</summary>
public enum PruningFlow
{
    /// <summary>Prune the freshly initialised model, then train it with the natural recipe (masks fixed).</summary>
    Pre,
    /// <summary>Prune a trained natural model, then fine-tune it with the natural recipe (masks fixed).</summary>
    PostFineTune,
    /// <summary>Prune a trained natural model and use it as is.</summary>
    PostNoFineTune,
}

/// <summary>The flows' names: as settings spell them, and as the paper's column labels.</summary>
public static class PruningFlowNames
{
    public static PruningFlow Parse(string name) => name.Trim().ToLowerInvariant().Replace("_", "-") switch
    {
        "pre" or "pre-train" => PruningFlow.Pre,
        "post-ft" or "post-finetune" or "post-fine-tune" => PruningFlow.PostFineTune,
        "post-noft" or "post-no-ft" or "post-nofinetune" or "post-no-fine-tune" => PruningFlow.PostNoFineTune,
        _ => throw new SalientException($"Unknown pruning flow '{name}'; use pre, post-ft or post-noft."),
    };

    /// <summary>The paper's column labels: Pre, Post-FT, Post-noFT.</summary>
    public static string Label(PruningFlow flow) => flow switch
    {
        PruningFlow.Pre => PruningRecord.Pre,
        PruningFlow.PostFineTune => PruningRecord.PostFineTuned,
        _ => PruningRecord.PostNotFineTuned,
    };
}
