using System.Text.Json.Serialization;
using Salient.Data;
using static TorchSharp.torch;

namespace Salient.Training;

/// <summary>
/// Random distortions of each training image, of the kind the best GTSRB entries used (small shifts,
/// rotations and zooms, brightness and contrast). Never a mirror image: signs are not symmetric
/// (a "keep left" mirrored is a "keep right"), so every draw keeps the orientation. All zero (the
/// default, and the paper's recipe) leaves the images untouched.
/// </summary>
public sealed record AugmentationSettings
{
    /// <summary>Largest shift along each axis, as a fraction of the image side (0.1 = ±3.2 px at 32×32).</summary>
    public double Translate { get; init; }
    /// <summary>Largest rotation either way, in degrees.</summary>
    public double RotateDegrees { get; init; }
    /// <summary>Zoom drawn from [1 − scale, 1 + scale].</summary>
    public double Scale { get; init; }
    /// <summary>Pixels multiplied by a factor from [1 − brightness, 1 + brightness].</summary>
    public double Brightness { get; init; }
    /// <summary>Deviations from the image's mean multiplied by a factor from [1 − contrast, 1 + contrast].</summary>
    public double Contrast { get; init; }

    [JsonIgnore]
    public bool IsIdentity => Translate == 0 && RotateDegrees == 0 && Scale == 0 && Brightness == 0 && Contrast == 0;

    public void Validate()
    {
        Check(Translate, 0.5, "translate", "--augment-translate", "0.1");
        Check(RotateDegrees, 180, "rotateDegrees", "--augment-rotate", "10");
        // Below 1, so a zoom never reaches 0 or turns negative (which would be a flip).
        Check(Scale, 0.99, "scale", "--augment-scale", "0.1");
        Check(Brightness, 0.99, "brightness", "--augment-brightness", "0.3");
        Check(Contrast, 0.99, "contrast", "--augment-contrast", "0.3");
    }

    private static void Check(double value, double max, string setting, string option, string example)
    {
        if (!(value >= 0 && value <= max))
            throw new SalientException($"Augmentation {setting} must lie in [0, {max}], got {value} (setting augmentation.{setting}, option {option}); e.g. {example}, or 0 for none.");
    }
}

/// <summary>
/// One image's distortion. Shifts are fractions of the side (positive: the content moves right /
/// down); a positive rotation turns the content clockwise as displayed; zoom above 1 enlarges it.
/// </summary>
public readonly record struct Distortion(double ShiftX, double ShiftY, double RotateDegrees, double Zoom, double Brightness, double Contrast)
{
    public static readonly Distortion None = new(0, 0, 0, 1, 1, 1);
}

public static class Augmentation
{
    /// <summary>
    /// Draws one distortion per image from a generator seeded by <paramref name="seed"/> alone, so a
    /// batch gets the same distortions in a resumed run (the trainer derives the seed from the
    /// recipe's seed, the epoch and the batch).
    /// </summary>
    public static Distortion[] Draw(AugmentationSettings settings, int count, ulong seed)
    {
        var random = new SeededRandom(seed);
        double Uniform(double halfWidth) => halfWidth == 0 ? 0 : (random.NextDouble() * 2 - 1) * halfWidth;
        var draws = new Distortion[count];
        for (int i = 0; i < count; i++)
            draws[i] = new Distortion(Uniform(settings.Translate), Uniform(settings.Translate), Uniform(settings.RotateDegrees),
                1 + Uniform(settings.Scale), 1 + Uniform(settings.Brightness), 1 + Uniform(settings.Contrast));
        return draws;
    }

    /// <summary>The batch distorted by the settings' random draws; the batch itself when the settings are all zero.</summary>
    public static Tensor Apply(Tensor pixels, AugmentationSettings settings, ulong seed) =>
        settings.IsIdentity ? pixels.alias() : Apply(pixels, Draw(settings, (int)pixels.shape[0], seed));

    /// <summary>
    /// Applies one distortion per image of <paramref name="pixels"/> (N×C×S×S in [0,1]): the geometric
    /// part by bilinear resampling (points outside the image take the nearest edge pixel, which looks
    /// like more background rather than a black frame), then contrast and brightness, clamped to [0,1].
    /// </summary>
    public static Tensor Apply(Tensor pixels, IReadOnlyList<Distortion> distortions)
    {
        long n = pixels.shape[0];
        if (distortions.Count != n) throw new ArgumentException($"{distortions.Count} distortions for {n} images.");
        using var scope = NewDisposeScope();
        var x = pixels;
        if (distortions.Any(d => d.ShiftX != 0 || d.ShiftY != 0 || d.RotateDegrees != 0 || d.Zoom != 1))
        {
            using var theta = tensor(distortions.SelectMany(SamplingMatrix).ToArray(), [n, 2, 3], dtype: pixels.dtype);
            var grid = nn.functional.affine_grid(theta, pixels.shape, align_corners: false);
            x = nn.functional.grid_sample(pixels, grid, GridSampleMode.Bilinear, GridSamplePaddingMode.Border, align_corners: false);
        }
        if (distortions.Any(d => d.Contrast != 1 || d.Brightness != 1))
        {
            var contrast = tensor(distortions.Select(d => (float)d.Contrast).ToArray(), [n, 1, 1, 1]).to_type(pixels.dtype);
            var brightness = tensor(distortions.Select(d => (float)d.Brightness).ToArray(), [n, 1, 1, 1]).to_type(pixels.dtype);
            var mean = x.mean([1, 2, 3], keepdim: true);
            x = ((x - mean) * contrast + mean) * brightness;
        }
        return x.clamp(0, 1).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// grid_sample looks up, for each output point p (normalised coordinates, y down), the input at
    /// θ·[p; 1]. The image moves by p ↦ t + z·R(φ)·p, so θ is its inverse: (1/z)·R(−φ)·(p − t).
    /// </summary>
    private static double[] SamplingMatrix(Distortion d)
    {
        double phi = d.RotateDegrees * Math.PI / 180;
        double cos = Math.Cos(phi) / d.Zoom, sin = Math.Sin(phi) / d.Zoom;
        // Normalised coordinates span 2 per image side.
        double tx = 2 * d.ShiftX, ty = 2 * d.ShiftY;
        // R(−φ) = [[cos, sin], [−sin, cos]] with y pointing down, so positive φ turns clockwise on screen.
        return [cos, sin, -(cos * tx + sin * ty), -sin, cos, -(-sin * tx + cos * ty)];
    }
}
