using EdgeGreen.ControlPlane.Core.Monitoring;

namespace EdgeGreen.ControlPlane.Tests.Monitoring;

/// <summary>
/// Expected values from Evidently's own <c>get_binned_data</c> and stattest code run on the raw samples
/// (with scipy 1.10 and pandas), on data whose bins lose nothing: categories, and numeric features with
/// few values, where each bin is one exact value.
/// </summary>
public sealed class DriftScoresTests
{
    private static readonly string[] ReferenceCategories = [.. Repeat("a", 50), .. Repeat("b", 30), .. Repeat("c", 15), .. Repeat("d", 5)];
    private static readonly string[] CurrentCategories = [.. Repeat("a", 40), .. Repeat("b", 40), .. Repeat("c", 20)];
    private static readonly double[] ReferenceValues = [.. Repeat(1.0, 10), .. Repeat(2.0, 20), .. Repeat(3.0, 40), .. Repeat(4.0, 20), .. Repeat(5.0, 10)];
    private static readonly double[] CurrentValues = [.. Repeat(1.0, 5), .. Repeat(2.0, 10), .. Repeat(3.0, 30), .. Repeat(4.0, 30), .. Repeat(5.0, 25)];

    [Fact]
    public void Psi_Categories_MatchesEvidentlyWithItsEmptyBinFill()
    {
        var (reference, current) = Categorical();

        var result = DriftScores.Psi(reference, current);

        Assert.Equal(0.3755756101104555, result.Score, 12);
        Assert.True(result.Drifted);
        Assert.Equal("psi", result.Method);
    }

    [Fact]
    public void Psi_FewNumericValues_MatchesEvidently()
    {
        var (reference, current) = Discrete(ReferenceValues, CurrentValues);

        Assert.Equal(0.3107304049211096, DriftScores.Psi(reference, current).Score, 12);
    }

    [Fact]
    public void Psi_EqualWidthBinsWithValuesAboveTheRange_CountsTheOverflowBinAsEvidentlyFillsIt()
    {
        var binning = FeatureBinning.ForNumeric(FeatureBinningTests.Reference);
        var reference = FeatureHistogram.Of(binning, FeatureBinningTests.Reference);
        var current = FeatureHistogram.Of(binning, FeatureBinningTests.Reference.Take(200).Select(x => (x * 0.9) + 3));

        // numpy's shares of the ten inner bins and the bin above, empty shares filled as Evidently fills them.
        Assert.Equal(0.8701047827609131, DriftScores.Psi(reference, current).Score, 12);
    }

    [Fact]
    public void Psi_SameDistribution_IsZeroAndNotDrifted()
    {
        var (reference, current) = Discrete(ReferenceValues, ReferenceValues);

        var result = DriftScores.Psi(reference, current);

        Assert.Equal(0, result.Score, 12);
        Assert.False(result.Drifted);
        Assert.Equal(DriftScores.PsiThreshold, result.Threshold);
    }

    [Fact]
    public void ChiSquare_Categories_MatchesEvidentlyThroughScipy()
    {
        var (reference, current) = Categorical();

        var result = DriftScores.ChiSquare(reference, current);

        Assert.Equal(12.0, result.Statistic, 10);
        Assert.Equal(3, result.DegreesOfFreedom);
        Assert.Equal(0.007383160505359769, result.Score, 12);
        Assert.True(result.Drifted);
    }

    [Fact]
    public void ChiSquare_CategoryTheReferenceNeverHad_IsCertainDrift()
    {
        var binning = FeatureBinning.ForCategorical(["a", "b"]);

        var result = DriftScores.ChiSquare(FeatureHistogram.Of(binning, ["a", "b"]), FeatureHistogram.Of(binning, ["a", "z"]));

        Assert.Equal(0, result.Score);
        Assert.True(result.Drifted);
    }

    [Fact]
    public void KolmogorovSmirnov_ExactValues_MatchesScipyKs2sampAsymptotic()
    {
        var (reference, current) = Discrete(ReferenceValues, CurrentValues);

        var result = DriftScores.KolmogorovSmirnov(reference, current);

        Assert.Equal(0.25, result.Statistic, 12);
        Assert.Equal(0.0030657620198700775, result.Score, 10);
        Assert.True(result.Drifted);
    }

    [Fact]
    public void KolmogorovSmirnov_LargeUnequalSamples_MatchesScipyFarInTheTail()
    {
        var (reference, current) = Discrete([.. Enumerable.Repeat(ReferenceValues, 40).SelectMany(v => v)], [.. Enumerable.Repeat(CurrentValues, 30).SelectMany(v => v)]);

        var result = DriftScores.KolmogorovSmirnov(reference, current);

        Assert.Equal(7.157403429457769e-95, result.Score, 1e-100);
        Assert.Equal(1, result.Score / 7.157403429457769e-95, 6);
    }

    [Fact]
    public void KolmogorovSmirnov_MoreValuesThanAnIntCounts_StillDecides()
    {
        var binning = FeatureBinning.FromEdges([0, 1, 2]);
        var reference = FeatureHistogram.FromCounts(binning, [0, 3_000_000_000, 3_000_000_000, 0], 0, new NumericMoments(6_000_000_000, 6e9, 1e10, 0, 2));
        var shifted = FeatureHistogram.FromCounts(binning, [0, 2_990_000_000, 3_010_000_000, 0], 0, new NumericMoments(6_000_000_000, 6e9, 1e10, 0, 2));

        Assert.Equal(1, DriftScores.KolmogorovSmirnov(reference, reference).Score);
        Assert.True(DriftScores.KolmogorovSmirnov(reference, shifted).Drifted);
    }

    [Fact]
    public void Wasserstein_ExactValues_MatchesEvidentlysNormedDistance()
    {
        var (reference, current) = Discrete(ReferenceValues, CurrentValues);

        var result = DriftScores.Wasserstein(reference, current);

        Assert.Equal(0.5477225575051662, result.Score, 12);
        Assert.True(result.Drifted);
    }

    [Fact]
    public void Wasserstein_ShiftedByHalfAStandardDeviation_ScoresAboutHalf()
    {
        var reference = Enumerable.Range(0, 20_000).Select(i => Normal(i)).ToArray();
        var binning = FeatureBinning.ForNumeric(reference);
        var deviation = Math.Sqrt(FeatureHistogram.Of(binning, reference).Moments.PopulationVariance);

        var result = DriftScores.Wasserstein(FeatureHistogram.Of(binning, reference), FeatureHistogram.Of(binning, reference.Select(x => x + (deviation / 2))));

        Assert.InRange(result.Score, 0.45, 0.55);
    }

    [Fact]
    public void KolmogorovSmirnov_Categories_Throws()
    {
        var (reference, current) = Categorical();

        Assert.Throws<ArgumentException>(() => DriftScores.KolmogorovSmirnov(reference, current));
    }

    private static (FeatureHistogram Reference, FeatureHistogram Current) Categorical()
    {
        var binning = FeatureBinning.ForCategorical(ReferenceCategories);
        return (FeatureHistogram.Of(binning, ReferenceCategories), FeatureHistogram.Of(binning, CurrentCategories));
    }

    private static (FeatureHistogram Reference, FeatureHistogram Current) Discrete(double[] reference, double[] current)
    {
        var binning = FeatureBinning.ForNumeric(reference);
        Assert.Equal(BinningKind.Discrete, binning.Kind);
        return (FeatureHistogram.Of(binning, reference), FeatureHistogram.Of(binning, current));
    }

    private static T[] Repeat<T>(T value, int count) => [.. Enumerable.Repeat(value, count)];

    // A deterministic standard normal sample: the inverse CDF (Abramowitz and Stegun 26.2.23) at evenly spaced probabilities.
    private static double Normal(int i)
    {
        var p = (i + 0.5) / 20_000;
        var t = Math.Sqrt(-2 * Math.Log(Math.Min(p, 1 - p)));
        var z = t - ((2.515517 + (0.802853 * t) + (0.010328 * t * t)) / (1 + (1.432788 * t) + (0.189269 * t * t) + (0.001308 * t * t * t)));
        return p < 0.5 ? -z : z;
    }
}
