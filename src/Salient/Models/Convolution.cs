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
        // A weight in OIHW order is copied to channels-last inside libtorch on every call, and for
        // VGG's 512-channel 2×2 layers that path ran 13× slower than with a channels-last weight.
        return nn.functional.conv2d(ChannelsLast(input), ChannelsLast(weight), bias, [stride, stride], [padding, padding]);
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
