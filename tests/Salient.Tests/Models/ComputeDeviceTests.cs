using Salient.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace Salient.Tests.Models;

public class ComputeDeviceTests
{
    [Fact]
    public void TheDeviceSettingIsCheckedWithOneSentence()
    {
        var bad = Assert.Throws<SalientException>(() => ComputeDevice.Configure("gpu0"));
        Assert.Equal("SALIENT_DEVICE='gpu0' is not a device; use cpu, cuda or cuda:N.", bad.Message);
        if (!cuda.is_available())
        {
            var missing = Assert.Throws<SalientException>(() => ComputeDevice.Configure("cuda"));
            Assert.Contains("asks for CUDA, but this build has no usable CUDA device", missing.Message);
        }
        // The CPU is always there; asking for it explicitly changes nothing.
        Assert.Equal(DeviceType.CPU, ComputeDevice.Configure("cpu").type);
        Assert.Equal(DeviceType.CPU, get_default_device().type);
    }
}
