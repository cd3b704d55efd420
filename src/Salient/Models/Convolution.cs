using static TorchSharp.torch;

namespace Salient.Models;

/// <summary>
/// The one way the library runs a 2-D convolution: on activations in channels-last (NHWC) memory
/// order. libtorch hands NCHW convolutions to oneDNN in its blocked layout, which pads the channel
/// count up to the vector width (8 or 16); on some CPUs (seen on AMD Zen 5 with AVX-512, libtorch
/// 2.10) those padded kernels return wrong values or NaN whenever a channel count is not a
/// multiple of the block — the backward pass for 8 channels, the forward pass for 24 or 57. The
/// channels-last kernels are exact for every channel count, and faster for training besides —
/// except one: a strided 1×1 convolution with fewer input channels than the block (ResNet's
/// downsampling shortcut at small widths) crashes the process in its weight gradient, so it runs
/// as what it is, a 1×1 convolution of every stride-th pixel.
/// </summary>
public static class Convolution
{
    /// <summary>
    /// Output maps of at most this many pixels (VGG-16's 4×4 and 2×2 stages at 32 px) are computed as
    /// columns × weight, one matrix product: libtorch's convolution kernels on this CPU took 4–8× their
    /// forward time for the backward pass of 512-channel layers there, while unfold + GEMM (and their
    /// gradients, fold + GEMM) cut a VGG-16 training step's processor time by about 45% (bench/README).
    /// </summary>
    public const long ColumnsMaxArea = 16;

    public static Tensor Conv2d(Tensor input, Tensor weight, Tensor? bias, long stride, long padding)
    {
        if (stride > 1 && padding == 0 && weight.shape[2] == 1 && weight.shape[3] == 1)
        {
            input = input[.., .., TensorIndex.Slice(null, null, stride), TensorIndex.Slice(null, null, stride)];
            stride = 1;
        }
        if (UsesColumns(input.shape[2], input.shape[3], weight.shape[2], stride, padding))
            return ColumnConv2d(input, weight, bias, stride, padding);
        return nn.functional.conv2d(ChannelsLast(input), ChannelsLast(weight), bias, [stride, stride], [padding, padding]);
    }

    /// <summary>Whether <see cref="Conv2d"/> computes this convolution as one matrix product (then its weight is best kept in plain OIHW order).</summary>
    public static bool UsesColumns(long height, long width, long kernel, long stride, long padding)
    {
        long outHeight = (height + 2 * padding - kernel) / stride + 1, outWidth = (width + 2 * padding - kernel) / stride + 1;
        return kernel > 1 && outHeight * outWidth <= ColumnsMaxArea;
    }

    /// <summary>The convolution as im2col: every receptive field a column (N × C·k² × L), times the weight (O × C·k²).</summary>
    private static Tensor ColumnConv2d(Tensor input, Tensor weight, Tensor? bias, long stride, long padding)
    {
        long kernel = weight.shape[2];
        long outHeight = (input.shape[2] + 2 * padding - kernel) / stride + 1, outWidth = (input.shape[3] + 2 * padding - kernel) / stride + 1;
        var columns = nn.functional.unfold(input, kernel, padding: padding, stride: stride);
        var output = weight.contiguous().flatten(1).matmul(columns);
        if (bias is not null) output = output + bias.view(-1, 1);
        return output.view(input.shape[0], weight.shape[0], outHeight, outWidth);
    }

    /// <summary>The same values with NHWC strides (a no-op when they already are); autograd flows through.</summary>
    public static Tensor ChannelsLast(Tensor x)
    {
        if (x.dim() != 4 || IsChannelsLast(x)) return x;
        return x.permute(0, 2, 3, 1).contiguous().permute(0, 3, 1, 2);
    }

    /// <summary>A copy of a weight in channels-last (OHWI) memory order, the layout the kernels read; values unchanged.</summary>
    public static Tensor ChannelsLastWeight(Tensor weight) => weight.dim() == 4
        ? weight.detach().permute(0, 2, 3, 1).contiguous().permute(0, 3, 1, 2)
        : weight.detach().clone();

    public static bool IsChannelsLast(Tensor x)
    {
        if (x.dim() != 4) return false;
        var (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3]);
        var s = x.stride();
        return (c == 1 || s[1] == 1) && (w == 1 || s[3] == c) && (h == 1 || s[2] == w * c) && (n == 1 || s[0] == h * w * c);
    }
}
