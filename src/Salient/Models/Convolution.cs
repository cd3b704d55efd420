using static TorchSharp.torch;

namespace Salient.Models;

/// <summary>
/// The one way the library runs a 2-D convolution: on activations in channels-last (NHWC) memory
/// order. libtorch hands NCHW convolutions to oneDNN in its blocked layout, which pads the channel
/// count up to the vector width (8 or 16); on some CPUs (seen on AMD Zen 5 with AVX-512, libtorch
/// 2.10) those padded kernels return wrong values or NaN whenever a channel count is not a
/// multiple of the block — the backward pass for 8 channels, the forward pass for 24 or 57. The
/// channels-last kernels are exact for every channel count, and faster for training besides —
/// except for 1×1 kernels: on channels-last input with more than one image
/// they return wrong values for some channel counts (24→40, and 256→512 as in ResNet-18's last
/// downsampling shortcut at full width), and the strided one crashes in its weight gradient. A 1×1
/// convolution is a matrix product over channels at each pixel (of every stride-th pixel when
/// strided), so it runs as exactly that.
/// </summary>
public static class Convolution
{
    public static Tensor Conv2d(Tensor input, Tensor weight, Tensor? bias, long stride, long padding)
    {
        if (padding == 0 && weight.shape[2] == 1 && weight.shape[3] == 1)
        {
            if (stride > 1) input = input[.., .., TensorIndex.Slice(null, null, stride), TensorIndex.Slice(null, null, stride)];
            // N×H×W×C times C×O: the output comes back channels-last, like every other convolution's.
            return nn.functional.linear(input.permute(0, 2, 3, 1), weight.flatten(1), bias).permute(0, 3, 1, 2);
        }
        long outHeight = (input.shape[2] + 2 * padding - weight.shape[2]) / stride + 1;
        long outWidth = (input.shape[3] + 2 * padding - weight.shape[3]) / stride + 1;
        long pixels = input.shape[0] * outHeight * outWidth;
        if (input.device_type == TorchSharp.DeviceType.CPU && pixels <= (input.shape[0] == 1 ? FewPixelsOfOneImage : FewPixels) && weight.numel() >= LargeWeight)
            return WeightTimesPatches(ChannelsLast(input), ChannelsLast(weight), bias, stride, padding, outHeight, outWidth);
        // A weight in OIHW order is copied to channels-last inside libtorch on every call, and for
        // VGG's 512-channel 2×2 layers that path ran 13× slower than with a channels-last weight.
        return nn.functional.conv2d(ChannelsLast(input), ChannelsLast(weight), bias, [stride, stride], [padding, padding]);
    }

    /// <summary>
    /// A convolution with a large weight and few output pixels in all (images × height × width) is
    /// computed as the weight matrix times the input's patches. For one image on a small map libtorch
    /// multiplies the other way round, patches times weight, and its matrix product then repacks the
    /// whole weight on every call: VGG-16's 512-channel 4×4 and 2×2 layers at batch 1 took 1.4–1.5× as
    /// long that way (their weights read from memory, as in a forward pass). The repacking costs in
    /// proportion to the weight, and below <see cref="LargeWeight"/> values the extra steps of this path
    /// cost more than it saves. For several images libtorch runs oneDNN's kernels instead, which were
    /// faster from 64 output pixels on (16 images on 2×2: 1.9 ms against 2.3). Measured on the CPU
    /// only; other devices keep libtorch's own choice.
    /// </summary>
    private const long FewPixels = 16;
    private const long FewPixelsOfOneImage = 64;
    private const long LargeWeight = 1 << 17;

    /// <summary>
    /// out[o, p] = Σ W[o, k] · patches[k, p] with k over the kernel taps that can reach the input
    /// (on a 1×1 map only the centre tap does, so only that ninth of the weight is read) and the
    /// input's channels, p over output pixels. Returned channels-last, like every other convolution.
    /// </summary>
    private static Tensor WeightTimesPatches(Tensor input, Tensor weight, Tensor? bias, long stride, long padding, long outHeight, long outWidth)
    {
        var (rows, rowTaps) = ReachingTaps(input.shape[2], weight.shape[2], stride, padding, outHeight);
        var (columns, columnTaps) = ReachingTaps(input.shape[3], weight.shape[3], stride, padding, outWidth);
        long images = input.shape[0], outChannels = weight.shape[0];
        // Both are views of channels-last storage: weight O×kh×kw×C, input N×H×W×C.
        var taps = weight.permute(0, 2, 3, 1)[.., TensorIndex.Slice(rows, rows + rowTaps), TensorIndex.Slice(columns, columns + columnTaps)];
        var padded = nn.functional.pad(input.permute(0, 2, 3, 1), [0, 0, padding, padding, padding, padding]);
        var windows = padded[.., TensorIndex.Slice(rows, null), TensorIndex.Slice(columns, null)]
            .unfold(1, rowTaps, stride).unfold(2, columnTaps, stride)                                       // N×H'×W'×C×kh×kw
            [.., TensorIndex.Slice(null, outHeight), TensorIndex.Slice(null, outWidth)];
        var patches = windows.permute(0, 1, 2, 4, 5, 3).reshape(images * outHeight * outWidth, -1);          // P×(kh·kw·C)
        var product = bias is null
            ? taps.reshape(outChannels, -1).matmul(patches.t())
            : addmm(bias.unsqueeze(1), taps.reshape(outChannels, -1), patches.t(), 1, 1);                    // O×P
        return product.t().contiguous().view(images, outHeight, outWidth, outChannels).permute(0, 3, 1, 2);
    }

    /// <summary>
    /// The kernel rows (or columns) that touch the input for some output position, as first tap and
    /// count: the others only ever see zero padding.
    /// </summary>
    private static (long First, long Count) ReachingTaps(long inputSize, long kernelSize, long stride, long padding, long outputSize)
    {
        // Output position p reads padded position p·stride + tap, which is inside the input when
        // padding ≤ p·stride + tap < padding + inputSize.
        long first = kernelSize, last = -1;
        for (long tap = 0; tap < kernelSize; tap++)
            for (long p = 0; p < outputSize; p++)
            {
                long position = p * stride + tap;
                if (position < padding || position >= padding + inputSize) continue;
                first = Math.Min(first, tap);
                last = Math.Max(last, tap);
            }
        return last < 0 ? (0, kernelSize) : (first, last - first + 1);
    }

    /// <summary>The same values with NHWC strides (a no-op when they already are); autograd flows through.</summary>
    public static Tensor ChannelsLast(Tensor x)
    {
        if (x.dim() != 4 || IsChannelsLast(x)) return x;
        return x.permute(0, 2, 3, 1).contiguous().permute(0, 3, 1, 2);
    }

    /// <summary>A weight in channels-last (OHWI) memory order, the layout the kernels read: a copy unless it already is (then a view); values unchanged.</summary>
    public static Tensor ChannelsLastWeight(Tensor weight) => ChannelsLast(weight.detach());

    /// <summary>
    /// A C×H×W map (one image's worth of activations) with the same values stored pixel by pixel,
    /// channels innermost, as channels-last activations are: adding it to them is then one contiguous add.
    /// </summary>
    public static Tensor ChannelsLastMap(Tensor map) => ChannelsLast(map.unsqueeze(0)).squeeze(0);

    public static bool IsChannelsLast(Tensor x)
    {
        if (x.dim() != 4) return false;
        var (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3]);
        var s = x.stride();
        return (c == 1 || s[1] == 1) && (w == 1 || s[3] == c) && (h == 1 || s[2] == w * c) && (n == 1 || s[0] == h * w * c);
    }
}
