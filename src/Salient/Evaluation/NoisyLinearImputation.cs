using System.Numerics;
using static TorchSharp.torch;

namespace Salient.Evaluation;

/// <summary>
/// ROAD's noisy linear imputation (SPEC.md §5), solved exactly. Every removed pixel equals the weighted
/// mean of its in-image 8 neighbours (1/6 for edge neighbours, 1/12 for diagonal ones, renormalised by
/// the weights present at borders and corners); known pixels are fixed. Multiplying each pixel's
/// equation by its weight sum turns the system into the weighted graph Laplacian restricted to the
/// removed pixels, which is symmetric positive definite whenever some pixel is known, so each image is
/// solved by a Cholesky factorisation confined to each row's envelope (with unknowns numbered row-major
/// no envelope is wider than W+1), one right-hand side per channel. Gaussian noise is then added to the
/// imputed pixels only. Linear images are reproduced exactly where the stencil is symmetric (interior
/// pixels); at a border the renormalised one-sided mean leans inward, as in the reference.
/// When every pixel of an image is removed nothing anchors the system (every constant solves it); such
/// an image is filled with its own per-channel mean, the constant closest to the original.
/// </summary>
public static class NoisyLinearImputation
{
    public const double DefaultNoiseStd = 0.01;

    // Weights scaled by 12 (edge 1/6 → 2, diagonal 1/12 → 1): scaling every equation alike leaves the solution unchanged.
    private static readonly (int Dy, int Dx, int Weight)[] Neighbours =
        [(-1, -1, 1), (-1, 0, 2), (-1, 1, 1), (0, -1, 2), (0, 1, 2), (1, -1, 1), (1, 0, 2), (1, 1, 1)];

    /// <summary>
    /// Fills the removed pixels of pixel-space images (N×C×H×W) where <paramref name="removed"/> (N×H×W,
    /// nonzero = removed) is set. Noise N(0, <paramref name="noiseStd"/>²) comes from
    /// <paramref name="generator"/> (torch's default generator when null); 0 turns it off.
    /// Returns a new float32 tensor; images are solved in parallel.
    /// </summary>
    public static Tensor Impute(Tensor images, Tensor removed, double noiseStd = DefaultNoiseStd, Generator? generator = null)
    {
        if (images.dim() != 4)
            throw new SalientException($"Images to impute must be N×C×H×W, got shape [{string.Join(", ", images.shape)}].");
        if (removed.dim() != 3 || removed.shape[0] != images.shape[0] || removed.shape[1] != images.shape[2] || removed.shape[2] != images.shape[3])
            throw new SalientException($"The removal masks have shape [{string.Join(", ", removed.shape)}] but the images are [{string.Join(", ", images.shape)}]; give one H×W mask per image.");
        if (noiseStd < 0 || double.IsNaN(noiseStd))
            throw new SalientException($"Imputation noise {noiseStd} is invalid; use a standard deviation ≥ 0 (0.01 by default).");

        int count = (int)images.shape[0], channels = (int)images.shape[1], height = (int)images.shape[2], width = (int)images.shape[3];
        int plane = height * width;
        float[] pixels, filled;
        byte[] mask;
        using (NewDisposeScope())
        {
            pixels = images.detach().to(ScalarType.Float32).cpu().contiguous().data<float>().ToArray();
            mask = removed.detach().cpu().ne(0).to(ScalarType.Byte).contiguous().data<byte>().ToArray();
        }
        filled = (float[])pixels.Clone();
        Parallel.For(0, count,
            () => new Workspace(plane, channels),
            (i, _, workspace) =>
            {
                workspace.Solve(pixels.AsSpan(i * channels * plane, channels * plane), mask.AsSpan(i * plane, plane),
                    filled.AsSpan(i * channels * plane, channels * plane), height, width);
                return workspace;
            },
            _ => { });

        var result = tensor(filled, [count, channels, height, width], device: CPU);
        if (noiseStd == 0) return result;
        using var scope = NewDisposeScope();
        var noise = randn([count, channels, height, width], generator: generator, device: CPU) * noiseStd;
        var removedPixels = removed.detach().cpu().ne(0).unsqueeze(1).to(ScalarType.Float32);
        result.add_(noise * removedPixels);
        return result;
    }

    /// <summary>Per-thread buffers, reused across the images one thread solves.</summary>
    private sealed class Workspace(int plane, int channels)
    {
        private readonly int[] unknownIndex = new int[plane];
        private readonly int[] unknownPixel = new int[plane];
        private readonly int[] envelopeStart = new int[plane];
        private readonly double[] rhs = new double[channels * plane];
        private double[] band = [];
        private readonly int channels = channels;

        public void Solve(ReadOnlySpan<float> image, ReadOnlySpan<byte> removed, Span<float> output, int height, int width)
        {
            int plane = height * width, unknowns = 0;
            for (int p = 0; p < plane; p++)
            {
                unknownIndex[p] = removed[p] != 0 ? unknowns : -1;
                if (removed[p] != 0) unknownPixel[unknowns++] = p;
            }
            if (unknowns == 0) return;
            if (unknowns == plane)
            {
                for (int c = 0; c < channels; c++)
                {
                    double sum = 0;
                    for (int p = 0; p < plane; p++) sum += image[c * plane + p];
                    output.Slice(c * plane, plane).Fill((float)(sum / plane));
                }
                return;
            }

            // Row k's envelope starts at its lowest-numbered unknown neighbour; Cholesky fills in only inside
            // envelopes, so the factor is stored as a band as wide as the widest envelope but each row is
            // processed from its own start (rows in sparse masks are much narrower than W+1).
            int halfBand = 0;
            for (int k = 0; k < unknowns; k++)
            {
                int y = unknownPixel[k] / width, x = unknownPixel[k] % width, start = k;
                foreach (var (dy, dx, _) in Neighbours)
                {
                    int ny = y + dy, nx = x + dx;
                    if (ny < 0 || ny >= height || nx < 0 || nx >= width) continue;
                    int j = unknownIndex[ny * width + nx];
                    if (j >= 0 && j < start) start = j;
                }
                envelopeStart[k] = start;
                halfBand = Math.Max(halfBand, k - start);
            }
            int stride = halfBand + 1;
            if (band.Length < unknowns * stride) band = new double[unknowns * stride];
            var lower = band.AsSpan(0, unknowns * stride);
            lower.Clear();
            rhs.AsSpan(0, channels * unknowns).Clear();

            // Row k of the band holds columns k−halfBand … k at offsets 0 … halfBand.
            for (int k = 0; k < unknowns; k++)
            {
                int y = unknownPixel[k] / width, x = unknownPixel[k] % width;
                double weightSum = 0;
                foreach (var (dy, dx, w) in Neighbours)
                {
                    int ny = y + dy, nx = x + dx;
                    if (ny < 0 || ny >= height || nx < 0 || nx >= width) continue;
                    weightSum += w;
                    int q = ny * width + nx, j = unknownIndex[q];
                    if (j < 0)
                        for (int c = 0; c < channels; c++) rhs[c * unknowns + k] += w * image[c * plane + q];
                    else if (j < k)
                        lower[k * stride + j - k + halfBand] = -w;
                }
                lower[k * stride + halfBand] = weightSum;
            }

            var starts = envelopeStart.AsSpan(0, unknowns);
            FactorEnvelopeCholesky(lower, starts, halfBand);
            for (int c = 0; c < channels; c++)
            {
                var b = rhs.AsSpan(c * unknowns, unknowns);
                SolveFactored(lower, starts, b, halfBand);
                for (int k = 0; k < unknowns; k++) output[c * plane + unknownPixel[k]] = (float)b[k];
            }
        }
    }

    // In-place A = L Lᵀ; element (i, j) sits at i·stride + halfBand − i + j and is zero for j < starts[i].
    private static void FactorEnvelopeCholesky(Span<double> band, ReadOnlySpan<int> starts, int halfBand)
    {
        int stride = halfBand + 1;
        for (int i = 0; i < starts.Length; i++)
        {
            int rowI = i * stride + halfBand - i;
            for (int j = starts[i]; j <= i; j++)
            {
                int rowJ = j * stride + halfBand - j, from = Math.Max(starts[i], starts[j]);
                double sum = band[rowI + j] - Dot(band.Slice(rowI + from, j - from), band.Slice(rowJ + from, j - from));
                band[rowI + j] = j < i ? sum / band[rowJ + j] : Math.Sqrt(sum);
            }
        }
    }

    // Solves L Lᵀ x = b in place; the transpose solve runs by rows of L so it reads memory in order.
    private static void SolveFactored(ReadOnlySpan<double> band, ReadOnlySpan<int> starts, Span<double> b, int halfBand)
    {
        int stride = halfBand + 1;
        for (int i = 0; i < starts.Length; i++)
        {
            int rowI = i * stride + halfBand - i;
            b[i] = (b[i] - Dot(band.Slice(rowI + starts[i], i - starts[i]), b.Slice(starts[i], i - starts[i]))) / band[rowI + i];
        }
        for (int i = starts.Length - 1; i >= 0; i--)
        {
            int rowI = i * stride + halfBand - i;
            double x = b[i] /= band[rowI + i];
            for (int j = starts[i]; j < i; j++) b[j] -= band[rowI + j] * x;
        }
    }

    private static double Dot(ReadOnlySpan<double> a, ReadOnlySpan<double> b)
    {
        double sum = 0;
        int i = 0;
        if (Vector.IsHardwareAccelerated && a.Length >= Vector<double>.Count)
        {
            var acc = Vector<double>.Zero;
            for (; i <= a.Length - Vector<double>.Count; i += Vector<double>.Count)
                acc += new Vector<double>(a.Slice(i)) * new Vector<double>(b.Slice(i));
            sum = Vector.Dot(acc, Vector<double>.One);
        }
        for (; i < a.Length; i++) sum += a[i] * b[i];
        return sum;
    }
}
