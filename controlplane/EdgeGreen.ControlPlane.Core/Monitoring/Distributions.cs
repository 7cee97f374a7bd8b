namespace EdgeGreen.ControlPlane.Core.Monitoring;

/// <summary>
/// The few distribution functions the drift tests need, written out instead of taken from a numerics
/// package: the chi-square survival function through the regularised upper incomplete gamma function
/// (Numerical Recipes' series and Lentz continued fraction), and the survival function of the
/// two-sided one-sample Kolmogorov–Smirnov statistic Dₙ that scipy's <c>kstwo.sf</c> computes
/// (Simard and L'Ecuyer's choice of method by n and n·x², as scipy's <c>_kolmogn</c> makes it).
/// </summary>
internal static class Distributions
{
    private const double Epsilon = 1e-15;
    private const int MaxIterations = 10_000;

    // Lanczos approximation, g = 7, nine coefficients: about 15 significant digits for x > 0.
    private static readonly double[] Lanczos =
    [
        0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
        12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
    ];

    /// <summary>
    /// The standard normal quantile Φ⁻¹(p), by Acklam's rational approximation (relative error below
    /// 1.2 × 10⁻⁹ over (0, 1)), for the arms' own intervals.
    /// </summary>
    public static double NormalQuantile(double p)
    {
        if (!(p > 0 && p < 1))
        {
            throw new ArgumentOutOfRangeException(nameof(p), p, "p must lie strictly between 0 and 1.");
        }

        double[] a = [-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02, 1.383577518672690e+02, -3.066479806614716e+01, 2.506628277459239e+00];
        double[] b = [-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02, 6.680131188771972e+01, -1.328068155288572e+01];
        double[] c = [-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00, -2.549732539343734e+00, 4.374664141464968e+00, 2.938163982698783e+00];
        double[] d = [7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00, 3.754408661907416e+00];
        const double Low = 0.02425;
        if (p < Low || p > 1 - Low)
        {
            var q = Math.Sqrt(-2 * Math.Log(p < Low ? p : 1 - p));
            var x = (((((((((c[0] * q) + c[1]) * q) + c[2]) * q) + c[3]) * q) + c[4]) * q) + c[5];
            x /= (((((((d[0] * q) + d[1]) * q) + d[2]) * q) + d[3]) * q) + 1;
            return p < Low ? x : -x;
        }

        var r = p - 0.5;
        var t = r * r;
        return (((((((((((a[0] * t) + a[1]) * t) + a[2]) * t) + a[3]) * t) + a[4]) * t) + a[5]) * r)
            / (((((((((b[0] * t) + b[1]) * t) + b[2]) * t) + b[3]) * t) + b[4]) * t + 1);
    }

    public static double LogGamma(double x)
    {
        if (x < 0.5)
        {
            // Reflection keeps the approximation where it is accurate.
            return Math.Log(Math.PI / Math.Abs(Math.Sin(Math.PI * x))) - LogGamma(1 - x);
        }

        x -= 1;
        var sum = Lanczos[0];
        var t = x + 7.5;
        for (var i = 1; i < Lanczos.Length; i++)
        {
            sum += Lanczos[i] / (x + i);
        }

        return (0.5 * Math.Log(2 * Math.PI)) + ((x + 0.5) * Math.Log(t)) - t + Math.Log(sum);
    }

    /// <summary>Q(a, x) = Γ(a, x) / Γ(a), the regularised upper incomplete gamma function.</summary>
    public static double RegularizedGammaQ(double a, double x)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(a);
        ArgumentOutOfRangeException.ThrowIfNegative(x);
        if (double.IsPositiveInfinity(x))
        {
            return 0;
        }

        // The series converges fast below a + 1, the continued fraction above it.
        return x < a + 1 ? 1 - LowerSeries(a, x) : UpperContinuedFraction(a, x);
    }

    /// <summary>The chance that a chi-square variable with <paramref name="degreesOfFreedom"/> exceeds <paramref name="statistic"/>.</summary>
    public static double ChiSquareSurvival(double statistic, int degreesOfFreedom) =>
        RegularizedGammaQ(degreesOfFreedom / 2.0, statistic / 2.0);

    /// <summary>P(Dₙ ≥ x) for the two-sided one-sample Kolmogorov–Smirnov statistic, as scipy's <c>kstwo.sf(x, n)</c>.</summary>
    public static double KolmogorovSurvival(int n, double x)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(n);
        if (x >= 1)
        {
            return 0;
        }

        if (x <= 0)
        {
            return 1;
        }

        var t = n * x;
        if (t <= 1)
        {
            // Ruben–Gambino: the exact CDF for 1/2n ≤ x ≤ 1/n is n!/nⁿ (2t − 1)ⁿ.
            return t <= 0.5 ? 1 : Clip(1 - Math.Exp(LogFactorialOverPower(n) + (n * Math.Log((2 * t) - 1))));
        }

        if (t >= n - 1)
        {
            return Clip(2 * Math.Pow(1 - x, n));
        }

        if (x >= 0.5)
        {
            return Clip(2 * Smirnov(n, x));
        }

        var nxSquared = t * x;
        if (n <= 140)
        {
            // scipy takes Durbin's matrix below n·x² = 0.754693 and Pomeranz's recursion up to 4; both
            // are exact, and the matrix, which is cheap at this n, stands in for both here.
            return nxSquared <= 4 ? Clip(1 - DurbinCdf(n, x)) : Clip(2 * Smirnov(n, x));
        }

        if (nxSquared >= 370)
        {
            return 0;
        }

        if (nxSquared >= 2.2)
        {
            return Clip(2 * Smirnov(n, x));
        }

        return Clip(1 - (n <= 100_000 && n * Math.Pow(x, 1.5) <= 1.4 ? DurbinCdf(n, x) : PelzGoodCdf(n, x)));
    }

    /// <summary>P(Dₙ⁺ ≥ x), the one-sided statistic, from the Birnbaum–Tingey sum (scipy's <c>smirnov</c>).</summary>
    internal static double Smirnov(int n, double x)
    {
        if (n == 1)
        {
            return 1 - x;
        }

        if (x <= 0)
        {
            return 1;
        }

        if (x >= 1)
        {
            return 0;
        }

        var nx = n * x;
        if (nx <= 1)
        {
            return 1 - (x * Math.Pow(1 + x, n - 1));
        }

        if (-2 * n * x * x < -708.39641853226408)
        {
            return 0;
        }

        if (Math.Floor(nx) >= n - 1)
        {
            return Math.Pow(1 - x, n);
        }

        if (n > 1_000_000)
        {
            // xsf's own shortcut for a sum too long to take.
            return Math.Exp(-Math.Pow((6.0 * n * x) + 1, 2) / 18.0 / n);
        }

        // x · Σ_{j=0}^{⌊n(1−x)⌋} C(n, j) (1 − x − j/n)^(n−j) (x + j/n)^(j−1), in logarithms.
        var last = (int)Math.Floor(n * (1 - x));
        var sum = 0.0;
        var previous = double.PositiveInfinity;
        var logBinomial = 0.0;
        for (var j = 0; j <= last; j++)
        {
            var below = 1 - x - ((double)j / n);
            if (below > 0)
            {
                var term = Math.Exp(logBinomial + ((n - j) * Math.Log(below)) + ((j - 1) * Math.Log(x + ((double)j / n))));
                sum += term;

                // Past their peak the terms only fall; stop once they no longer move the sum.
                if (term < previous && term < sum * Epsilon * 1e-3)
                {
                    break;
                }

                previous = term;
            }

            logBinomial += Math.Log(n - j) - Math.Log(j + 1);
        }

        return Math.Clamp(x * sum, 0, 1);
    }

    /// <summary>P(Dₙ ≤ d) by Durbin's matrix as Marsaglia, Tsang and Wang compute it (scipy's <c>_kolmogn_DMTW</c>).</summary>
    internal static double DurbinCdf(int n, double d)
    {
        if (d >= 1)
        {
            return 1;
        }

        var nd = n * d;
        if (nd <= 0.5)
        {
            return 0;
        }

        var k = (int)Math.Ceiling(nd);
        var h = k - nd;
        var m = (2 * k) - 1;
        var v = new double[m];
        var w = new double[m];
        var factorial = 1.0;
        for (var j = 1; j <= m; j++)
        {
            w[j - 1] = factorial;
            factorial /= j;
            v[j - 1] = (1.0 - Math.Pow(h, j)) * factorial;
        }

        v[m - 1] = (1.0 + Math.Pow(Math.Max((2 * h) - 1.0, 0), m) - (2 * Math.Pow(h, m))) * factorial;
        var matrix = new double[m, m];
        for (var i = 1; i < m; i++)
        {
            for (var row = i - 1; row < m; row++)
            {
                matrix[row, i] = w[row - i + 1];
            }
        }

        for (var row = 0; row < m; row++)
        {
            matrix[row, 0] = v[row];
            matrix[m - 1, row] = v[m - 1 - row];
        }

        // The powers grow past double's range for larger n: scaled down as they go, as scipy does.
        const double scale = 1e140;
        var power = Identity(m);
        var powerExponent = 0.0;
        var matrixExponent = 0.0;
        for (var remaining = n; remaining > 0; remaining /= 2)
        {
            if (remaining % 2 == 1)
            {
                power = Multiply(power, matrix);
                powerExponent += matrixExponent;
            }

            matrix = Multiply(matrix, matrix);
            matrixExponent *= 2;
            if (Math.Abs(matrix[k - 1, k - 1]) > scale)
            {
                Scale(matrix, 1 / scale);
                matrixExponent += 1;
            }
        }

        // p = power[k−1, k−1] × n!/nⁿ × scale^powerExponent, taken in logarithms.
        var p = power[k - 1, k - 1];
        if (p <= 0)
        {
            return 0;
        }

        return Math.Clamp(Math.Exp(Math.Log(p) + LogFactorialOverPower(n) + (powerExponent * Math.Log(scale))), 0, 1);
    }

    /// <summary>The Pelz–Good asymptotic series for P(Dₙ ≤ x) (scipy's <c>_kolmogn_PelzGood</c>).</summary>
    internal static double PelzGoodCdf(int n, double x)
    {
        const double piSquared = Math.PI * Math.PI;
        const double piFour = piSquared * piSquared;
        const double piSix = piFour * piSquared;
        var sqrt2Pi = Math.Sqrt(2 * Math.PI);
        if (x <= 0)
        {
            return 0;
        }

        if (x >= 1)
        {
            return 1;
        }

        var z = Math.Sqrt(n) * x;
        var z2 = z * z;
        var z4 = z2 * z2;
        var z6 = z4 * z2;
        var qLog = -piSquared / 8 / z2;
        if (qLog < -708.39641853226408)
        {
            return 0;
        }

        var q = Math.Exp(qLog);
        var k1a = -z2;
        var k1b = piSquared / 4;
        var k2a = (6 * z6) + (2 * z4);
        var k2b = ((2 * z4) - (5 * z2)) * piSquared / 4;
        var k2c = piFour * (1 - (2 * z2)) / 16;
        var k3d = piSix * (5 - (30 * z2)) / 64;
        var k3c = piFour * ((-60 * z2) + (212 * z4)) / 16;
        var k3b = piSquared * ((135 * z4) - (96 * z6)) / 4;
        var k3a = (-30 * z6) - (90 * z6 * z2);

        Span<double> terms = stackalloc double[4];
        var maxK = (int)Math.Ceiling(16 * z / Math.PI);
        for (var k = maxK; k > 0; k--)
        {
            double m = (2 * k) - 1;
            var m2 = m * m;
            var m4 = m2 * m2;
            var m6 = m4 * m2;
            var qPower = Math.Pow(q, 8 * k);
            terms[0] = (terms[0] * qPower) + 1.0;
            terms[1] = (terms[1] * qPower) + k1a + (k1b * m2);
            terms[2] = (terms[2] * qPower) + k2a + (k2b * m2) + (k2c * m4);
            terms[3] = (terms[3] * qPower) + k3a + (k3b * m2) + (k3c * m4) + (k3d * m6);
        }

        ReadOnlySpan<double> divisors = [z, 6 * z4, 72 * Math.Pow(z, 7), 6480 * Math.Pow(z, 10)];
        for (var i = 0; i < 4; i++)
        {
            terms[i] = terms[i] * q * sqrt2Pi / divisors[i];
        }

        var qAll = Math.Exp(-piSquared / 2 / z2);
        double k2Extra = 0, k3Extra = 0;
        var sqrt3z = Math.Sqrt(3) * z;
        for (var k = maxK; k > 0; k--)
        {
            double k2 = (double)k * k;
            var qPower = Math.Pow(qAll, k2);
            k2Extra += k2 * qPower;
            var kPi = Math.PI * k;
            k3Extra += (sqrt3z + kPi) * (sqrt3z - kPi) * k2 * qPower;
        }

        terms[2] += k2Extra * piSquared * sqrt2Pi / (-36 * z2 * z);
        terms[3] += k3Extra * piSquared * sqrt2Pi / (216 * z6);
        return terms[0] + (terms[1] / Math.Sqrt(n)) + (terms[2] / n) + (terms[3] / (n * Math.Sqrt(n)));
    }

    /// <summary>log(n! / nⁿ), by Stirling's series with n·log n taken out first (scipy's <c>_log_nfactorial_div_n_pow_n</c>).</summary>
    private static double LogFactorialOverPower(int n)
    {
        ReadOnlySpan<double> stirling =
        [
            -2.955065359477124183e-2, 6.4102564102564102564e-3, -1.9175269175269175269e-3, 8.4175084175084175084e-4,
            -5.952380952380952381e-4, 7.9365079365079365079e-4, -2.7777777777777777778e-3, 8.3333333333333333333e-2,
        ];
        var rn = 1.0 / n;
        var polynomial = 0.0;
        foreach (var c in stirling)
        {
            polynomial = (polynomial * rn / n) + c;
        }

        return (Math.Log(n) / 2) - n + (Math.Log(2 * Math.PI) / 2) + (rn * polynomial);
    }

    private static double LowerSeries(double a, double x)
    {
        if (x == 0)
        {
            return 0;
        }

        var term = 1.0 / a;
        var sum = term;
        for (var i = 1; i < MaxIterations; i++)
        {
            term *= x / (a + i);
            sum += term;
            if (Math.Abs(term) < Math.Abs(sum) * Epsilon)
            {
                break;
            }
        }

        return sum * Math.Exp(-x + (a * Math.Log(x)) - LogGamma(a));
    }

    private static double UpperContinuedFraction(double a, double x)
    {
        const double tiny = 1e-300;
        var b = x + 1 - a;
        var c = 1 / tiny;
        var d = 1 / b;
        var h = d;
        for (var i = 1; i < MaxIterations; i++)
        {
            var an = -i * (i - a);
            b += 2;
            d = (an * d) + b;
            d = Math.Abs(d) < tiny ? tiny : d;
            c = b + (an / c);
            c = Math.Abs(c) < tiny ? tiny : c;
            d = 1 / d;
            var delta = d * c;
            h *= delta;
            if (Math.Abs(delta - 1) < Epsilon)
            {
                break;
            }
        }

        return Math.Exp(-x + (a * Math.Log(x)) - LogGamma(a)) * h;
    }

    private static double Clip(double p) => Math.Clamp(p, 0, 1);

    private static double[,] Identity(int m)
    {
        var identity = new double[m, m];
        for (var i = 0; i < m; i++)
        {
            identity[i, i] = 1;
        }

        return identity;
    }

    private static double[,] Multiply(double[,] left, double[,] right)
    {
        var m = left.GetLength(0);
        var product = new double[m, m];
        for (var i = 0; i < m; i++)
        {
            for (var k = 0; k < m; k++)
            {
                var l = left[i, k];
                if (l == 0)
                {
                    continue;
                }

                for (var j = 0; j < m; j++)
                {
                    product[i, j] += l * right[k, j];
                }
            }
        }

        return product;
    }

    private static void Scale(double[,] matrix, double factor)
    {
        var m = matrix.GetLength(0);
        for (var i = 0; i < m; i++)
        {
            for (var j = 0; j < m; j++)
            {
                matrix[i, j] *= factor;
            }
        }
    }
}
