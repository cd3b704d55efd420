using static TorchSharp.torch;

namespace Salient.Training;

/// <summary>
/// An optimizer whose whole state can be written into a checkpoint as named tensors and read back,
/// so a resumed run continues exactly where it stopped.
/// </summary>
public interface IStatefulOptimizer : IDisposable
{
    /// <summary>The rate of the next steps; the trainer sets it every step from the recipe's schedule.</summary>
    double LearningRate { get; set; }
    void ZeroGrad();
    void Step();
    IEnumerable<KeyValuePair<string, Tensor>> StateTensors();
    void LoadState(IReadOnlyDictionary<string, Tensor> state);
}
