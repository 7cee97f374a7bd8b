using EdgeGreen.ControlPlane.Core.Monitoring;

namespace EdgeGreen.ControlPlane.Tests.Monitoring;

/// <summary>Expected values from numpy 1.24's <c>histogram_bin_edges(…, bins="sturges")</c> and <c>histogram</c> on the same data.</summary>
public sealed class FeatureBinningTests
{
    // 300 values, 101 distinct, between 0 and 25.
    internal static double[] Reference => [.. Enumerable.Range(0, 300).Select(i => i * 37 % 101 * 0.25)];

    [Fact]
    public void ForNumeric_ManyDistinctValues_TakesNumpysSturgesEdges()
    {
        var binning = FeatureBinning.ForNumeric(Reference);

        Assert.Equal(BinningKind.EqualWidth, binning.Kind);
        Assert.Equal([0.0, 2.5, 5.0, 7.5, 10.0, 12.5, 15.0, 17.5, 20.0, 22.5, 25.0], binning.Edges.ToArray());
        Assert.Equal(12, binning.BinCount);
    }

    [Fact]
    public void Histogram_ValuesInAndOutOfRange_CountsAsNumpyAndCatchesTheRest()
    {
        var binning = FeatureBinning.ForNumeric(Reference);

        var reference = FeatureHistogram.Of(binning, Reference);
        var current = FeatureHistogram.Of(binning, Reference.Take(200).Select(x => (x * 0.9) + 3));

        Assert.Equal([0L, 30, 30, 29, 30, 30, 30, 29, 30, 30, 32, 0], reference.Counts);
        Assert.Equal([0L, 0, 18, 22, 23, 22, 22, 21, 22, 22, 22, 6], current.Counts);
    }

    [Fact]
    public void ForNumeric_FewDistinctValues_BinsByValueWithOther()
    {
        var binning = FeatureBinning.ForNumeric([3, 1, 2, 2, 1, double.NaN]);

        Assert.Equal(BinningKind.Discrete, binning.Kind);
        Assert.Equal([1.0, 2.0, 3.0], binning.Values.ToArray());
        Assert.Equal(1, binning.BinOf(2));
        Assert.Equal(3, binning.BinOf(2.5));
        Assert.Equal("other", binning.Label(3));
    }

    [Fact]
    public void ForNumeric_OneValueRepeated_WidensByHalfEachSideAsNumpy()
    {
        Assert.Equal([4.5, 5.5], FeatureBinning.SturgesEdges(5, 5, 100).ToArray());
    }

    [Fact]
    public void ForCategorical_MoreCategoriesThanKept_KeepsTheMostFrequentAndFoldsTheRestIntoOther()
    {
        var binning = FeatureBinning.ForCategorical(["b", "a", "b", "c", "a", "b", null], maxCategories: 2);

        Assert.Equal(["b", "a"], binning.Categories.ToArray());
        Assert.Equal(2, binning.BinOf("c"));
        Assert.Equal(2, binning.BinOf("never seen"));
    }

    [Fact]
    public void Merge_TwoWindows_EqualsOneHistogramOfAllValues()
    {
        var binning = FeatureBinning.ForNumeric(Reference);
        var values = Reference.Select(x => (x * 1.3) - 2).Append(double.NaN).ToArray();
        var first = FeatureHistogram.Of(binning, values.Take(120));
        var second = FeatureHistogram.Of(binning, values.Skip(120));

        first.Merge(second);
        var whole = FeatureHistogram.Of(binning, values);

        Assert.Equal(whole.Counts, first.Counts);
        Assert.Equal(whole.Total, first.Total);
        Assert.Equal(1, first.Missing);
        Assert.Equal(whole.Moments.Count, first.Moments.Count);
        Assert.Equal(whole.Moments.Sum, first.Moments.Sum, 9);
        Assert.Equal(whole.Moments.SumOfSquares, first.Moments.SumOfSquares, 6);
        Assert.Equal(whole.Moments.Min, first.Moments.Min);
        Assert.Equal(whole.Moments.Max, first.Moments.Max);
    }

    [Fact]
    public void Merge_DifferentBins_Throws()
    {
        var one = new FeatureHistogram(FeatureBinning.ForNumeric(Reference));
        var other = new FeatureHistogram(FeatureBinning.ForNumeric(Reference.Select(x => x * 2)));

        Assert.Throws<ArgumentException>(() => one.Merge(other));
    }

    [Fact]
    public void FromCounts_CountsThatDoNotFit_AreRefused()
    {
        var binning = FeatureBinning.FromEdges([0, 1, 2]);

        Assert.Throws<ArgumentException>(() => FeatureHistogram.FromCounts(binning, [1, 2, 3], 0, NumericMoments.Empty));
        Assert.Throws<ArgumentException>(() => FeatureHistogram.FromCounts(binning, [0, 1, -1, 0], 0, NumericMoments.Empty));
        Assert.Equal(4, FeatureHistogram.FromCounts(binning, [0, 2, 2, 0], 0, new NumericMoments(4, 4, 5, 0, 2)).Total);
    }
}
