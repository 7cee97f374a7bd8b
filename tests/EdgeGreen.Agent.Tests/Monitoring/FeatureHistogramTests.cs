using EdgeGreen.Agent.Monitoring;
using static EdgeGreen.Agent.Tests.Monitoring.Profiles;

namespace EdgeGreen.Agent.Tests.Monitoring;

public sealed class FeatureHistogramTests
{
    [Fact]
    public void Add_NumericValues_LowerEdgeBelongsToTheBinAboveAndOutOfRangeCountsInTheOuterBins()
    {
        var histogram = new FeatureHistogram(Numeric("age", 18, 30, 50, 90));

        histogram.Add(new double[] { 18, 29.999, 30, 49, 50, 90, 120, 5, -1e300, double.PositiveInfinity }, 0, 1);

        var summary = histogram.ToSummary();
        // [18,30): 18, 29.999 and below-range 5, -1e300; [30,50): 30, 49; [50,90]+: 50, 90, 120, +inf.
        Assert.Equal([4UL, 2UL, 4UL], summary.Counts);
        Assert.Equal(0UL, summary.Missing);
    }

    [Fact]
    public void Add_NaNAndInfinity_NaNIsMissing_MomentsTakeFiniteValuesOnly()
    {
        var histogram = new FeatureHistogram(Numeric("x", 0, 1, 2));

        histogram.Add(new float[] { 0.5f, float.NaN, 1.5f, float.NegativeInfinity, 1f }, 0, 1);

        var summary = histogram.ToSummary();
        Assert.Equal([2UL, 2UL], summary.Counts);
        Assert.Equal(1UL, summary.Missing);
        Assert.Equal((3UL, 3.0, 0.25 + 2.25 + 1, 0.5, 1.5), (summary.Count, summary.Sum, summary.SumOfSquares, summary.Min, summary.Max));
    }

    [Fact]
    public void Add_CategoricalStrings_UnknownGoesToOther_NullAndUnlistedEmptyAreMissing()
    {
        var histogram = new FeatureHistogram(Categorical("city", "Lisbon", "Porto"));

        histogram.Add(new[] { "Porto", "Lisbon", "Porto", "Faro", "", null!, "porto" }, 0, 1);

        var summary = histogram.ToSummary();
        Assert.Equal([1UL, 2UL, 2UL], summary.Counts);
        Assert.Equal((2UL, 5UL), (summary.Missing, summary.Count));
    }

    [Fact]
    public void Add_CategoryCodesSentAsNumbers_FindTheirCategory()
    {
        var histogram = new FeatureHistogram(Categorical("education", "1", "2", "3"));

        histogram.Add(new long[] { 2, 2, 3, 7 }, 0, 1);

        Assert.Equal([0UL, 2UL, 1UL, 1UL], histogram.ToSummary().Counts);
        Assert.Equal(1, histogram.Sampled(new long[] { 2 }, 0));
        Assert.Equal(3, histogram.Sampled(new[] { "Faro" }, 0));
    }

    [Fact]
    public void Add_WithOffsetAndStride_CountsOneColumn()
    {
        var histogram = new FeatureHistogram(Numeric("p", 0, 0.5, 1));

        // Three rows of [negative, positive] probabilities: only the second column counts.
        histogram.Add(new float[] { 0.9f, 0.1f, 0.2f, 0.8f, 0.3f, 0.7f }, 1, 2);

        Assert.Equal([1UL, 2UL], histogram.ToSummary().Counts);
    }

    [Fact]
    public void Add_NumericFeatureSentAsStrings_ReadsInvariantNumbers_UnreadableIsMissing()
    {
        var histogram = new FeatureHistogram(Numeric("x", 0, 10, 20));

        histogram.Add(new[] { "2.5", "15", "n/a" }, 0, 1);

        Assert.Equal([1UL, 1UL], histogram.ToSummary().Counts);
        Assert.Equal(1UL, histogram.ToSummary().Missing);
    }
}
