using Salient.Attribution;

namespace Salient.Tests.Attribution;

public class QuadratureTests
{
    private static double Integrate((double[] Alphas, double[] Weights) rule, Func<double, double> f) =>
        rule.Alphas.Zip(rule.Weights).Sum(p => p.Second * f(p.First));

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(5)]
    [InlineData(12)]
    [InlineData(50)]
    public void GaussLegendreIsExactToDegreeTwoNMinusOne(int n)
    {
        var rule = Quadrature.Nodes(QuadratureRule.GaussLegendre, n);
        for (int degree = 0; degree <= 2 * n - 1; degree++)
            Assert.Equal(1.0 / (degree + 1), Integrate(rule, a => Math.Pow(a, degree)), 12);
        // One degree more is no longer exact, so the check above has teeth (for larger n the error
        // of degree 2n falls below double precision).
        if (n <= 5) Assert.True(Math.Abs(Integrate(rule, a => Math.Pow(a, 2 * n)) - 1.0 / (2 * n + 1)) > 1e-12);
        Assert.All(rule.Alphas, a => Assert.InRange(a, 0.0, 1.0));
        Assert.Equal(rule.Alphas.Order(), rule.Alphas);
    }

    [Theory]
    [InlineData(QuadratureRule.RiemannTrapezoid, 2)]
    [InlineData(QuadratureRule.RiemannTrapezoid, 7)]
    [InlineData(QuadratureRule.RiemannMiddle, 1)]
    [InlineData(QuadratureRule.RiemannMiddle, 9)]
    public void TrapezoidAndMidpointAreExactForLinearFunctions(QuadratureRule kind, int n)
    {
        var rule = Quadrature.Nodes(kind, n);
        Assert.Equal(2.0 * 0.5 + 3.0, Integrate(rule, a => 2 * a + 3), 12);
    }

    [Fact]
    public void RiemannRulesPlaceTheirNodesWhereTheirNamesSay()
    {
        Assert.Equal([0, 0.25, 0.5, 0.75], Quadrature.Nodes(QuadratureRule.RiemannLeft, 4).Alphas);
        Assert.Equal([0.25, 0.5, 0.75, 1], Quadrature.Nodes(QuadratureRule.RiemannRight, 4).Alphas);
        Assert.Equal([0.125, 0.375, 0.625, 0.875], Quadrature.Nodes(QuadratureRule.RiemannMiddle, 4).Alphas);
        var trapezoid = Quadrature.Nodes(QuadratureRule.RiemannTrapezoid, 5);
        Assert.Equal([0, 0.25, 0.5, 0.75, 1], trapezoid.Alphas);
        Assert.Equal([0.125, 0.25, 0.25, 0.25, 0.125], trapezoid.Weights);
        // Left and right Riemann sums of x are off by ∓1/(2n): the rules really differ.
        Assert.Equal(0.5 - 1.0 / 8, Integrate(Quadrature.Nodes(QuadratureRule.RiemannLeft, 4), a => a), 12);
    }

    [Fact]
    public void TooFewStepsIsAClearError()
    {
        var error = Assert.Throws<SalientException>(() => Quadrature.Nodes(QuadratureRule.RiemannTrapezoid, 1));
        Assert.Contains("at least 2 integration steps", error.Message);
        Assert.Throws<SalientException>(() => Quadrature.Nodes(QuadratureRule.GaussLegendre, 0));
    }
}
