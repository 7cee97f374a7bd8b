namespace EdgeGreen.ControlPlane.Core.Monitoring;

/// <summary>
/// Drift between a reference histogram and a current one over the same bins, by the tests Evidently
/// offers, computed from the bins alone (the control plane never sees the raw traffic).
/// </summary>
public static class DriftScores
{
    /// <summary>Evidently's default PSI threshold, and the level most teams read as "some drift, look".</summary>
    public const double PsiThreshold = 0.1;

    /// <summary>The level conventionally read as a significant shift (act); reported for display, not used by <see cref="Psi"/>.</summary>
    public const double PsiSignificantThreshold = 0.25;

    /// <summary>Evidently's default for every p-value test.</summary>
    public const double PValueThreshold = 0.05;

    /// <summary>Evidently's default for the normed Wasserstein distance.</summary>
    public const double WassersteinThreshold = 0.1;

    /// <summary>
    /// The population stability index Σ (ref − cur) · ln(ref / cur) over bin shares, as Evidently's
    /// <c>psi</c> stattest computes it, with its treatment of empty bins: in each histogram separately,
    /// an empty bin's share becomes 0.0001, or a millionth of the smallest non-empty share when that
    /// share is 0.0001 or less. Bins that Evidently would not have (a catch-all bin empty on both sides,
    /// and for per-value or categorical bins any bin empty on both sides) are left out. Drift is a PSI of
    /// at least <paramref name="threshold"/>: 0.1 by default, Evidently's own default, because an alert
    /// should come while a shift is still moderate, not once it has reached the significant 0.25.
    /// </summary>
    public static DriftResult Psi(FeatureHistogram reference, FeatureHistogram current, double threshold = PsiThreshold)
    {
        var (referenceShares, currentShares) = EvidentlyShares(reference, current);
        var psi = 0.0;
        for (var i = 0; i < referenceShares.Length; i++)
        {
            psi += (referenceShares[i] - currentShares[i]) * Math.Log(referenceShares[i] / currentShares[i]);
        }

        return new DriftResult("psi", psi, threshold, psi >= threshold, psi);
    }

    /// <summary>
    /// The two-sample Kolmogorov–Smirnov test on the bins: D is the largest gap between the two
    /// cumulative shares at a bin edge, and the p-value is scipy <c>ks_2samp</c>'s asymptotic one,
    /// P(D_{n'} ≥ D) with n' = round(n·m / (n + m)) (<c>kstwo.sf</c>). Binning hides any larger gap
    /// inside a bin, so D is a lower bound of the raw samples' statistic and the p-value an upper bound
    /// of theirs: the test can miss drift that lies within one bin, never invent it. Drift is a p-value
    /// at or below <paramref name="threshold"/>, as Evidently's <c>ks</c> decides. With per-value bins,
    /// values the reference never had are placed after all of its values, since the bins keep no order
    /// among them.
    /// </summary>
    public static DriftResult KolmogorovSmirnov(FeatureHistogram reference, FeatureHistogram current, double threshold = PValueThreshold)
    {
        RequireComparable(reference, current, numeric: true);
        double cumulativeReference = 0, cumulativeCurrent = 0, d = 0;
        for (var i = 0; i < reference.Counts.Count; i++)
        {
            cumulativeReference += (double)reference.Counts[i] / reference.Total;
            cumulativeCurrent += (double)current.Counts[i] / current.Total;
            d = Math.Max(d, Math.Abs(cumulativeReference - cumulativeCurrent));
        }

        var n = (double)Math.Max(reference.Total, current.Total);
        var m = (double)Math.Min(reference.Total, current.Total);
        // Windows summed over months can hold more values than an int counts; the p-value is 0 or 1 long before.
        var effective = (int)Math.Min(Math.Round(n * m / (n + m), MidpointRounding.ToEven), int.MaxValue);
        var p = Distributions.KolmogorovSurvival(Math.Max(effective, 1), d);
        return new DriftResult("ks", p, threshold, p <= threshold, d);
    }

    /// <summary>
    /// Pearson's chi-square test of the current counts against the reference's shares scaled to the
    /// current total, as Evidently's <c>chisquare</c> stattest calls scipy's <c>chisquare</c>: bins
    /// empty on both sides are left out, the degrees of freedom are the bins kept less one, and a current
    /// value in a bin the reference never filled makes the statistic infinite (p = 0). Drift is a p-value
    /// below <paramref name="threshold"/>.
    /// </summary>
    public static DriftResult ChiSquare(FeatureHistogram reference, FeatureHistogram current, double threshold = PValueThreshold)
    {
        RequireComparable(reference, current, numeric: false);
        var scale = (double)current.Total / reference.Total;
        var statistic = 0.0;
        var kept = 0;
        for (var i = 0; i < reference.Counts.Count; i++)
        {
            if (reference.Counts[i] == 0 && current.Counts[i] == 0)
            {
                continue;
            }

            kept++;
            var expected = reference.Counts[i] * scale;
            var difference = current.Counts[i] - expected;
            statistic += expected == 0 ? double.PositiveInfinity : difference * difference / expected;
        }

        var degrees = kept - 1;
        var p = degrees < 1 ? 1.0 : Distributions.ChiSquareSurvival(statistic, degrees);
        return new DriftResult("chisquare", p, threshold, p < threshold, statistic, degrees);
    }

    /// <summary>
    /// The first Wasserstein distance between the two binned distributions, each bin's share placed at
    /// its centre (a catch-all bin's centre lies halfway between its edge and the histogram's own minimum
    /// or maximum), divided by the reference's standard deviation, at least 0.001: Evidently's
    /// <c>wasserstein</c> stattest (the Spark variant of which bins the same way). The deviation comes
    /// from the exact moments, not the bins. Drift is a normed distance of at least <paramref name="threshold"/>.
    /// </summary>
    public static DriftResult Wasserstein(FeatureHistogram reference, FeatureHistogram current, double threshold = WassersteinThreshold)
    {
        RequireComparable(reference, current, numeric: true);
        var distance = WassersteinDistance(Points(reference), Points(current));
        var norm = Math.Max(Math.Sqrt(reference.Moments.PopulationVariance), 0.001);
        var normed = distance / norm;
        return new DriftResult("wasserstein", normed, threshold, normed >= threshold, normed);
    }

    /// <summary>W₁ between two weighted point sets: the area between their cumulative distributions (scipy's <c>wasserstein_distance</c>).</summary>
    internal static double WassersteinDistance(IReadOnlyList<(double Value, double Weight)> u, IReadOnlyList<(double Value, double Weight)> v)
    {
        var uTotal = u.Sum(p => p.Weight);
        var vTotal = v.Sum(p => p.Weight);
        var all = u.Select(p => (p.Value, Weight: p.Weight / uTotal)).Concat(v.Select(p => (p.Value, Weight: -p.Weight / vTotal)))
            .OrderBy(p => p.Value).ToArray();
        double distance = 0, gap = 0;
        for (var i = 0; i < all.Length - 1; i++)
        {
            gap += all[i].Weight;
            distance += Math.Abs(gap) * (all[i + 1].Value - all[i].Value);
        }

        return distance;
    }

    private static List<(double Value, double Weight)> Points(FeatureHistogram histogram)
    {
        var binning = histogram.Binning;
        var points = new List<(double, double)>(binning.BinCount);
        for (var i = 0; i < binning.BinCount; i++)
        {
            if (histogram.Counts[i] == 0)
            {
                continue;
            }

            var centre = binning.Kind switch
            {
                BinningKind.EqualWidth when i == 0 => (histogram.Moments.Min + binning.Edges[0]) / 2,
                BinningKind.EqualWidth when i == binning.BinCount - 1 => (binning.Edges[^1] + histogram.Moments.Max) / 2,
                BinningKind.EqualWidth => (binning.Edges[i - 1] + binning.Edges[i]) / 2,
                // Unseen values: the ones this histogram saw are known only by their moments.
                _ when i == binning.BinCount - 1 => OtherValuesMean(histogram),
                _ => binning.Values[i],
            };
            points.Add((centre, histogram.Counts[i]));
        }

        return points;
    }

    private static double OtherValuesMean(FeatureHistogram histogram)
    {
        var seen = 0.0;
        for (var i = 0; i < histogram.Binning.Values.Length; i++)
        {
            seen += histogram.Binning.Values[i] * histogram.Counts[i];
        }

        return (histogram.Moments.Sum - seen) / histogram.Counts[^1];
    }

    private static (double[] Reference, double[] Current) EvidentlyShares(FeatureHistogram reference, FeatureHistogram current)
    {
        RequireComparable(reference, current, numeric: false);
        var binning = reference.Binning;
        var kept = Enumerable.Range(0, binning.BinCount)
            .Where(i => reference.Counts[i] > 0 || current.Counts[i] > 0 || (binning.Kind == BinningKind.EqualWidth && !binning.IsCatchAll(i)))
            .ToArray();
        return (FillZeroes([.. kept.Select(i => (double)reference.Counts[i] / reference.Total)]),
            FillZeroes([.. kept.Select(i => (double)current.Counts[i] / current.Total)]));
    }

    private static double[] FillZeroes(double[] shares)
    {
        var smallest = shares.Where(s => s != 0).Min();
        var fill = smallest <= 0.0001 ? smallest / 1e6 : 0.0001;
        for (var i = 0; i < shares.Length; i++)
        {
            shares[i] = shares[i] == 0 ? fill : shares[i];
        }

        return shares;
    }

    private static void RequireComparable(FeatureHistogram reference, FeatureHistogram current, bool numeric)
    {
        ArgumentNullException.ThrowIfNull(reference);
        ArgumentNullException.ThrowIfNull(current);
        if (!reference.Binning.Equals(current.Binning))
        {
            throw new ArgumentException("The histograms are over different bins.", nameof(current));
        }

        if (numeric && !reference.Binning.IsNumeric)
        {
            throw new ArgumentException("This test needs a numeric feature.", nameof(reference));
        }

        if (reference.Total == 0 || current.Total == 0)
        {
            throw new ArgumentException("Both histograms must hold at least one value.", reference.Total == 0 ? nameof(reference) : nameof(current));
        }
    }
}
