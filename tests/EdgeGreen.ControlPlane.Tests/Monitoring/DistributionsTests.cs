using EdgeGreen.ControlPlane.Core.Monitoring;

namespace EdgeGreen.ControlPlane.Tests.Monitoring;

/// <summary>Expected values from scipy 1.10 (<c>kstwo.sf</c>, <c>special.gammaincc</c>, <c>special.gammaln</c>).</summary>
public sealed class DistributionsTests
{
    [Theory]
    [InlineData(5000, 0.02, 0.03613941395325637)] // Pelz–Good
    [InlineData(5000, 0.03, 0.00024159234422666817)] // 2 × Smirnov
    [InlineData(1000, 0.04, 0.07933956059000224)]
    [InlineData(200000, 0.003, 0.0545369786611305)]
    [InlineData(2000000, 0.001, 0.03660662431970485)]
    [InlineData(100, 0.1, 0.2526927570063874)] // small n: Durbin's matrix
    [InlineData(100, 0.2, 0.0005551927327988775)]
    [InlineData(50, 0.15, 0.19026366518248072)]
    [InlineData(50, 0.3, 0.00017353260202718738)]
    [InlineData(30, 0.3, 0.006852243362913235)]
    [InlineData(10000, 0.005, 0.9628778025204304)] // n·x^1.5 ≤ 1.4: Durbin's matrix at large n
    [InlineData(50, 0.01, 1.0)]
    [InlineData(1000, 0.6, 0.0)]
    public void KolmogorovSurvival_AcrossMethods_MatchesScipyKstwo(int n, double x, double expected)
    {
        var actual = Distributions.KolmogorovSurvival(n, x);

        Assert.True(Math.Abs(actual - expected) <= 1e-9 + (1e-7 * expected), $"kstwo.sf({x}, {n}) = {expected}, got {actual}");
    }

    [Theory]
    [InlineData(2.5, 3.7, 0.1925504330793957)]
    [InlineData(10, 2, 0.9999535019249828)]
    [InlineData(0.5, 20, 2.5396285894708634e-10)]
    public void RegularizedGammaQ_SeriesAndContinuedFraction_MatchScipyGammaincc(double a, double x, double expected)
    {
        Assert.Equal(1, Distributions.RegularizedGammaQ(a, x) / expected, 12);
    }

    [Theory]
    [InlineData(0.3, 1.0957979948180756)]
    [InlineData(123.4, 469.3360974421906)]
    public void LogGamma_SmallAndLargeArguments_MatchScipyGammaln(double x, double expected)
    {
        Assert.Equal(expected, Distributions.LogGamma(x), 11);
    }

    [Theory]
    [InlineData(0.975, 1.959963984540054)]
    [InlineData(0.025, -1.959963984540054)]
    [InlineData(0.5, 0)]
    [InlineData(0.999, 3.090232306167813)]
    [InlineData(0.01, -2.326347874040841)]
    [InlineData(1e-10, -6.361340902404056)]
    public void NormalQuantile_MatchesScipysNormPpf(double p, double expected) =>
        Assert.Equal(expected, Distributions.NormalQuantile(p), 5e-8);

    [Fact]
    public void ChiSquareSurvival_TwoDegreesOfFreedom_IsTheExponentialTail()
    {
        // With two degrees of freedom the chi-square survival function is exactly e^(−x/2).
        Assert.Equal(Math.Exp(-3.1), Distributions.ChiSquareSurvival(6.2, 2), 14);
    }
}
