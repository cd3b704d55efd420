using Salient.Pruning;

namespace Salient.Studies;

/// <summary>One trained (or pruned) model of the grid: how it is made and from what.</summary>
public sealed record ModelPlan(string Name, string Strategy, PruningMethod? Method, PruningFlow? Flow, string? Upstream)
{
    /// <summary>The attack radius of an extra adversarial model (<see cref="StudySettings.ExtraAdversarialEpsilons"/>); null: the study's attack.</summary>
    public double? AttackEpsilon { get; init; }

    /// <summary>The paper's row/column labels: strategy or pruning method, and flow.</summary>
    public string MethodLabel => Method switch
    {
        PruningMethod.L1Unstructured => "L1",
        PruningMethod.GlobalUnstructured => "Global",
        PruningMethod.LayeredStructured => "Layered",
        _ => Strategy == "adversarial" ? "Adv" : "Nat",
    };

    public string? FlowLabel => Flow is { } flow ? PruningFlowNames.Label(flow) : null;
}

/// <summary>The models of a study in an order where every model comes after the one it starts from.</summary>
public static class StudyGrid
{
    public const string Natural = "Nat", Adversarial = "Adv";

    /// <summary>"Adv-eps0.1": cell ids, file names and Slurm job names take it as it is.</summary>
    public static string ExtraAdversarialName(double epsilon) => $"{Adversarial}-eps{epsilon.ToString(System.Globalization.CultureInfo.InvariantCulture)}";

    public static IReadOnlyList<ModelPlan> Models(StudySettings s)
    {
        var plans = new List<ModelPlan>();
        if (s.Strategies.Contains("natural")) plans.Add(new ModelPlan(Natural, "natural", null, null, null));
        if (s.Strategies.Contains("adversarial")) plans.Add(new ModelPlan(Adversarial, "adversarial", null, null, null));
        foreach (var epsilon in s.ExtraAdversarialEpsilons)
            plans.Add(new ModelPlan(ExtraAdversarialName(epsilon), "adversarial", null, null, null) { AttackEpsilon = epsilon });
        foreach (var methodName in s.PruningMethods)
        {
            var method = PruningSettings.ParseMethod(methodName);
            var flows = s.PruningFlows.Select(PruningFlowNames.Parse).ToHashSet();
            var label = new ModelPlan("", "natural", method, null, null).MethodLabel;
            if (flows.Contains(PruningFlow.Pre))
                plans.Add(new ModelPlan($"{label}-Pre", "natural", method, PruningFlow.Pre, null));
            // Fine-tuning starts from the un-fine-tuned pruned model, so that one is made (and reported) with it.
            if (flows.Contains(PruningFlow.PostNoFineTune) || flows.Contains(PruningFlow.PostFineTune))
                plans.Add(new ModelPlan($"{label}-Post-noFT", "natural", method, PruningFlow.PostNoFineTune, Natural));
            if (flows.Contains(PruningFlow.PostFineTune))
                plans.Add(new ModelPlan($"{label}-Post-FT", "natural", method, PruningFlow.PostFineTune, $"{label}-Post-noFT"));
        }
        return plans;
    }
}
