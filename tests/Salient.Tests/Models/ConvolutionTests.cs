using Salient.Models;
using static TorchSharp.torch;

namespace Salient.Tests.Models;

public class ConvolutionTests
{
    /// <summary>
    /// Forward values and both gradients of the library's convolution against libtorch's own
    /// convolution in float64 (computed without oneDNN), for channel counts that are and are not
    /// multiples of oneDNN's block widths (8, 16), on maps down to 1×1, strided too, one image and several.
    /// </summary>
    [Theory]
    [InlineData(3, 8, 32, 1)]
    [InlineData(8, 8, 32, 1)]
    [InlineData(12, 8, 16, 1)]
    [InlineData(24, 24, 16, 1)]
    [InlineData(24, 40, 8, 1)]
    [InlineData(57, 57, 4, 1)]
    [InlineData(64, 57, 8, 1)]
    [InlineData(16, 24, 2, 1)]
    [InlineData(24, 16, 8, 2)]
    // Few output pixels and a large weight: computed as weight times patches; on a 1×1 map and a
    // strided 2×2 one only some of the kernel's taps reach the input and only those are read.
    [InlineData(128, 128, 4, 1, 1)]
    [InlineData(58, 256, 8, 1, 1)]
    [InlineData(115, 230, 2, 1, 1)]
    [InlineData(128, 130, 1, 1, 1)]
    [InlineData(130, 128, 2, 2, 1)]
    [InlineData(128, 120, 3, 2, 1)]
    [InlineData(120, 128, 5, 2, 1)]
    [InlineData(128, 128, 2, 1, 2)]
    public void ConvolutionMatchesFloat64ForEveryChannelCount(int inChannels, int outChannels, int side, int stride, int images = 4)
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator(5);
        long outSide = (side - 1) / stride + 1;
        var x = randn([images, inChannels, side, side], generator: generator);
        var w = randn([outChannels, inChannels, 3, 3], generator: generator);
        var b = randn([outChannels], generator: generator);
        var upstream = randn([images, outChannels, outSide, outSide], generator: generator);

        var (y32, gx32, gw32) = Run(x, w, b, upstream, float32, stride, (xi, wi, bi) => Convolution.Conv2d(xi, wi, bi, stride, 1));
        // The reference on purpose bypasses Convolution: libtorch's plain float64 kernel, not the library's path.
        var (y64, gx64, gw64) = Run(x, w, b, upstream, float64, stride, (xi, wi, bi) => nn.functional.conv2d(xi, wi, bi, [stride, stride], [1, 1]));
        AssertClose(y32, y64, "output");
        AssertClose(gx32, gx64, "input gradient");
        AssertClose(gw32, gw64, "weight gradient");
        Assert.True(Convolution.IsChannelsLast(y32), "the output is channels-last");
    }

    /// <summary>
    /// 1×1 kernels (ResNet's downsampling shortcuts), plain and strided, on NCHW and channels-last
    /// input: libtorch's channels-last 1×1 kernels gave wrong values for 24→40 and 256→512 channels.
    /// </summary>
    [Theory]
    [InlineData(24, 40, 3, 1, false)]
    [InlineData(24, 40, 4, 2, true)]
    [InlineData(256, 512, 2, 2, true)]
    [InlineData(256, 512, 1, 1, false)]
    [InlineData(8, 16, 7, 2, false)]
    public void OneByOneConvolutionMatchesFloat64(int inChannels, int outChannels, int side, int stride, bool channelsLast)
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator(7);
        var x = randn([4, inChannels, side, side], generator: generator);
        if (channelsLast) x = Convolution.ChannelsLast(x);
        var w = randn([outChannels, inChannels, 1, 1], generator: generator);
        var b = randn([outChannels], generator: generator);
        int outSide = (side - 1) / stride + 1;
        var upstream = randn([4, outChannels, outSide, outSide], generator: generator);

        var (y32, gx32, gw32) = Run(x, w, b, upstream, float32, stride, (xi, wi, bi) => Convolution.Conv2d(xi, wi, bi, stride, 0));
        var (y64, gx64, gw64) = Run(x, w, b, upstream, float64, stride, (xi, wi, bi) => nn.functional.conv2d(xi, wi, bi, [stride, stride], [0, 0]));
        AssertClose(y32, y64, "output");
        AssertClose(gx32, gx64, "input gradient");
        AssertClose(gw32, gw64, "weight gradient");
    }

    private static (Tensor Y, Tensor GradX, Tensor GradW) Run(Tensor x, Tensor w, Tensor b, Tensor upstream, ScalarType type, int stride, Func<Tensor, Tensor, Tensor, Tensor> convolution)
    {
        var xi = x.to(type).requires_grad_(true);
        var wi = w.to(type).requires_grad_(true);
        var y = convolution(xi, wi, b.to(type));
        var grads = autograd.grad([y], [xi, wi], [upstream.to(type)]);
        return (y.detach(), grads[0], grads[1]);
    }

    private static void AssertClose(Tensor actual, Tensor expected, string what)
    {
        var scale = expected.abs().max().item<double>();
        var error = (actual.to(float64) - expected).abs().max().item<double>();
        Assert.True(error <= 1e-5 * scale, $"{what}: largest error {error} vs scale {scale}");
    }

    [Fact]
    public void ChannelsLastKeepsValuesAndIsANoOpTheSecondTime()
    {
        using var x = rand(2, 5, 3, 4);
        using var cl = Convolution.ChannelsLast(x);
        Assert.True(Convolution.IsChannelsLast(cl));
        Assert.False(Convolution.IsChannelsLast(x));
        Assert.True(cl.allclose(x, 0, 0));
        Assert.Same(cl, Convolution.ChannelsLast(cl));
    }
}
