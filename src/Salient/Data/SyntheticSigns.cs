// Seeded procedural generator of synthetic traffic signs: 43 classes in the spirit of GTSRB.
// Signs are built from signed-distance shapes and rendered with adaptive supersampling over random
// backgrounds, poses and lighting. Only IEEE basic arithmetic and square roots are used (the PRNG,
// sine, exponential and logarithm are written here), so a given (class, seed, options) yields
// bit-identical images on every machine and runtime.

namespace Salient.Data;

/// <summary>All knobs of the generator; every one is a setting with a sensible default for 32×32.</summary>
public sealed record SyntheticSignOptions
{
    /// <summary>Output images are Size×Size pixels.</summary>
    public int Size { get; init; } = 32;

    /// <summary>Use the first N classes of the catalogue (2..43).</summary>
    public int Classes { get; init; } = 43;

    /// <summary>Smallest sign diameter as a fraction of the image side.</summary>
    public float MinScale { get; init; } = 0.55f;

    /// <summary>Largest sign diameter as a fraction of the image side.</summary>
    public float MaxScale { get; init; } = 0.95f;

    /// <summary>In-plane rotation is uniform in ±this.</summary>
    public float MaxRotationDegrees { get; init; } = 12f;

    /// <summary>Horizontal foreshortening of a sign seen at an angle: width is scaled by 1−U(0, this).</summary>
    public float MaxSquash { get; init; } = 0.25f;

    /// <summary>How far (fraction of the image side) the sign may stick out of the image.</summary>
    public float MaxOverhang { get; init; } = 0.04f;

    /// <summary>Samples per pixel along each axis at edges (flat regions take one sample).</summary>
    public int Supersampling { get; init; } = 4;

    /// <summary>Gaussian blur sigma, in pixels, is uniform in [0, this].</summary>
    public float MaxBlurSigma { get; init; } = 0.8f;

    /// <summary>Per image, additive Gaussian noise has a standard deviation uniform in [NoiseStd/4, NoiseStd].</summary>
    public float NoiseStd { get; init; } = 0.04f;

    /// <summary>Chance that a blob or rectangle hides part of the sign.</summary>
    public float OcclusionProbability { get; init; } = 0.2f;

    /// <summary>Global brightness gain is uniform in [MinBrightness, MaxBrightness].</summary>
    public float MinBrightness { get; init; } = 0.45f;

    /// <summary>Global brightness gain is uniform in [MinBrightness, MaxBrightness].</summary>
    public float MaxBrightness { get; init; } = 1.35f;

    /// <summary>Contrast about mid-grey is uniform in [MinContrast, 1].</summary>
    public float MinContrast { get; init; } = 0.65f;

    /// <summary>Each channel is multiplied by 1±U(0, this), a colour cast.</summary>
    public float MaxColourCast { get; init; } = 0.15f;

    /// <summary>A linear illumination ramp darkens one side of the image by up to this fraction.</summary>
    public float MaxShading { get; init; } = 0.35f;

    /// <summary>Sign paint is desaturated by up to this fraction (old, sun-bleached signs).</summary>
    public float MaxFade { get; init; } = 0.35f;

    /// <summary>Background gets 0..this random ellipses and rectangles.</summary>
    public int MaxBackgroundBlobs { get; init; } = 6;

    /// <summary>Chance of a grey pole below the sign.</summary>
    public float PoleProbability { get; init; } = 0.35f;

    /// <summary>
    /// Milder nuisances (near-frontal, large, unoccluded, little blur and noise): a set a small
    /// network learns in a few epochs, for quick demonstrations.
    /// </summary>
    public static SyntheticSignOptions Easy => new()
    {
        MinScale = 0.8f, MaxScale = 0.95f, MaxRotationDegrees = 4f, MaxSquash = 0.08f, MaxOverhang = 0f, MaxBlurSigma = 0.3f,
        NoiseStd = 0.02f, OcclusionProbability = 0f, MinBrightness = 0.75f, MaxBrightness = 1.15f, MinContrast = 0.85f,
        MaxColourCast = 0.05f, MaxShading = 0.1f, MaxFade = 0.1f,
    };
}

/// <summary>
/// One rendered image. <paramref name="Pixels"/> is CHW (3×Size×Size floats in [0,1]);
/// <paramref name="Mask"/> is Size×Size, 1 where at least half of the pixel is covered by the sign's
/// silhouette and 0 elsewhere. The mask is taken before occlusion, so it also marks hidden sign parts.
/// </summary>
public sealed record SyntheticSign(int ClassId, float[] Pixels, float[] Mask);

/// <summary>Deterministic generator of synthetic traffic-sign images; thread-safe.</summary>
public static class SyntheticSigns
{
    /// <summary>The 43 class names, in catalogue order (which follows GTSRB's class ids).</summary>
    public static IReadOnlyList<string> ClassNames { get; } = Array.AsReadOnly(Catalogue.Designs.Select(d => d.Name).ToArray());

    /// <summary>Renders one sign of <paramref name="classId"/>; deterministic in (classId, seed, options).</summary>
    public static SyntheticSign Render(int classId, ulong seed, SyntheticSignOptions options)
    {
        Validate(options);
        if (classId < 0 || classId >= options.Classes)
            throw new ArgumentOutOfRangeException(nameof(classId), classId, $"Class ids run from 0 to {options.Classes - 1} with these options.");
        return SignRenderer.Render(classId, seed, options);
    }

    /// <summary>Image <paramref name="index"/> of <see cref="Generate"/>: random access for data loaders.</summary>
    public static SyntheticSign RenderAt(long index, ulong seed, SyntheticSignOptions options)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        Validate(options);
        return RenderIndexed(index, seed, options);
    }

    /// <summary>
    /// A class-balanced stream: image i has class i % Classes and its own seed hashed from (seed, i),
    /// so image i is the same whatever <paramref name="count"/> is.
    /// </summary>
    public static IEnumerable<SyntheticSign> Generate(int count, ulong seed, SyntheticSignOptions options)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        Validate(options);
        return Images(count, seed, options);

        static IEnumerable<SyntheticSign> Images(int count, ulong seed, SyntheticSignOptions options)
        {
            for (int i = 0; i < count; i++) yield return RenderIndexed(i, seed, options);
        }
    }

    private static SyntheticSign RenderIndexed(long index, ulong seed, SyntheticSignOptions options) =>
        SignRenderer.Render((int)(index % options.Classes), Rng.Hash(Rng.Hash(seed) + (ulong)index), options);

    private static void Validate(SyntheticSignOptions o)
    {
        ArgumentNullException.ThrowIfNull(o, "options");
        static void Check(bool ok, string what)
        {
            if (!ok) throw new ArgumentException(what, "options");
        }
        Check(o.Size >= 8, $"Size must be at least 8, not {o.Size}.");
        Check(o.Classes >= 2 && o.Classes <= Catalogue.Designs.Length, $"Classes must be 2..{Catalogue.Designs.Length}, not {o.Classes}.");
        Check(o.MinScale > 0 && o.MinScale <= o.MaxScale, $"Need 0 < MinScale <= MaxScale, not {o.MinScale}..{o.MaxScale}.");
        Check(o.MaxRotationDegrees >= 0 && o.MaxRotationDegrees <= 180, "MaxRotationDegrees must be 0..180.");
        Check(o.MaxSquash >= 0 && o.MaxSquash < 1, "MaxSquash must be in [0, 1).");
        Check(o.MaxOverhang >= 0, "MaxOverhang must not be negative.");
        Check(o.Supersampling >= 1 && o.Supersampling <= 16, "Supersampling must be 1..16.");
        Check(o.MaxBlurSigma >= 0 && o.NoiseStd >= 0, "MaxBlurSigma and NoiseStd must not be negative.");
        Check(o.OcclusionProbability is >= 0 and <= 1 && o.PoleProbability is >= 0 and <= 1, "Probabilities must be in [0, 1].");
        Check(o.MinBrightness >= 0 && o.MinBrightness <= o.MaxBrightness, "Need 0 <= MinBrightness <= MaxBrightness.");
        Check(o.MinContrast is >= 0 and <= 1, "MinContrast must be in [0, 1].");
        Check(o.MaxColourCast is >= 0 and < 1 && o.MaxShading is >= 0 and <= 1 && o.MaxFade is >= 0 and <= 1,
            "MaxColourCast must be in [0, 1); MaxShading and MaxFade in [0, 1].");
        Check(o.MaxBackgroundBlobs >= 0, "MaxBackgroundBlobs must not be negative.");
    }
}

/// <summary>SplitMix64: tiny and fully specified, unlike System.Random whose algorithm may change.</summary>
file struct Rng(ulong seed)
{
    private ulong state = seed;
    private double spareGaussian = double.NaN;

    public static ulong Hash(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    public ulong NextULong() => Hash(state += 0x9E3779B97F4A7C15UL);

    /// <summary>Uniform in [0, 1) with 24 bits, exactly representable as float.</summary>
    public float Float() => (NextULong() >> 40) * (1f / (1 << 24));

    public float Range(float lo, float hi) => lo + (hi - lo) * Float();

    public int Int(int n) => (int)(((NextULong() >> 32) * (ulong)n) >> 32);

    public bool Chance(float p) => Float() < p;

    /// <summary>Marsaglia's polar method (no sine or cosine); the second value is kept for the next call.</summary>
    public float Gaussian()
    {
        if (!double.IsNaN(spareGaussian))
        {
            double spare = spareGaussian;
            spareGaussian = double.NaN;
            return (float)spare;
        }
        double u, v, s;
        do
        {
            u = (NextULong() >> 11) * (2.0 / (1UL << 53)) - 1;
            v = (NextULong() >> 11) * (2.0 / (1UL << 53)) - 1;
            s = u * u + v * v;
        } while (s >= 1 || s == 0);
        double f = Math.Sqrt(-2 * DetMath.Log(s) / s);
        spareGaussian = v * f;
        return (float)(u * f);
    }
}

/// <summary>
/// Transcendentals from basic arithmetic only: Math.Sin/Exp/Log defer to the platform's C library,
/// whose last bits differ between systems, which would break bit-identical images.
/// </summary>
file static class DetMath
{
    public const double Tau = 2 * Math.PI;
    private const double Ln2 = 0.69314718055994530942;

    public static double Sin(double x)
    {
        // Fold into [-π/2, π/2], where the Taylor series to x^17 is accurate to ~1e-11.
        x -= Math.Round(x / Tau) * Tau;
        if (x > Math.PI / 2) x = Math.PI - x;
        else if (x < -Math.PI / 2) x = -Math.PI - x;
        double x2 = x * x, term = x, sum = x;
        for (int k = 1; k <= 8; k++)
        {
            term *= -x2 / ((2 * k) * (2 * k + 1));
            sum += term;
        }
        return sum;
    }

    public static double Cos(double x) => Sin(x + Math.PI / 2);

    public static double Exp(double x)
    {
        if (x < -700) return 0;
        double k = Math.Round(x / Ln2), r = x - k * Ln2, term = 1, sum = 1;
        for (int i = 1; i <= 13; i++)
        {
            term *= r / i;
            sum += term;
        }
        return Math.ScaleB(sum, (int)k);
    }

    /// <summary>Natural log of a positive normal number, via the atanh series on the mantissa.</summary>
    public static double Log(double x)
    {
        long bits = BitConverter.DoubleToInt64Bits(x);
        int exponent = (int)((bits >> 52) & 0x7FF) - 1023;
        double m = BitConverter.Int64BitsToDouble((bits & 0xFFFFFFFFFFFFFL) | (1023L << 52));
        if (m > 1.4142135623730951)
        {
            m /= 2;
            exponent++;
        }
        double s = (m - 1) / (m + 1), s2 = s * s, power = s, sum = 0;
        for (int k = 1; k <= 15; k += 2)
        {
            sum += power / k;
            power *= s2;
        }
        return exponent * Ln2 + 2 * sum;
    }
}

file readonly record struct V2(float X, float Y)
{
    public static V2 operator +(V2 a, V2 b) => new(a.X + b.X, a.Y + b.Y);
    public static V2 operator -(V2 a, V2 b) => new(a.X - b.X, a.Y - b.Y);
    public static V2 operator *(V2 a, float s) => new(a.X * s, a.Y * s);
    public static V2 operator /(V2 a, float s) => new(a.X / s, a.Y / s);
    public float Dot(V2 o) => X * o.X + Y * o.Y;
    public float Cross(V2 o) => X * o.Y - Y * o.X;
    public float LengthSquared => X * X + Y * Y;
    public float Length => MathF.Sqrt(X * X + Y * Y);

    public static V2 FromAngle(double radians) => new((float)DetMath.Cos(radians), (float)DetMath.Sin(radians));
}

file readonly record struct Rgb(float R, float G, float B)
{
    public static Rgb Grey(float v) => new(v, v, v);
    public Rgb Lerp(Rgb to, float t) => new(R + (to.R - R) * t, G + (to.G - G) * t, B + (to.B - B) * t);
    public float Luma => 0.299f * R + 0.587f * G + 0.114f * B;
}

// ---------------------------------------------------------------------------------------------
// Signed-distance shapes. Distance is negative inside. CSG and culling may underestimate |d| but
// never overestimate it: the renderer takes one sample where |d| exceeds the pixel's half-diagonal.
// ---------------------------------------------------------------------------------------------

file abstract class Shape
{
    public abstract float Distance(V2 p);
}

file sealed class Disc(V2 centre, float radius) : Shape
{
    public override float Distance(V2 p) => (p - centre).Length - radius;
}

/// <summary>Axis scaling of a disc; (|q|−1)·min radius bounds the true distance from below.</summary>
file sealed class Ellipse(V2 centre, V2 radii, float angle) : Shape
{
    private readonly V2 axis = V2.FromAngle(angle);

    public override float Distance(V2 p)
    {
        V2 d = p - centre;
        var q = new V2(d.Dot(axis) / radii.X, d.Cross(axis) / radii.Y);
        return (q.Length - 1) * MathF.Min(radii.X, radii.Y);
    }
}

file sealed class ConvexPolygon : Shape
{
    private readonly V2[] vertices;

    public ConvexPolygon(params V2[] vertices)
    {
        float twiceArea = 0;
        for (int i = 0, j = vertices.Length - 1; i < vertices.Length; j = i++) twiceArea += vertices[j].Cross(vertices[i]);
        this.vertices = twiceArea >= 0 ? vertices : vertices.Reverse().ToArray();
    }

    public static ConvexPolygon Regular(int sides, V2 centre, float radius, double firstVertexRadians) =>
        new(Enumerable.Range(0, sides).Select(i => centre + V2.FromAngle(firstVertexRadians + i * DetMath.Tau / sides) * radius).ToArray());

    public static ConvexPolygon Rectangle(V2 centre, V2 half, double angle)
    {
        V2 u = V2.FromAngle(angle), v = new(-u.Y, u.X);
        return new(centre - u * half.X - v * half.Y, centre + u * half.X - v * half.Y, centre + u * half.X + v * half.Y, centre - u * half.X + v * half.Y);
    }

    public override float Distance(V2 p)
    {
        float best = float.MaxValue;
        bool inside = true;
        for (int i = 0, j = vertices.Length - 1; i < vertices.Length; j = i++)
        {
            V2 e = vertices[i] - vertices[j], w = p - vertices[j];
            float t = Math.Clamp(w.Dot(e) / e.LengthSquared, 0f, 1f);
            best = MathF.Min(best, (w - e * t).LengthSquared);
            if (e.Cross(w) < 0) inside = false;
        }
        float d = MathF.Sqrt(best);
        return inside ? -d : d;
    }
}

/// <summary>Grows a shape by a radius, which rounds the corners of a polygon.</summary>
file sealed class Rounded(Shape shape, float radius) : Shape
{
    public override float Distance(V2 p) => shape.Distance(p) - radius;
}

/// <summary>A band of the given half-width along a shape's boundary (rings).</summary>
file sealed class Outline(Shape shape, float halfWidth) : Shape
{
    public override float Distance(V2 p) => MathF.Abs(shape.Distance(p)) - halfWidth;
}

/// <summary>Polylines drawn with round caps; a bounding circle skips far-away points cheaply.</summary>
file sealed class Stroke : Shape
{
    private const float CullMargin = 0.1f;
    private readonly V2[] starts, directions;
    private readonly float[] inverseLengthsSquared;
    private readonly float halfWidth, boundRadius;
    private readonly V2 boundCentre;

    public Stroke(float halfWidth, params V2[][] polylines)
    {
        var segments = polylines.SelectMany(line => line.Zip(line.Skip(1))).ToArray();
        starts = segments.Select(s => s.First).ToArray();
        directions = segments.Select(s => s.Second - s.First).ToArray();
        inverseLengthsSquared = directions.Select(d => d.LengthSquared > 0 ? 1 / d.LengthSquared : 0).ToArray();
        this.halfWidth = halfWidth;
        var points = polylines.SelectMany(l => l).ToArray();
        boundCentre = new V2((points.Min(q => q.X) + points.Max(q => q.X)) / 2, (points.Min(q => q.Y) + points.Max(q => q.Y)) / 2);
        boundRadius = points.Max(q => (q - boundCentre).Length) + halfWidth;
    }

    public override float Distance(V2 p)
    {
        float bound = (p - boundCentre).Length - boundRadius;
        if (bound > CullMargin) return bound;
        float best = float.MaxValue;
        for (int i = 0; i < starts.Length; i++)
        {
            V2 w = p - starts[i];
            float t = Math.Clamp(w.Dot(directions[i]) * inverseLengthsSquared[i], 0f, 1f);
            best = MathF.Min(best, (w - directions[i] * t).LengthSquared);
        }
        return MathF.Sqrt(best) - halfWidth;
    }
}

file sealed class Union(params Shape[] parts) : Shape
{
    public override float Distance(V2 p)
    {
        float d = float.MaxValue;
        foreach (var part in parts) d = MathF.Min(d, part.Distance(p));
        return d;
    }
}

file sealed class Intersection(Shape a, Shape b) : Shape
{
    public override float Distance(V2 p) => MathF.Max(a.Distance(p), b.Distance(p));
}

/// <summary>A shape moved, uniformly scaled and optionally mirrored left–right.</summary>
file sealed class Placed(Shape shape, V2 offset, float scale, bool mirror = false) : Shape
{
    public override float Distance(V2 p)
    {
        V2 q = (p - offset) / scale;
        return shape.Distance(mirror ? new V2(-q.X, q.Y) : q) * scale;
    }
}

/// <summary>A painted region; the first layer is the sign's silhouette and later ones, inside it, paint over it.</summary>
file sealed record Layer(Shape Shape, Rgb Colour);

file sealed record SignDesign(string Name, Layer[] Layers);

// ---------------------------------------------------------------------------------------------
// The catalogue. Sign space has y up and the sign inside the unit circle. Triangle glyphs are
// drawn in a [-1,1] box and placed into the triangle's white area.
// ---------------------------------------------------------------------------------------------

file static class Catalogue
{
    private static readonly Rgb Red = new(0.80f, 0.07f, 0.09f), White = new(0.95f, 0.95f, 0.93f),
        Blue = new(0.05f, 0.27f, 0.68f), Yellow = new(0.98f, 0.77f, 0.08f), Black = new(0.07f, 0.07f, 0.08f),
        Grey = Rgb.Grey(0.42f), Amber = new(0.96f, 0.62f, 0.05f), Green = new(0.10f, 0.65f, 0.25f);

    /// <summary>Sign paints, also used as background distractors so colour alone says little.</summary>
    public static readonly Rgb[] Palette = [Red, White, Blue, Yellow, Black];

    private static SignDesign[] Build()
    {
        var speed = (string digits) => RedRing($"speed limit {digits}", new Layer(Number(digits), Black));
        return
        [
            speed("20"), speed("30"), speed("50"), speed("60"), speed("70"), speed("80"),
            EndOf("end of speed limit 80", new Layer(Number("80"), Grey)),
            speed("100"), speed("120"),
            RedRing("no passing", new Layer(Car(-0.25f, 1f), Red), new Layer(Car(0.25f, 1f), Black)),
            RedRing("no passing for trucks", new Layer(Truck(-0.22f, 0.95f), Red), new Layer(Car(0.3f, 0.9f), Black)),
            Warning("right of way at next intersection", Lines(0.2f, L(0, -1, 0, 1)), Lines(0.14f, L(-0.7f, 0.2f, 0.7f, 0.2f))),
            new("priority road (diamond yellow)",
            [
                new(Diamond(1f), Black), new(Diamond(0.94f), White), new(Diamond(0.6f), Yellow),
            ]),
            new("yield (inverted triangle red)",
            [
                new(Triangle(TriangleRadius, 0.1f, pointingUp: false), Red), new(Triangle(0.68f, 0.04f, pointingUp: false), White),
            ]),
            new("stop (octagon red)",
            [
                new(Octagon(1f), White), new(Octagon(0.93f), Red),
                new(Text("STOP", new V2(0, 0), 0.32f, 0.44f, 0.09f, 0.05f), White),
            ]),
            RedRing("no vehicles"),
            RedRing("trucks prohibited", new Layer(Truck(0.02f, 1.6f), Black)),
            new("no entry (circle red filled)",
            [
                new(new Disc(default, 1f), White), new(new Disc(default, 0.95f), Red),
                new(Box(0, 0, 0.62f, 0.15f, 0.02f), White),
            ]),
            Warning("general caution", Lines(0.2f, L(0, -0.1f, 0, 1)), new Disc(new V2(0, -0.72f), 0.23f)),
            Warning("dangerous curve left", CurveLeft()),
            Warning("dangerous curve right", Mirror(CurveLeft())),
            Warning("double curve", Arrow(0.17f, 0.5f, 0.42f, L(0.35f, -1, 0.35f, -0.55f, -0.3f, -0.05f, -0.3f, 0.25f, 0.35f, 0.95f))),
            Warning("bumpy road", Lines(0.14f, L(-1.1f, -0.7f, 1.1f, -0.7f)),
                new Intersection(new Union(new Ellipse(new V2(-0.5f, -0.7f), new V2(0.38f, 0.65f), 0), new Ellipse(new V2(0.5f, -0.7f), new V2(0.38f, 0.65f), 0)),
                    Box(0, 0, 1.2f, 0.7f))),
            Warning("slippery road", Box(0, 0.5f, 0.5f, 0.2f, 0.1f), Box(0, 0.78f, 0.28f, 0.14f, 0.06f),
                Lines(0.12f, L(-0.45f, 0.25f, -0.25f, -0.15f, -0.55f, -0.5f, -0.35f, -0.95f), L(0.45f, 0.25f, 0.65f, -0.15f, 0.35f, -0.5f, 0.55f, -0.95f))),
            Warning("road narrows on the right", Lines(0.17f, L(-0.5f, -1, -0.5f, 1), L(0.5f, -1, 0.5f, -0.25f, 0.1f, 0.3f, 0.1f, 1))),
            Warning("road work", new Disc(new V2(-0.2f, 0.72f), 0.21f),
                Lines(0.16f, L(-0.2f, 0.45f, -0.4f, -0.3f, -0.7f, -1), L(-0.4f, -0.3f, -0.05f, -1), L(-0.25f, 0.2f, 0.45f, -0.35f)),
                new Intersection(new Disc(new V2(0.65f, -1.05f), 0.45f), Box(0, 0, 1.2f, 1.02f))),
            TrafficSignals(),
            Warning("pedestrians", Walker()),
            Warning("children crossing", new Placed(Walker(), new V2(-0.42f, 0.05f), 0.8f), new Placed(Walker(), new V2(0.45f, -0.3f), 0.62f)),
            Warning("bicycles crossing", new Outline(new Disc(new V2(-0.52f, -0.45f), 0.36f), 0.1f), new Outline(new Disc(new V2(0.52f, -0.45f), 0.36f), 0.1f),
                Lines(0.1f, L(-0.52f, -0.45f, -0.12f, 0.2f, 0.52f, -0.45f), L(-0.3f, 0.35f, -0.05f, 0.35f), L(-0.12f, 0.2f, 0.35f, 0.2f, 0.42f, 0.45f))),
            Warning("beware of ice or snow", Lines(0.14f, L(0, -0.95f, 0, 0.95f), L(-0.82f, -0.47f, 0.82f, 0.47f), L(-0.82f, 0.47f, 0.82f, -0.47f))),
            Warning("wild animals crossing", Lines(0.24f, L(-0.45f, -0.15f, 0.3f, 0.2f)),
                Lines(0.12f, L(0.3f, 0.2f, 0.6f, 0.6f), L(0.6f, 0.6f, 0.45f, 1), L(0.6f, 0.6f, 0.9f, 0.9f), L(0.25f, 0.15f, 0.75f, -0.15f),
                    L(-0.45f, -0.15f, -0.85f, -0.75f), L(-0.3f, -0.15f, -0.2f, -0.85f))),
            EndOf("end of all speed and passing limits"),
            BlueRound("turn right ahead", Mirror(TurnLeft())),
            BlueRound("turn left ahead", TurnLeft()),
            BlueRound("ahead only", Arrow(0.1f, 0.34f, 0.3f, L(0, -0.62f, 0, 0.62f))),
            BlueRound("go straight or right", Mirror(StraightOrLeft())),
            BlueRound("go straight or left", StraightOrLeft()),
            BlueRound("keep right", Arrow(0.1f, 0.34f, 0.3f, L(-0.38f, 0.38f, 0.4f, -0.4f))),
            BlueRound("keep left", Arrow(0.1f, 0.34f, 0.3f, L(0.38f, 0.38f, -0.4f, -0.4f))),
            BlueRound("roundabout mandatory", new Union(Enumerable.Range(0, 3)
                .Select(k => Arrow(0.08f, 0.26f, 0.2f, Arc(new V2(0, 0), 0.45f, 100 + 120 * k, 185 + 120 * k, 8))).ToArray())),
            EndOf("end of no passing", new Layer(Car(-0.32f, 1.1f), Grey), new Layer(Car(0.32f, 1.1f), Grey)),
            EndOf("end of no passing for trucks", new Layer(Truck(-0.26f, 1f), Grey), new Layer(Car(0.36f, 0.95f), Grey)),
        ];
    }

    // Sign frames ------------------------------------------------------------------------------

    private static SignDesign RedRing(string name, params Layer[] glyphs) =>
        new($"{name} (circle red)", [new(new Disc(default, 1f), Red), new(new Disc(default, 0.78f), White), .. glyphs]);

    private static SignDesign BlueRound(string name, Shape glyph) =>
        new($"{name} (circle blue)", [new(new Disc(default, 1f), White), new(new Disc(default, 0.93f), Blue), new(glyph, White)]);

    /// <summary>End-of-restriction: white disc, grey glyphs, a band of black diagonal lines.</summary>
    private static SignDesign EndOf(string name, params Layer[] glyphs)
    {
        var lines = new[] { -0.16f, -0.055f, 0.055f, 0.16f }.Select(o => L(-0.8f + o, -0.8f - o, 0.8f + o, 0.8f - o)).ToArray();
        var band = new Intersection(new Stroke(0.028f, lines), new Disc(default, 0.95f));
        return new($"{name} (circle white)", [new(new Disc(default, 1f), Grey), new(new Disc(default, 0.95f), White), .. glyphs, new(band, Black)]);
    }

    /// <summary>Red-rimmed triangle; glyph parts are in a [-1,1] box, placed low in the white area.</summary>
    private static SignDesign Warning(string name, params Shape[] glyph) => WarningLayers(name, new Layer(new Placed(new Union(glyph), GlyphCentre, GlyphScale), Black));

    private static readonly V2 GlyphCentre = new(0, -0.3f);
    private const float GlyphScale = 0.31f;

    private static SignDesign WarningLayers(string name, params Layer[] glyphs) =>
        new($"{name} (triangle red)", [new(Triangle(TriangleRadius, 0.1f, pointingUp: true), Red), new(Triangle(0.8f, 0.04f, pointingUp: true), White), .. glyphs]);

    private static SignDesign TrafficSignals()
    {
        Layer Light(float y, Rgb colour) => new(new Placed(new Disc(new V2(0, y), 0.24f), GlyphCentre, GlyphScale), colour);
        return WarningLayers("traffic signals",
            new Layer(new Placed(Box(0, 0, 0.4f, 1f, 0.12f), GlyphCentre, GlyphScale), Black),
            Light(0.6f, Red), Light(0, Amber), Light(-0.6f, Green));
    }

    // Frame shapes -----------------------------------------------------------------------------

    private const float TriangleRadius = 1.12f;

    /// <summary>
    /// Triangle with circumradius <paramref name="radius"/> (after rounding), concentric with the
    /// outer frame triangle, whose bounding box is centred on the origin.
    /// </summary>
    private static Shape Triangle(float radius, float rounding, bool pointingUp)
    {
        float r = radius - rounding, centreY = pointingUp ? -TriangleRadius / 4 : TriangleRadius / 4;
        return new Rounded(ConvexPolygon.Regular(3, new V2(0, centreY), r, pointingUp ? Math.PI / 2 : -Math.PI / 2), rounding);
    }

    private static Shape Octagon(float radius) => ConvexPolygon.Regular(8, default, radius, Math.PI / 8);

    private static Shape Diamond(float radius) => new Rounded(ConvexPolygon.Regular(4, default, radius - 0.04f, 0), 0.04f);

    // Glyph parts ------------------------------------------------------------------------------

    private static V2[] L(params float[] xy) => Enumerable.Range(0, xy.Length / 2).Select(i => new V2(xy[2 * i], xy[2 * i + 1])).ToArray();

    private static Shape Lines(float halfWidth, params V2[][] polylines) => new Stroke(halfWidth, polylines);

    private static Shape Box(float cx, float cy, float hx, float hy, float rounding = 0) =>
        new Rounded(ConvexPolygon.Rectangle(new V2(cx, cy), new V2(hx - rounding, hy - rounding), 0), rounding);

    private static Shape Mirror(Shape shape) => new Placed(shape, default, 1, mirror: true);

    private static V2[] Arc(V2 centre, float radius, float fromDegrees, float toDegrees, int segments) =>
        Enumerable.Range(0, segments + 1)
            .Select(i => centre + V2.FromAngle((fromDegrees + (toDegrees - fromDegrees) * i / segments) * Math.PI / 180) * radius).ToArray();

    /// <summary>A stroked path ending in a triangular head whose tip is the path's last point.</summary>
    private static Shape Arrow(float halfWidth, float headLength, float headHalfWidth, V2[] path)
    {
        V2 tip = path[^1], along = tip - path[^2];
        along /= along.Length;
        V2 across = new(-along.Y, along.X), baseCentre = tip - along * headLength;
        var shaft = path[..^1].Append(tip - along * (headLength * 0.5f)).ToArray();
        return new Union(new Stroke(halfWidth, shaft), new ConvexPolygon(tip, baseCentre + across * headHalfWidth, baseCentre - across * headHalfWidth));
    }

    private static Shape CurveLeft() => Arrow(0.17f, 0.5f, 0.42f, L(0.3f, -1, 0.3f, -0.15f, -0.4f, 0.75f));

    private static Shape TurnLeft() =>
        Arrow(0.1f, 0.32f, 0.3f, [new V2(0.22f, -0.62f), .. Arc(new V2(-0.08f, 0), 0.3f, 0, 90, 6), new V2(-0.64f, 0.3f)]);

    private static Shape StraightOrLeft() => new Union(
        Arrow(0.09f, 0.3f, 0.24f, L(0.14f, -0.62f, 0.14f, 0.64f)),
        Arrow(0.09f, 0.3f, 0.24f, [.. Arc(new V2(-0.16f, -0.3f), 0.3f, 0, 90, 6), new V2(-0.64f, 0f)]));

    private static Shape Walker() => new Union(new Disc(new V2(0.05f, 0.78f), 0.2f),
        Lines(0.15f, L(0, 0.5f, -0.05f, -0.2f), L(-0.4f, -1, -0.05f, -0.2f, 0.3f, -1), L(-0.4f, 0, 0, 0.35f, 0.35f, -0.05f)));

    /// <summary>Rear view of a car, about 0.4 wide at scale 1, centred at (x, 0).</summary>
    private static Shape Car(float x, float scale) => new Placed(new Union(
        Box(0, -0.02f, 0.2f, 0.1f, 0.04f), Box(0, 0.12f, 0.13f, 0.09f, 0.04f),
        Box(-0.14f, -0.12f, 0.045f, 0.06f, 0.02f), Box(0.14f, -0.12f, 0.045f, 0.06f, 0.02f)), new V2(x, 0), scale);

    /// <summary>Side view of a truck facing left, about 0.55 wide at scale 1, centred at (x, 0).</summary>
    private static Shape Truck(float x, float scale) => new Placed(new Union(
        Box(0.07f, 0.04f, 0.2f, 0.12f, 0.02f), Box(-0.2f, -0.01f, 0.07f, 0.09f, 0.03f),
        new Disc(new V2(-0.17f, -0.13f), 0.055f), new Disc(new V2(0.15f, -0.13f), 0.055f)), new V2(x, 0), scale);

    // A stroke font on a 4×6 grid (y up); '1' is narrower. Only the characters the catalogue needs.
    private static readonly Dictionary<char, (float Advance, V2[][] Strokes)> Font = new()
    {
        ['0'] = (4, [L(1, 0, 3, 0, 4, 1.2f, 4, 4.8f, 3, 6, 1, 6, 0, 4.8f, 0, 1.2f, 1, 0)]),
        ['1'] = (1.6f, [L(0, 4.6f, 1.6f, 6, 1.6f, 0)]),
        ['2'] = (4, [L(0, 4.8f, 1, 6, 3, 6, 4, 4.8f, 4, 3.8f, 0, 0, 4, 0)]),
        ['3'] = (4, [L(0, 4.8f, 1, 6, 3, 6, 4, 4.8f, 4, 4, 3, 3, 1.6f, 3), L(3, 3, 4, 2, 4, 1.2f, 3, 0, 1, 0, 0, 1.2f)]),
        ['5'] = (4, [L(4, 6, 0.4f, 6, 0.2f, 3.4f, 2.8f, 3.6f, 4, 2.5f, 4, 1.2f, 3, 0, 1, 0, 0, 1)]),
        ['6'] = (4, [L(3.6f, 6, 1.2f, 6, 0, 4.6f, 0, 1.2f, 1, 0, 3, 0, 4, 1.2f, 4, 2.4f, 3, 3.6f, 1, 3.6f, 0, 2.6f)]),
        ['7'] = (4, [L(0, 6, 4, 6, 1.4f, 0)]),
        ['8'] = (4, [L(1, 3, 0, 4, 0, 5.1f, 1, 6, 3, 6, 4, 5.1f, 4, 4, 3, 3, 1, 3, 0, 2, 0, 1, 1, 0, 3, 0, 4, 1, 4, 2, 3, 3)]),
        ['S'] = (4, [L(4, 5, 3, 6, 1, 6, 0, 5, 0, 4, 1, 3, 3, 3, 4, 2, 4, 1, 3, 0, 1, 0, 0, 1)]),
        ['T'] = (4, [L(0, 6, 4, 6), L(2, 6, 2, 0)]),
        ['O'] = (4, [L(1, 0, 3, 0, 4, 1.2f, 4, 4.8f, 3, 6, 1, 6, 0, 4.8f, 0, 1.2f, 1, 0)]),
        ['P'] = (4, [L(0, 0, 0, 6, 3, 6, 4, 5, 4, 4, 3, 3, 0, 3)]),
    };

    /// <summary>Speed-limit digits, big and bold; three digits are set narrower to fit the ring.</summary>
    private static Shape Number(string digits) => digits.Length <= 2
        ? Text(digits, default, 0.44f, 0.74f, 0.12f, 0.068f)
        : Text(digits, default, 0.34f, 0.64f, 0.09f, 0.06f);

    private static Shape Text(string text, V2 centre, float charWidth, float charHeight, float gap, float halfWidth)
    {
        float ux = charWidth / 4, uy = charHeight / 6;
        float width = text.Sum(c => Font[c].Advance * ux) + gap * (text.Length - 1), x = centre.X - width / 2;
        var polylines = new List<V2[]>();
        foreach (char c in text)
        {
            var (advance, strokes) = Font[c];
            float left = x;
            polylines.AddRange(strokes.Select(s => s.Select(q => new V2(left + q.X * ux, centre.Y + (q.Y - 3) * uy)).ToArray()));
            x += advance * ux + gap;
        }
        return new Stroke(halfWidth, polylines.ToArray());
    }

    // Last, because static initialisers run in textual order and Build needs the fields above.
    public static readonly SignDesign[] Designs = Build();
}

// ---------------------------------------------------------------------------------------------
// Rendering: background → pole → sign → occlusion → lighting → blur → noise → clamp.
// ---------------------------------------------------------------------------------------------

file sealed class Canvas(int size)
{
    public readonly int Size = size;
    public readonly float[] Pixels = new float[3 * size * size];

    public Rgb this[int x, int y]
    {
        get
        {
            int i = y * Size + x, plane = Size * Size;
            return new(Pixels[i], Pixels[i + plane], Pixels[i + 2 * plane]);
        }
        set
        {
            int i = y * Size + x, plane = Size * Size;
            Pixels[i] = value.R;
            Pixels[i + plane] = value.G;
            Pixels[i + 2 * plane] = value.B;
        }
    }

    /// <summary>Paints a shape given in pixel units, lying within <paramref name="reach"/> of <paramref name="centre"/>, with a one-pixel soft edge.</summary>
    public void Paint(Shape shape, V2 centre, float reach, Rgb colour, float opacity = 1)
    {
        int x0 = Math.Max(0, (int)(centre.X - reach) - 1), x1 = Math.Min(Size - 1, (int)(centre.X + reach) + 1);
        int y0 = Math.Max(0, (int)(centre.Y - reach) - 1), y1 = Math.Min(Size - 1, (int)(centre.Y + reach) + 1);
        for (int y = y0; y <= y1; y++)
            for (int x = x0; x <= x1; x++)
            {
                float coverage = Math.Clamp(0.5f - shape.Distance(new V2(x + 0.5f, y + 0.5f)), 0f, 1f) * opacity;
                if (coverage > 0) this[x, y] = this[x, y].Lerp(colour, coverage);
            }
    }
}

file static class SignRenderer
{
    public static SyntheticSign Render(int classId, ulong seed, SyntheticSignOptions o)
    {
        var rng = new Rng(Rng.Hash(seed ^ Rng.Hash((ulong)classId + 1)));
        var canvas = new Canvas(o.Size);
        PaintBackground(canvas, ref rng, o);
        var pose = Pose.Random(ref rng, o);
        if (rng.Chance(o.PoleProbability)) PaintPole(canvas, pose, ref rng);
        var mask = PaintSign(canvas, Catalogue.Designs[classId], pose, ref rng, o);
        if (rng.Chance(o.OcclusionProbability)) PaintOccluder(canvas, pose, ref rng);
        ApplyLighting(canvas, ref rng, o);
        Blur(canvas, rng.Range(0, o.MaxBlurSigma));
        AddNoiseAndClamp(canvas, ref rng, o);
        return new SyntheticSign(classId, canvas.Pixels, mask);
    }

    /// <summary>Where the sign sits: maps pixel coordinates (y down) to sign space (y up, unit radius).</summary>
    private readonly record struct Pose(V2 Centre, float RadiusPixels, float Squash, double Angle, V2 StepX, V2 StepY)
    {
        public static Pose Random(ref Rng rng, SyntheticSignOptions o)
        {
            int n = o.Size;
            float diameter = rng.Range(o.MinScale, o.MaxScale) * n;
            float squash = 1 - rng.Range(0, o.MaxSquash);
            double angle = rng.Range(-o.MaxRotationDegrees, o.MaxRotationDegrees) * Math.PI / 180;
            float slack = MathF.Max(0, (n - diameter) / 2 + o.MaxOverhang * n);
            var centre = new V2(n / 2f + rng.Range(-slack, slack), n / 2f + rng.Range(-slack, slack));
            // Inverse of: rotate by angle, squash x, scale to pixels, flip y.
            V2 axis = V2.FromAngle(angle);
            float r = diameter / 2;
            V2 stepX = new V2(axis.X, -axis.Y) / (squash * r);
            V2 stepY = new V2(-axis.Y, -axis.X) / r;
            return new Pose(centre, r, squash, angle, stepX, stepY);
        }

        public V2 ToSign(float px, float py) => StepX * (px - Centre.X) + StepY * (py - Centre.Y);

        /// <summary>Upper bound of half a pixel's diagonal measured in sign units.</summary>
        public float HalfPixel => 0.7072f / (RadiusPixels * Squash);

        /// <summary>Sign-space point back to pixels, for placing things relative to the sign.</summary>
        public V2 ToPixels(V2 s)
        {
            V2 axis = V2.FromAngle(Angle);
            V2 rotated = new(axis.X * s.X - axis.Y * s.Y, axis.Y * s.X + axis.X * s.Y);
            return new V2(Centre.X + rotated.X * Squash * RadiusPixels, Centre.Y - rotated.Y * RadiusPixels);
        }
    }

    private static Rgb NaturalColour(ref Rng rng)
    {
        float level = rng.Range(0.08f, 0.85f), tint = rng.Range(0, 0.25f);
        return new(Math.Clamp(level + tint * rng.Range(-1, 1), 0, 1), Math.Clamp(level + tint * rng.Range(-1, 1), 0, 1), Math.Clamp(level + tint * rng.Range(-1, 1), 0, 1));
    }

    private static Rgb Jitter(Rgb c, float amount, ref Rng rng) =>
        new(Math.Clamp(c.R + rng.Range(-amount, amount), 0, 1), Math.Clamp(c.G + rng.Range(-amount, amount), 0, 1), Math.Clamp(c.B + rng.Range(-amount, amount), 0, 1));

    private static void PaintBackground(Canvas canvas, ref Rng rng, SyntheticSignOptions o)
    {
        int n = canvas.Size;
        if (rng.Chance(0.4f))
        {
            // Street scene: sky above a tilted horizon, road, grass or buildings below.
            Rgb skyTop = Jitter(rng.Int(3) switch { 0 => new(0.35f, 0.55f, 0.85f), 1 => new(0.75f, 0.77f, 0.8f), _ => new(0.85f, 0.62f, 0.45f) }, 0.08f, ref rng);
            Rgb skyLow = skyTop.Lerp(Rgb.Grey(0.95f), rng.Range(0.2f, 0.7f));
            Rgb ground = Jitter(rng.Int(3) switch { 0 => Rgb.Grey(0.3f), 1 => new(0.25f, 0.4f, 0.15f), _ => new(0.55f, 0.45f, 0.38f) }, 0.08f, ref rng);
            Rgb groundFar = ground.Lerp(skyLow, rng.Range(0, 0.4f));
            float horizon = rng.Range(0.15f, 0.85f) * n, tilt = rng.Range(-0.3f, 0.3f);
            for (int y = 0; y < n; y++)
                for (int x = 0; x < n; x++)
                {
                    float h = horizon + tilt * (x - n / 2f), above = Math.Clamp(h - y, 0f, 1f);
                    Rgb sky = skyTop.Lerp(skyLow, Math.Clamp(y / MathF.Max(h, 1), 0, 1));
                    Rgb land = groundFar.Lerp(ground, Math.Clamp((y - h) / MathF.Max(n - h, 1), 0, 1));
                    canvas[x, y] = land.Lerp(sky, above);
                }
        }
        else
        {
            Rgb a = NaturalColour(ref rng), b = NaturalColour(ref rng);
            V2 direction = V2.FromAngle(rng.Range(0, (float)DetMath.Tau)) * (rng.Range(0.5f, 2f) / n);
            for (int y = 0; y < n; y++)
                for (int x = 0; x < n; x++)
                    canvas[x, y] = a.Lerp(b, Math.Clamp(0.5f + direction.Dot(new V2(x - n / 2f, y - n / 2f)), 0, 1));
        }
        int blobs = rng.Int(o.MaxBackgroundBlobs + 1);
        for (int i = 0; i < blobs; i++)
        {
            Rgb colour = rng.Chance(0.25f) ? Catalogue.Palette[rng.Int(Catalogue.Palette.Length)] : NaturalColour(ref rng);
            var centre = new V2(rng.Range(0, n), rng.Range(0, n));
            float size = rng.Range(0.05f, 0.4f) * n;
            canvas.Paint(RandomBlob(ref rng, centre, size), centre, size * 1.5f, colour, rng.Range(0.5f, 1));
        }
    }

    /// <summary>An ellipse or rotated rectangle around <paramref name="centre"/>, within 1.5·size of it.</summary>
    private static Shape RandomBlob(ref Rng rng, V2 centre, float size)
    {
        var half = new V2(size * rng.Range(0.4f, 1), size * rng.Range(0.4f, 1));
        float angle = rng.Range(0, (float)Math.PI);
        return rng.Chance(0.5f) ? new Ellipse(centre, half, angle) : ConvexPolygon.Rectangle(centre, half, angle);
    }

    private static void PaintPole(Canvas canvas, Pose pose, ref Rng rng)
    {
        // Runs from the sign's centre straight down (in sign space) past the image edge.
        V2 top = pose.ToPixels(default), bottom = pose.ToPixels(new V2(0, -4));
        float halfWidth = pose.RadiusPixels * rng.Range(0.06f, 0.12f);
        canvas.Paint(new Stroke(halfWidth, [top, bottom]), new V2(canvas.Size / 2f, canvas.Size / 2f), canvas.Size, Rgb.Grey(rng.Range(0.35f, 0.75f)));
    }

    /// <summary>Composites the sign with adaptive supersampling; returns the silhouette mask.</summary>
    private static float[] PaintSign(Canvas canvas, SignDesign design, Pose pose, ref Rng rng, SyntheticSignOptions o)
    {
        int n = canvas.Size, s = o.Supersampling;
        var layers = design.Layers;
        float fade = rng.Range(0, o.MaxFade), grime = rng.Range(0.85f, 1.05f);
        var colours = layers.Select(l => l.Colour.Lerp(Rgb.Grey(l.Colour.Luma), fade)).Select(c => new Rgb(c.R * grime, c.G * grime, c.B * grime)).ToArray();
        var mask = new float[n * n];
        float halfPixel = pose.HalfPixel;
        // Layers whose boundary crosses the current pixel, topmost first; below them, the topmost layer covering all of it.
        var crossing = new int[layers.Length];
        for (int y = 0; y < n; y++)
            for (int x = 0; x < n; x++)
            {
                V2 centre = pose.ToSign(x + 0.5f, y + 0.5f);
                float silhouette = layers[0].Shape.Distance(centre);
                if (silhouette > halfPixel) continue;
                int crossings = 0, full = -1;
                for (int l = layers.Length - 1; l > 0 && full < 0; l--)
                {
                    float d = layers[l].Shape.Distance(centre);
                    if (d < -halfPixel) full = l;
                    else if (d <= halfPixel) crossing[crossings++] = l;
                }
                if (full < 0)
                {
                    if (silhouette < -halfPixel) full = 0;
                    else crossing[crossings++] = 0;
                }
                if (crossings == 0)
                {
                    canvas[x, y] = colours[full];
                    mask[y * n + x] = 1;
                    continue;
                }
                float r = 0, g = 0, b = 0;
                int covered = 0;
                for (int sy = 0; sy < s; sy++)
                    for (int sx = 0; sx < s; sx++)
                    {
                        V2 p = pose.ToSign(x + (sx + 0.5f) / s, y + (sy + 0.5f) / s);
                        int top = full;
                        for (int k = 0; k < crossings; k++)
                            if (layers[crossing[k]].Shape.Distance(p) < 0)
                            {
                                top = crossing[k];
                                break;
                            }
                        if (top < 0) continue;
                        r += colours[top].R;
                        g += colours[top].G;
                        b += colours[top].B;
                        covered++;
                    }
                float coverage = covered / (float)(s * s), weight = 1f / (s * s);
                Rgb background = canvas[x, y];
                canvas[x, y] = new(r * weight + background.R * (1 - coverage), g * weight + background.G * (1 - coverage), b * weight + background.B * (1 - coverage));
                if (coverage >= 0.5f) mask[y * n + x] = 1;
            }
        return mask;
    }

    private static void PaintOccluder(Canvas canvas, Pose pose, ref Rng rng)
    {
        // Centred near the rim so the occluder hides part of the sign but rarely the whole glyph.
        V2 centre = pose.ToPixels(V2.FromAngle(rng.Range(0, (float)DetMath.Tau)) * rng.Range(0.6f, 1.05f));
        float size = pose.RadiusPixels * rng.Range(0.3f, 0.5f);
        canvas.Paint(RandomBlob(ref rng, centre, size), centre, size * 1.5f, NaturalColour(ref rng));
    }

    private static void ApplyLighting(Canvas canvas, ref Rng rng, SyntheticSignOptions o)
    {
        int n = canvas.Size, plane = n * n;
        float gain = rng.Range(o.MinBrightness, o.MaxBrightness), contrast = rng.Range(o.MinContrast, 1);
        Span<float> cast = [1 + rng.Range(-o.MaxColourCast, o.MaxColourCast), 1 + rng.Range(-o.MaxColourCast, o.MaxColourCast), 1 + rng.Range(-o.MaxColourCast, o.MaxColourCast)];
        float shading = rng.Range(0, o.MaxShading);
        V2 direction = V2.FromAngle(rng.Range(0, (float)DetMath.Tau)) / n;
        var px = canvas.Pixels;
        for (int y = 0; y < n; y++)
            for (int x = 0; x < n; x++)
            {
                float ramp = Math.Clamp(0.5f + direction.Dot(new V2(x - n / 2f, y - n / 2f)), 0, 1);
                float light = gain * (1 - shading * ramp);
                for (int c = 0; c < 3; c++)
                {
                    int i = c * plane + y * n + x;
                    px[i] = ((px[i] - 0.5f) * contrast + 0.5f) * light * cast[c];
                }
            }
    }

    private static void Blur(Canvas canvas, float sigma)
    {
        if (sigma < 0.25f) return;
        int n = canvas.Size, radius = (int)MathF.Ceiling(3 * sigma);
        var kernel = Enumerable.Range(-radius, 2 * radius + 1).Select(i => (float)DetMath.Exp(-i * i / (2.0 * sigma * sigma))).ToArray();
        float total = 0;
        foreach (float w in kernel) total += w;
        for (int i = 0; i < kernel.Length; i++) kernel[i] /= total;
        // Separable; each row or column is copied into a buffer padded by edge replication.
        var padded = new float[n + 2 * radius];
        for (int c = 0; c < 3; c++)
        {
            var plane = canvas.Pixels.AsSpan(c * n * n, n * n);
            for (int pass = 0; pass < 2; pass++)
            {
                int step = pass == 0 ? 1 : n, lineStep = pass == 0 ? n : 1;
                for (int line = 0; line < n; line++)
                {
                    int first = line * lineStep;
                    for (int i = 0; i < padded.Length; i++) padded[i] = plane[first + Math.Clamp(i - radius, 0, n - 1) * step];
                    for (int i = 0; i < n; i++)
                    {
                        float sum = 0;
                        for (int k = 0; k < kernel.Length; k++) sum += kernel[k] * padded[i + k];
                        plane[first + i * step] = sum;
                    }
                }
            }
        }
    }

    private static void AddNoiseAndClamp(Canvas canvas, ref Rng rng, SyntheticSignOptions o)
    {
        float std = rng.Range(0.25f, 1) * o.NoiseStd;
        var px = canvas.Pixels;
        for (int i = 0; i < px.Length; i++) px[i] = Math.Clamp(px[i] + std * rng.Gaussian(), 0, 1);
    }
}
