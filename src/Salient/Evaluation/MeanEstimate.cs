namespace Salient.Evaluation;

/// <summary>
/// The mean of per-image scores with a two-sided Student-t confidence interval of the mean. With fewer
/// than two values the interval is undefined and its bounds are NaN (with none, the mean is NaN too).
/// </summary>
public sealed record MeanEstimate(double Mean, double Lower, double Upper, int Count, double Level)
{
    public double HalfWidth => (Upper - Lower) / 2;

    public static MeanEstimate Of(IReadOnlyList<double> values, double level = 0.95)
    {
        if (!(level > 0 && level < 1))
            throw new SalientException($"Confidence level {level} is out of range; use a value in (0, 1), e.g. 0.95.");
        int n = values.Count;
        if (n == 0) return new MeanEstimate(double.NaN, double.NaN, double.NaN, 0, level);
        double mean = values.Average();
        if (n == 1) return new MeanEstimate(mean, double.NaN, double.NaN, 1, level);
        double sumSquares = values.Sum(v => (v - mean) * (v - mean));
        double standardError = Math.Sqrt(sumSquares / (n - 1) / n);
        double half = StudentT.Quantile(0.5 + level / 2, n - 1) * standardError;
        return new MeanEstimate(mean, mean - half, mean + half, n, level);
    }
}

/// <summary>Student's t distribution with integer degrees of freedom, enough for confidence intervals.</summary>
public static class StudentT
{
    /// <summary>The t value below which a fraction <paramref name="probability"/> (in (0.5, 1)) of the distribution lies.</summary>
    public static double Quantile(double probability, int degreesOfFreedom)
    {
        if (!(probability > 0.5 && probability < 1)) throw new ArgumentOutOfRangeException(nameof(probability));
        if (degreesOfFreedom < 1) throw new ArgumentOutOfRangeException(nameof(degreesOfFreedom));
        // P(T > t) = I_x(ν/2, 1/2) / 2 with x = ν/(ν + t²); I_x grows with x, so bisect on x.
        double a = degreesOfFreedom / 2.0, target = 2 * (1 - probability);
        double logBeta = LogGammaOfHalfInteger(degreesOfFreedom) + LogGammaOfHalfInteger(1) - LogGammaOfHalfInteger(degreesOfFreedom + 1);
        double lo = 0, hi = 1;
        for (int i = 0; i < 200 && hi - lo > 1e-300; i++)
        {
            double mid = (lo + hi) / 2;
            if (RegularizedIncompleteBeta(mid, a, 0.5, logBeta) < target) lo = mid; else hi = mid;
        }
        double x = (lo + hi) / 2;
        return Math.Sqrt(degreesOfFreedom * (1 - x) / x);
    }

    // ln Γ(k/2), exact by the recurrence Γ(z+1) = zΓ(z) from Γ(1/2) = √π and Γ(1) = 1.
    private static double LogGammaOfHalfInteger(int twiceArgument)
    {
        double z = twiceArgument % 2 == 0 ? 1 : 0.5;
        double sum = twiceArgument % 2 == 0 ? 0 : 0.5 * Math.Log(Math.PI);
        for (; z < twiceArgument / 2.0; z++) sum += Math.Log(z);
        return sum;
    }

    private static double RegularizedIncompleteBeta(double x, double a, double b, double logBeta)
    {
        if (x <= 0) return 0;
        if (x >= 1) return 1;
        double front = Math.Exp(a * Math.Log(x) + b * Math.Log(1 - x) - logBeta);
        // The continued fraction converges fast only below the mean (a+1)/(a+b+2); use I_x(a,b) = 1 − I_{1−x}(b,a) above it.
        return x < (a + 1) / (a + b + 2)
            ? front * BetaContinuedFraction(x, a, b) / a
            : 1 - front * BetaContinuedFraction(1 - x, b, a) / b;
    }

    // Modified Lentz evaluation of the incomplete-beta continued fraction 1/(1+ d1/(1+ d2/(1+ …))).
    private static double BetaContinuedFraction(double x, double a, double b)
    {
        const double tiny = 1e-300;
        double c = 1, d = 1 - (a + b) * x / (a + 1);
        if (Math.Abs(d) < tiny) d = tiny;
        d = 1 / d;
        double result = d;
        for (int m = 1; m <= 10_000; m++)
        {
            double even = m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m));
            d = 1 + even * d; if (Math.Abs(d) < tiny) d = tiny; d = 1 / d;
            c = 1 + even / c; if (Math.Abs(c) < tiny) c = tiny;
            result *= d * c;
            double odd = -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1));
            d = 1 + odd * d; if (Math.Abs(d) < tiny) d = tiny; d = 1 / d;
            c = 1 + odd / c; if (Math.Abs(c) < tiny) c = tiny;
            double step = d * c;
            result *= step;
            if (Math.Abs(step - 1) < 1e-15) break;
        }
        return result;
    }
}
