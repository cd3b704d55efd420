using Salient.Models;
using static TorchSharp.torch;

namespace Salient.Attribution;

/// <summary>Vanilla Gradient: |∂f_c(z)/∂z| in model space.</summary>
public sealed class VanillaGradient(int batchSize = AttributionSettings.DefaultBatchSize) : AttributionMethod(batchSize)
{
    public override string Name => "vg";

    protected internal override Tensor AttributeModelSpace(SalientModel model, Tensor modelSpace, Tensor targets)
    {
        var chunks = new List<Tensor>();
        for (long start = 0; start < modelSpace.shape[0]; start += BatchSize)
        {
            long end = Math.Min(start + BatchSize, modelSpace.shape[0]);
            chunks.Add(TargetGradients(model, modelSpace.slice(0, start, end, 1), targets.slice(0, start, end, 1)).abs_());
        }
        return chunks.Count == 1 ? chunks[0] : cat(chunks, 0);
    }
}
