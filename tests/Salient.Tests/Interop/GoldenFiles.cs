using Salient.Interop;
using Salient.Models;
using static TorchSharp.torch;

namespace Salient.Tests.Interop;

/// <summary>
/// The files the reference stack wrote (PyTorch 1.13, torchvision, Captum, torch.nn.utils.prune,
/// road_evaluation; see golden/README.md): the small VGG-16 state dicts and golden.safetensors are
/// test fixtures; torchvision's 45 MB ResNet-18 stays in the shared folder beside the repository.
/// </summary>
public static class GoldenFiles
{
    public const string Plain = "vgg16-paper-w0.125", BatchNorm = "vgg16-bn-w0.125", ResNet = "resnet18-torchvision-43";
    public static readonly string[] PrunedSuffixes = ["l1", "global", "layered"];
    public const int Classes = 43;

    /// <summary>The paper's normalisation, with which golden.safetensors maps images to model space.</summary>
    public static readonly float[] PaperMean = [0.4563f, 0.4076f, 0.3895f], PaperStd = [0.2298f, 0.2144f, 0.2259f];

    public static string Fixtures => Path.Combine(AppContext.BaseDirectory, "Interop", "golden");

    /// <summary>The state dict of a model, by its name in golden.safetensors.</summary>
    public static string ModelPath(string name) => name == ResNet
        ? Path.Combine(SharedFolder ?? throw new InvalidOperationException(ResNetSkipReason), "models", name + ".pt")
        : Path.Combine(Fixtures, name + ".pt");

    /// <summary>
    /// ../shared/golden beside the repository (or beside one of its parent folders, which is where a
    /// worktree finds it), when it holds the ResNet-18 file; null otherwise.
    /// </summary>
    public static string? SharedFolder { get; } = FindSharedFolder();

    public static string ResNetSkipReason =>
        $"ResNet-18 reference test skipped: shared/golden/models/{ResNet}.pt (45 MB, kept out of the test fixtures) is not beside the repository or its parent folders; CI has it.";

    private static string? FindSharedFolder()
    {
        var repository = new DirectoryInfo(AppContext.BaseDirectory);
        while (repository is not null && !File.Exists(Path.Combine(repository.FullName, "Salient.slnx"))) repository = repository.Parent;
        for (var beside = repository?.Parent; beside is not null; beside = beside.Parent)
        {
            var candidate = Path.Combine(beside.FullName, "shared", "golden");
            if (File.Exists(Path.Combine(candidate, "models", ResNet + ".pt"))) return candidate;
        }
        return null;
    }

    private static readonly Lazy<SafeTensors.Contents> references = new(() => SafeTensors.Read(Path.Combine(Fixtures, "golden.safetensors")));

    /// <summary>A tensor of golden.safetensors (kept for the whole test run; do not dispose).</summary>
    public static Tensor Reference(string key) => references.Value.Tensors.TryGetValue(key, out var t)
        ? t : throw new KeyNotFoundException($"golden.safetensors has no tensor '{key}'.");

    /// <summary>The JSON notes of golden.safetensors.</summary>
    public static string Notes => references.Value.Metadata["json"];

    public static Tensor Images => Reference("images");
    public static Tensor Labels => Reference("labels");

    /// <summary>Imports a golden model as the import verb does: only the architecture and class count given.</summary>
    public static ImportResult Import(string name) => StateDictImport.Import(ModelPath(name), new ImportOptions
    {
        Architecture = name == ResNet ? "resnet18" : "vgg16",
        ClassNames = Enumerable.Range(0, Classes).Select(i => i.ToString()).ToArray(),
    });

    private static readonly Dictionary<string, ImportResult> imported = [];

    /// <summary>The import of a golden model, kept for the whole test run (the tests run one at a time; do not dispose).</summary>
    public static ImportResult Imported(string name)
    {
        if (!imported.TryGetValue(name, out var result)) imported[name] = result = Import(name);
        return result;
    }

    /// <summary>The imported model, kept for the whole test run (do not dispose).</summary>
    public static SalientModel Model(string name) => Imported(name).Model;
}

/// <summary>A fact about the ResNet-18 reference file; reported as skipped, with the reason, where that file is absent.</summary>
public sealed class GoldenResNetFactAttribute : FactAttribute
{
    public GoldenResNetFactAttribute()
    {
        if (GoldenFiles.SharedFolder is null) Skip = GoldenFiles.ResNetSkipReason;
    }
}
