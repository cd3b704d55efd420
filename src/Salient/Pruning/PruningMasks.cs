using static TorchSharp.torch;

namespace Salient.Pruning;

/// <summary>
/// The mask computations of torch.nn.utils.prune, as pure functions. Each takes the weight the
/// layer currently computes with and its existing mask (null = nothing pruned yet), ranks only the
/// entries or channels still alive, and returns old mask ⊙ new mask, so repeated pruning removes a
/// fraction of what remains, as torch does.
/// </summary>
public static class PruningMasks
{
    /// <summary>
    /// Number of units to remove: amount · count rounded half to even, as torch's
    /// _compute_nparams_toprune does with Python's round().
    /// </summary>
    public static long UnitsToPrune(double amount, long count) => (long)Math.Round(amount * count, MidpointRounding.ToEven);

    /// <summary>Zeros the <see cref="UnitsToPrune"/> smallest-|w| entries among those the mask still keeps.</summary>
    public static Tensor L1Unstructured(Tensor weight, Tensor? mask, double amount)
    {
        using var scope = NewDisposeScope();
        var current = (mask ?? ones_like(weight)).to(weight.dtype).flatten();
        var alive = current.ne(0);
        var aliveIndices = alive.nonzero().squeeze(1);
        long k = UnitsToPrune(amount, aliveIndices.shape[0]);
        var result = current.clone();
        if (k > 0)
        {
            var scores = weight.detach().flatten().abs().index_select(0, aliveIndices);
            var (_, smallest) = scores.topk((int)k, largest: false);
            result.index_fill_(0, aliveIndices.index_select(0, smallest), 0);
        }
        return result.reshape(weight.shape).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Ranks the alive entries of all weights together and zeros the smallest fraction; every layer
    /// therefore shares one |w| threshold. Returns one combined mask per weight, in order.
    /// </summary>
    public static Tensor[] GlobalUnstructured(IReadOnlyList<(Tensor Weight, Tensor? Mask)> layers, double amount)
    {
        using var scope = NewDisposeScope();
        var all = cat(layers.Select(l => l.Weight.detach().flatten()).ToArray());
        var masks = cat(layers.Select(l => (l.Mask ?? ones_like(l.Weight)).to(all.dtype).flatten()).ToArray());
        var combined = L1Unstructured(all, masks, amount);
        var result = new Tensor[layers.Count];
        long offset = 0;
        for (int i = 0; i < layers.Count; i++)
        {
            long n = layers[i].Weight.numel();
            result[i] = combined.narrow(0, offset, n).reshape(layers[i].Weight.shape).clone().MoveToOuterDisposeScope();
            offset += n;
        }
        return result;
    }

    /// <summary>
    /// Zeros whole output channels (dim 0): among channels the mask has not already emptied, the
    /// <see cref="UnitsToPrune"/> with the smallest L<paramref name="norm"/> norm.
    /// </summary>
    public static Tensor LnStructured(Tensor weight, Tensor? mask, double amount, double norm = 2)
    {
        if (weight.dim() < 2)
            throw new ArgumentException("Structured pruning needs a weight with at least 2 dimensions (output channels × inputs).");
        using var scope = NewDisposeScope();
        var current = (mask ?? ones_like(weight)).to(weight.dtype);
        long channels = weight.shape[0];
        var otherDims = Enumerable.Range(1, (int)weight.dim() - 1).Select(d => (long)d).ToArray();
        var aliveChannels = current.abs().sum(otherDims).ne(0).nonzero().squeeze(1);
        long alive = aliveChannels.shape[0];
        long k = UnitsToPrune(amount, alive);
        if (k == 0) return current.clone().MoveToOuterDisposeScope();
        var norms = linalg.vector_norm(weight.detach().index_select(0, aliveChannels), norm, otherDims);
        var (_, strongest) = norms.topk((int)(alive - k), largest: true);
        var keep = zeros(channels, dtype: weight.dtype);
        keep.index_fill_(0, aliveChannels.index_select(0, strongest), 1);
        var shape = new long[weight.dim()];
        Array.Fill(shape, 1L);
        shape[0] = channels;
        return (current * keep.reshape(shape)).MoveToOuterDisposeScope();
    }
}
