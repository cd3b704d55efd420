using static TorchSharp.torch;

namespace Salient.Models;

/// <summary>
/// A classifier that takes pixel-space images ([0,1], N×3×H×W) and returns logits. Normalisation is
/// its first module, so attacks, imputation and baselines all speak pixel space; explanations,
/// which the protocol defines in model space, call <see cref="ForwardModelSpace"/>.
/// </summary>
public abstract class SalientModel : nn.Module<Tensor, Tensor>
{
    protected SalientModel(string name, ModelSpec spec) : base(name)
    {
        Spec = spec;
        normalize = new Normalize(spec.Mean, spec.Std);
    }

    public ModelSpec Spec { get; }

    // Field name is the state-dict prefix ("normalize.mean", "normalize.std").
    protected readonly Normalize normalize;
    public Normalize Normalization => normalize;

    /// <summary>Logits for inputs already normalised to model space.</summary>
    public abstract Tensor ForwardModelSpace(Tensor modelSpaceInput);

    public override Tensor forward(Tensor pixels) => ForwardModelSpace(normalize.forward(pixels));

    /// <summary>Prunable layers in forward order, by state-dict name (e.g. "features.0").</summary>
    public IEnumerable<(string Name, MaskableModule Layer)> MaskableLayers() =>
        named_modules().Where(m => m.module is MaskableModule).Select(m => (m.name, (MaskableModule)m.module));

    /// <summary>The layer that produces the logits; pruning flows leave it whole by default.</summary>
    public abstract string OutputLayerName { get; }

    /// <summary>
    /// Tells every maskable layer that its weight or mask was written in place, so weights kept for
    /// frozen use are recomputed (see <see cref="MaskableModule"/>). Loading calls it.
    /// </summary>
    public void WeightsChanged()
    {
        foreach (var (_, layer) in MaskableLayers()) layer.WeightChanged();
    }

    public override (IList<string> missing_keys, IList<string> unexpected_keyes) load_state_dict(Dictionary<string, Tensor> source, bool strict = true, IList<string>? skip = null)
    {
        try
        {
            return base.load_state_dict(source, strict, skip);
        }
        finally
        {
            WeightsChanged();
        }
    }
}
