using Salient.Interop;
using Salient.Models;
using Salient.Pruning;
using static TorchSharp.torch;

namespace Salient.Bench;

/// <summary>
/// Export and import of the paper's full-width VGG-16 (32×32, 43 classes, about 15 M parameters),
/// L1-pruned so the masks travel too, in torch.save's format (through PyBridge) and as safetensors.
/// </summary>
public static class InteropBench
{
    private static readonly Lazy<(SalientModel Model, string Folder)> setup = new(() =>
    {
        random.manual_seed(0);
        var model = ModelFactory.Create(new ModelSpec());
        Pruner.Prune(model, PruningSettings.Paper(PruningMethod.L1Unstructured));
        var folder = Directory.CreateTempSubdirectory("salient-bench-interop-").FullName;
        AppDomain.CurrentDomain.ProcessExit += (_, _) => Directory.Delete(folder, recursive: true);
        return (model, folder);
    });

    private static readonly string[] Classes = Enumerable.Range(0, 43).Select(i => i.ToString()).ToArray();

    public static double ExportPt() => Export(".pt");
    public static double ExportSafeTensors() => Export(".safetensors");
    public static double ImportPt() => Import(".pt");
    public static double ImportSafeTensors() => Import(".safetensors");

    private static double Export(string extension)
    {
        var (model, folder) = setup.Value;
        return Benchmarks.Median(() => StateDictExport.Export(model, Classes, Path.Combine(folder, "vgg" + extension)), repeats: 3);
    }

    private static double Import(string extension)
    {
        var (model, folder) = setup.Value;
        var path = Path.Combine(folder, "vgg" + extension);
        if (!File.Exists(path)) StateDictExport.Export(model, Classes, path);
        var options = new ImportOptions { Architecture = "vgg16", ClassNames = Classes };
        return Benchmarks.Median(() => StateDictImport.Import(path, options).Model.Dispose(), repeats: 3);
    }
}
