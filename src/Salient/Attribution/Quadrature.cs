namespace Salient.Attribution;

/// <summary>How Integrated Gradients samples the path integral over α ∈ [0,1].</summary>
public enum QuadratureRule
{
    /// <summary>Gauss–Legendre: n nodes integrate polynomials of degree 2n−1 exactly.</summary>
    GaussLegendre,
    RiemannLeft,
    RiemannRight,
    RiemannMiddle,
    /// <summary>n equally spaced nodes including both ends (0 and 1).</summary>
    RiemannTrapezoid,
}

/// <summary>Nodes and weights of a quadrature rule on [0,1]; Σ weights = 1.</summary>
public static class Quadrature
{
    public static (double[] Alphas, double[] Weights) Nodes(QuadratureRule rule, int count)
    {
        int minimum = rule == QuadratureRule.RiemannTrapezoid ? 2 : 1;
        if (count < minimum)
            throw new SalientException($"Integrated Gradients needs at least {minimum} integration steps for the {rule} rule, got {count}; raise the step count.");
        var alphas = new double[count];
        var weights = new double[count];
        switch (rule)
        {
            case QuadratureRule.GaussLegendre:
                return GaussLegendre(count);
            case QuadratureRule.RiemannLeft:
            case QuadratureRule.RiemannRight:
            case QuadratureRule.RiemannMiddle:
                double offset = rule switch { QuadratureRule.RiemannLeft => 0, QuadratureRule.RiemannRight => 1, _ => 0.5 };
                for (int i = 0; i < count; i++) (alphas[i], weights[i]) = ((i + offset) / count, 1.0 / count);
                return (alphas, weights);
            case QuadratureRule.RiemannTrapezoid:
                for (int i = 0; i < count; i++)
                {
                    alphas[i] = (double)i / (count - 1);
                    weights[i] = (i == 0 || i == count - 1 ? 0.5 : 1.0) / (count - 1);
                }
                return (alphas, weights);
            default:
                throw new ArgumentOutOfRangeException(nameof(rule), rule, null);
        }
    }

    /// <summary>
    /// Roots of the Legendre polynomial P_n by Newton's method from Chebyshev-like starting points,
    /// with weights 2/((1−x²)·P_n'(x)²), then mapped from [−1,1] to [0,1].
    /// </summary>
    private static (double[] Alphas, double[] Weights) GaussLegendre(int n)
    {
        var alphas = new double[n];
        var weights = new double[n];
        for (int i = 0; i < n; i++)
        {
            double x = Math.Cos(Math.PI * (i + 0.75) / (n + 0.5));
            double derivative = 0;
            for (int iteration = 0; iteration < 100; iteration++)
            {
                (double p, derivative) = Legendre(n, x);
                double step = p / derivative;
                x -= step;
                if (Math.Abs(step) < 1e-15) break;
            }
            (_, derivative) = Legendre(n, x);
            // Node i from the top of [−1,1] lands at the bottom of [0,1] after the flip, giving ascending α.
            alphas[i] = (1 - x) / 2;
            weights[i] = 1.0 / ((1 - x * x) * derivative * derivative);
        }
        return (alphas, weights);
    }

    /// <summary>P_n(x) and P_n'(x) by the three-term recurrence.</summary>
    private static (double Value, double Derivative) Legendre(int n, double x)
    {
        double previous = 1, current = x;
        if (n == 0) return (1, 0);
        for (int k = 2; k <= n; k++)
            (previous, current) = (current, ((2 * k - 1) * x * current - (k - 1) * previous) / k);
        double derivative = n * (x * current - previous) / (x * x - 1);
        return (current, derivative);
    }
}
