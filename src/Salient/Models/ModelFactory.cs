namespace Salient.Models;

public static class ModelFactory
{
    /// <summary>Builds a freshly initialised model; seed torch (torch.random.manual_seed) first for reproducible weights.</summary>
    public static SalientModel Create(ModelSpec spec)
    {
        spec.Validate();
        return spec.Architecture switch
        {
            "vgg16" => new Vgg16(spec),
            "resnet18" => new ResNet18(spec),
            ScriptedModel.ArchitectureName => throw new SalientException("A TorchScript model comes only from its archive ('salient import --from model.pt'); Salient cannot build, train or prune one."),
            _ => throw new SalientException($"Unknown architecture '{spec.Architecture}'."),
        };
    }
}
