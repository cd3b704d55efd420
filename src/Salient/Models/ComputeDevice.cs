using TorchSharp;
using static TorchSharp.torch;

namespace Salient.Models;

/// <summary>
/// Where the library computes: torch's default device, on which every model and tensor the library
/// creates is placed. One setting, the environment variable <c>SALIENT_DEVICE</c> (<c>cpu</c>,
/// <c>cuda</c>, <c>cuda:N</c>), read by the command line and the benchmarks at start. The build
/// decides which devices exist: TorchSharp-cpu by default, a CUDA TorchSharp package with
/// <c>-p:TorchSharpPackage=…</c> (see README), with no change to the code.
/// </summary>
public static class ComputeDevice
{
    public const string EnvironmentVariable = "SALIENT_DEVICE";

    /// <summary>Applies <paramref name="name"/> (or <c>SALIENT_DEVICE</c> when null); unset leaves the CPU. Returns the device in use.</summary>
    public static Device Configure(string? name = null)
    {
        name ??= Environment.GetEnvironmentVariable(EnvironmentVariable);
        if (string.IsNullOrWhiteSpace(name)) return get_default_device();
        Device device;
        try
        {
            device = new Device(name.Trim());
        }
        catch (Exception e) when (e is ArgumentException or FormatException or InvalidOperationException)
        {
            throw new SalientException($"{EnvironmentVariable}='{name}' is not a device; use cpu, cuda or cuda:N.");
        }
        if (device.type == DeviceType.CUDA && !cuda.is_available())
            throw new SalientException(
                $"{EnvironmentVariable}='{name}' asks for CUDA, but this build has no usable CUDA device (TorchSharp-cpu, or no GPU/driver); build with a CUDA TorchSharp package (README: \"Device\") on a machine with a GPU, or unset {EnvironmentVariable}.");
        set_default_device(device);
        return device;
    }
}
