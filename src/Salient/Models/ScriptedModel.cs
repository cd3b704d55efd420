using System.IO.Compression;
using static TorchSharp.torch;

namespace Salient.Models;

/// <summary>
/// A classifier Salient did not build: a TorchScript module (PyTorch's <c>torch.jit.script</c> or
/// <c>torch.jit.trace</c>) that takes model-space images and returns logits. It is explained, evaluated
/// and scored like Salient's own models; its archive travels inside the checkpoint as a byte buffer
/// ("archive"), so the checkpoint stays one self-describing file, and its weights beside it as usual.
/// Training, pruning and export need Salient's own layers and refuse it.
/// </summary>
public sealed class ScriptedModel : SalientModel
{
    public const string ArchitectureName = "torchscript";
    public const string ArchiveKey = "archive";
    /// <summary>The TorchScript module's name in the state dict ("scripted.features.0.weight").</summary>
    public const string ModuleName = "scripted";
    /// <summary>Input memory layouts (<see cref="ModelSpec.InputLayout"/>).</summary>
    public const string ChannelsLast = "channels-last", Nchw = "nchw";
    public static readonly string[] InputLayouts = [ChannelsLast, Nchw];

    private readonly jit.ScriptModule<Tensor, Tensor> scripted;
    private readonly Tensor archive;

    /// <param name="spec">Architecture <see cref="ArchitectureName"/>; the class count, input size and the normalisation the module expects.</param>
    /// <param name="archiveBytes">The TorchScript archive as <c>torch.jit.save</c> wrote it.</param>
    public ScriptedModel(ModelSpec spec, byte[] archiveBytes) : base(nameof(ScriptedModel), spec)
    {
        if (spec.Architecture != ArchitectureName) throw new ArgumentException($"A scripted model's spec names '{ArchitectureName}', not '{spec.Architecture}'.");
        if (spec.InputLayout is { } layout && !InputLayouts.Contains(layout))
            throw new SalientException($"Unknown input layout '{layout}' of a TorchScript model; the checkpoint is damaged, import the model again.");
        scripted = jit.load<Tensor, Tensor>(archiveBytes, TorchSharp.DeviceType.CPU, -1);
        archive = tensor(archiveBytes, ScalarType.Byte);
        register_module(ModuleName, scripted);
        register_buffer(ArchiveKey, archive);
        RegisterComponents();
    }

    /// <summary>A new model from the same archive, with the archive's weights (copy the state dict over for others).</summary>
    public ScriptedModel Reloaded() => new(Spec, archive.data<byte>().ToArray());

    /// <summary>The model a checkpoint's tensors describe: the archive they carry, then their weights (see <see cref="Checkpoint.Load"/>).</summary>
    public static ScriptedModel FromArchiveTensor(ModelSpec spec, Tensor archiveTensor, string path)
    {
        if (archiveTensor.dtype != ScalarType.Byte || archiveTensor.dim() != 1)
            throw new SalientException($"'{path}' records a TorchScript model but its '{ArchiveKey}' tensor is not a byte array; the file is damaged, import the model again.");
        return new ScriptedModel(spec, archiveTensor.data<byte>().ToArray());
    }

    /// <summary>
    /// The module's logits for its input in the layout import chose (<see cref="ModelSpec.InputLayout"/>).
    /// Neither layout is right for every module on this machine (see <see cref="Convolution"/>): on NCHW
    /// input oneDNN's blocked kernels gave a scripted 3→8 convolution's gradients wrong, NaN or different
    /// from call to call; on channels-last input torchvision's ResNet-18 gave other logits for an image in
    /// a batch than alone (its 256→512 1×1 shortcut).
    /// </summary>
    public override Tensor ForwardModelSpace(Tensor modelSpaceInput) =>
        scripted.forward(Spec.InputLayout == Nchw ? modelSpaceInput.contiguous() : Convolution.ChannelsLast(modelSpaceInput));

    // Listed whole before anyone walks it: disposing walks the modules while disposing them, and a
    // TorchScript module lists its submodules through its own (then disposed) handle.
    public override IEnumerable<(string name, nn.Module module)> named_modules() => base.named_modules().ToList();

    public override string OutputLayerName =>
        throw new SalientException("A TorchScript model has no output layer Salient knows by name; training and pruning need Salient's own VGG-16 or ResNet-18.");

    /// <summary>
    /// Whether <paramref name="path"/> is a TorchScript archive (torch.jit.save's zip, which holds the
    /// module's code) rather than a torch.save state dict (a zip of tensors without code).
    /// </summary>
    public static bool IsArchive(string path)
    {
        try
        {
            using var zip = ZipFile.OpenRead(path);
            return zip.Entries.Any(e => e.FullName.Contains("/code/") && e.FullName.EndsWith(".py", StringComparison.Ordinal));
        }
        catch (InvalidDataException)
        {
            return false; // not a zip: a legacy torch.save or a safetensors file
        }
    }

    /// <summary>Stops a step that needs Salient's own layers (pruning, export) before it starts on a TorchScript model.</summary>
    public static void Refuse(SalientModel model, string step)
    {
        if (model is ScriptedModel)
            throw new SalientException($"This checkpoint holds a TorchScript model, which Salient can explain, evaluate and score but not {step}: that needs Salient's own VGG-16 or ResNet-18 layers.");
    }
}
