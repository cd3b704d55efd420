using Salient.Models;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Salient.Evaluation;

/// <summary>
/// One layer as the parameter-randomisation test sees it: a convolution or linear layer, with the
/// BatchNorm that normalises its output when the model has one (randomised together); or, in a
/// TorchScript model, one module with parameters (<see cref="ScriptedTensors"/>, Layer and Norm null).
/// </summary>
public sealed record RandomisableLayer(string Name, MaskableModule? Layer, BatchNorm2d? Norm)
{
    /// <summary>A TorchScript module's own parameters and buffers, by their names in it ("weight", "running_var").</summary>
    public IReadOnlyList<(string Name, Tensor Tensor)> ScriptedTensors { get; init; } = [];
}

/// <summary>
/// The cascade of Adebayo et al. (2018): on a copy of a model, re-initialise its layers one at a
/// time from the output backwards, as the model's own initialisation would draw them, so that after
/// the last step nothing it learned is left.
/// </summary>
public static class ModelRandomisation
{
    /// <summary>
    /// The layers the cascade randomises, in its order: output layer first, back to the input layer.
    /// A BatchNorm joins the convolution whose output it normalises, found by
    /// the models' names: VGG-16's features.N+1 belongs to features.N, ResNet-18's bnJ to convJ and
    /// downsample.1 to downsample.0. Pruning masks stay: a randomised pruned layer is still pruned.
    /// </summary>
    public static IReadOnlyList<RandomisableLayer> Layers(SalientModel model)
    {
        if (model is ScriptedModel) return ScriptedLayers(model);
        var modules = model.named_modules().ToList();
        var layers = modules.Where(m => m.module is MaskableModule).OrderBy(m => m.name, ForwardOrder.Instance)
            .Select(m => new RandomisableLayer(m.name, (MaskableModule)m.module, null)).ToList();
        foreach (var (name, module) in modules)
        {
            if (module is not BatchNorm2d norm) continue;
            int dot = name.LastIndexOf('.');
            string parent = name[..(dot + 1)], last = name[(dot + 1)..];
            string? convolution = last.StartsWith("bn") ? parent + "conv" + last[2..] : int.TryParse(last, out int n) ? parent + (n - 1) : null;
            int index = layers.FindIndex(l => l.Name == convolution && l.Layer is MaskableConv2d && l.Norm is null);
            if (index < 0) throw new InvalidOperationException($"BatchNorm '{name}' follows no convolution by name; the randomisation test cannot tell which layer it belongs to.");
            layers[index] = layers[index] with { Norm = norm };
        }
        layers.Reverse();
        return layers;
    }

    /// <summary>
    /// A TorchScript model's layers: every module with parameters, in the order the module registered
    /// them (for modules written as a sequence, the forward order), output first; a BatchNorm is a layer
    /// of its own, as Quantus counts layers, since nothing in the archive says which convolution it follows.
    /// </summary>
    private static IReadOnlyList<RandomisableLayer> ScriptedLayers(SalientModel model)
    {
        string prefix = ScriptedModel.ModuleName + ".";
        var parameters = model.named_parameters().Where(p => p.name.StartsWith(prefix)).Select(p => (p.name, (Tensor)p.parameter)).ToList();
        var buffers = model.named_buffers().Where(b => b.name.StartsWith(prefix)).ToList();
        static string Owner(string name) => name[..Math.Max(0, name.LastIndexOf('.'))];
        var layers = parameters.Select(p => Owner(p.name)).Distinct().Select(owner => new RandomisableLayer(owner[prefix.Length..], null, null)
        {
            ScriptedTensors = parameters.Concat(buffers).Where(t => Owner(t.Item1) == owner).Select(t => (t.Item1[(owner.Length + 1)..], t.Item2)).ToList(),
        }).ToList();
        if (layers.Count == 0) throw new SalientException("The TorchScript model has no parameters, so the randomisation test has nothing to randomise.");
        layers.Reverse();
        return layers;
    }

    /// <summary>
    /// Orders layer names as the forward pass meets them (the order modules are registered in is not
    /// that order: TorchSharp may list ResNet-18's fc before layer1): segment by segment, numbers by
    /// value and the architectures' names by their place in the computation.
    /// </summary>
    private sealed class ForwardOrder : IComparer<string>
    {
        public static readonly ForwardOrder Instance = new();
        private static readonly string[] Names = ["conv1", "conv2", "downsample", "layer1", "layer2", "layer3", "layer4", "features", "classifier", "fc"];

        public int Compare(string? x, string? y)
        {
            var (a, b) = (x!.Split('.'), y!.Split('.'));
            for (int i = 0; i < Math.Min(a.Length, b.Length); i++)
            {
                int order = Rank(a[i]).CompareTo(Rank(b[i]));
                if (order != 0) return order;
            }
            return a.Length.CompareTo(b.Length);
        }

        private static int Rank(string segment) =>
            int.TryParse(segment, out int n) ? n
            : Array.IndexOf(Names, segment) is var i && i >= 0 ? i
            : throw new InvalidOperationException($"Layer name part '{segment}' has no known place in the forward pass; add it to ModelRandomisation's order.");
    }

    /// <summary>How many layers <see cref="Layers"/> finds in an architecture (for cost estimates before a model exists).</summary>
    public static int LayerCount(string architecture) => architecture switch
    {
        "vgg16" => 16,    // 13 convolutions and 3 linear layers
        "resnet18" => 21, // the stem, 16 block convolutions, 3 downsampling convolutions and fc
        _ => throw new SalientException($"Unknown architecture '{architecture}'."),
    };

    /// <summary>
    /// An independent copy of <paramref name="model"/> (weights, masks, BatchNorm statistics); the
    /// caller's model is never changed. Building it draws an initialisation from torch's global
    /// generator, whose state is restored, so the caller's random stream does not shift.
    /// </summary>
    public static SalientModel Copy(SalientModel model)
    {
        using var state = random.get_rng_state();
        SalientModel? copy = null;
        try
        {
            copy = model is ScriptedModel scripted ? scripted.Reloaded() : ModelFactory.Create(model.Spec);
            Checkpoint.LoadState(copy, model.state_dict(), "(a copy of the model)");
            return copy;
        }
        catch
        {
            copy?.Dispose();
            throw;
        }
        finally
        {
            random.set_rng_state(state);
        }
    }

    /// <summary>
    /// Re-initialises one layer as Salient's models initialise it: a convolution's weights from
    /// N(0, √(2 / (k·k·out))) with zero bias (VGG-16's reference init and ResNet-18's Kaiming
    /// fan-out, which are the same draw), a linear layer's weights and bias from U(±1/√in) (torch's
    /// nn.Linear default, which both models keep), and its BatchNorm reset (γ = 1, β = 0, running
    /// mean 0 and variance 1).
    /// </summary>
    public static void Randomise(RandomisableLayer layer, Generator generator)
    {
        using var noGrad = no_grad();
        if (layer.Layer is null)
        {
            RandomiseScripted(layer, generator);
            return;
        }
        switch (layer.Layer)
        {
            case MaskableConv2d conv:
                Fill(conv.Weight, t => t.normal_(0, Math.Sqrt(2.0 / (conv.KernelSize * conv.KernelSize * conv.OutChannels)), generator));
                if (conv.Bias is { } bias) nn.init.zeros_(bias);
                break;
            case MaskableLinear linear:
                double bound = 1 / Math.Sqrt(linear.InFeatures);
                Fill(linear.Weight, t => t.uniform_(-bound, bound, generator));
                Fill(linear.Bias, t => t.uniform_(-bound, bound, generator));
                break;
            default:
                throw new InvalidOperationException($"Layer '{layer.Name}' ({layer.Layer.GetType().Name}) has no known initialisation.");
        }
        layer.Norm?.reset_parameters();
    }

    /// <summary>
    /// A TorchScript module's tensors drawn as Salient's own layers are (see <see cref="Randomise"/>), told
    /// apart by name and shape: a weight of 3 or more dimensions is a convolution's (N(0, √(2 / fan-out)),
    /// zero bias), of 2 a linear layer's (U(±1/√in) for weight and bias), of 1 a normalisation's scale
    /// (1, zero shift); running statistics reset to mean 0 and variance 1; counters stay.
    /// </summary>
    private static void RandomiseScripted(RandomisableLayer layer, Generator generator)
    {
        var weight = layer.ScriptedTensors.FirstOrDefault(t => t.Name == "weight").Tensor;
        foreach (var (name, t) in layer.ScriptedTensors)
        {
            if (!t.is_floating_point()) continue; // num_batches_tracked
            switch (name)
            {
                case "running_mean": t.zero_(); break;
                case "running_var": t.fill_(1); break;
                case "bias" when weight is not null && weight.dim() == 2:
                    double biasBound = 1 / Math.Sqrt(weight.shape[1]);
                    Fill(t, x => x.uniform_(-biasBound, biasBound, generator));
                    break;
                case "bias": t.zero_(); break;
                default:
                    if (t.dim() >= 3)
                    {
                        long fanOut = t.shape[0] * t.shape.Skip(2).Aggregate(1L, (a, b) => a * b);
                        Fill(t, x => x.normal_(0, Math.Sqrt(2.0 / fanOut), generator));
                    }
                    else if (t.dim() == 2)
                    {
                        double bound = 1 / Math.Sqrt(t.shape[1]);
                        Fill(t, x => x.uniform_(-bound, bound, generator));
                    }
                    else t.fill_(1);
                    break;
            }
        }
    }

    /// <summary>
    /// Overwrites <paramref name="target"/> with a draw made on a fresh CPU tensor in PyTorch's
    /// (contiguous) order: a draw fills memory in order and a convolution's weight is stored
    /// channels-last, so drawing into it directly would place the same numbers elsewhere. The draw
    /// uses the tensor's own <c>normal_</c>/<c>uniform_</c>, which honour the generator (TorchSharp's
    /// <c>nn.init</c> functions take one but draw from the global generator).
    /// </summary>
    private static void Fill(Tensor target, Action<Tensor> draw)
    {
        using var fresh = empty(target.shape, dtype: target.dtype, device: CPU);
        draw(fresh);
        target.copy_(fresh);
    }
}
