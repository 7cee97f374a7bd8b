namespace EdgeGreen.ControlPlane.Core.Monitoring;

/// <summary>
/// Counts per bin of one feature over some traffic, with the exact moments of a numeric feature and
/// the values that were missing. An agent keeps one per window and adds values as it serves; the
/// control plane merges windows by adding them, which is exact, whatever order they come in.
/// </summary>
public sealed class FeatureHistogram
{
    private readonly long[] _counts;

    public FeatureHistogram(FeatureBinning binning)
    {
        ArgumentNullException.ThrowIfNull(binning);
        Binning = binning;
        _counts = new long[binning.BinCount];
    }

    public FeatureBinning Binning { get; }

    public IReadOnlyList<long> Counts => _counts;

    /// <summary>The values counted in the bins (missing values are not).</summary>
    public long Total { get; private set; }

    /// <summary>NaN values and absent categories: counted apart, never binned.</summary>
    public long Missing { get; private set; }

    /// <summary>Exact moments of the numeric values counted; <see cref="NumericMoments.Empty"/> for a categorical feature.</summary>
    public NumericMoments Moments { get; private set; } = NumericMoments.Empty;

    /// <summary>A histogram of the given values, e.g. the reference the binning came from.</summary>
    public static FeatureHistogram Of(FeatureBinning binning, IEnumerable<double> values)
    {
        ArgumentNullException.ThrowIfNull(values);
        var histogram = new FeatureHistogram(binning);
        foreach (var value in values)
        {
            histogram.Add(value);
        }

        return histogram;
    }

    public static FeatureHistogram Of(FeatureBinning binning, IEnumerable<string?> categories)
    {
        ArgumentNullException.ThrowIfNull(categories);
        var histogram = new FeatureHistogram(binning);
        foreach (var category in categories)
        {
            histogram.Add(category);
        }

        return histogram;
    }

    /// <summary>Rebuilds a histogram from stored or received counts, refusing any that do not fit the binning.</summary>
    public static FeatureHistogram FromCounts(FeatureBinning binning, IReadOnlyList<long> counts, long missing, NumericMoments moments)
    {
        ArgumentNullException.ThrowIfNull(counts);
        var histogram = new FeatureHistogram(binning);
        if (counts.Count != binning.BinCount || counts.Any(c => c < 0) || missing < 0)
        {
            throw new ArgumentException($"Expected {binning.BinCount} counts, none negative.", nameof(counts));
        }

        var total = counts.Sum();
        if (binning.IsNumeric ? moments.Count != total : moments.Count != 0)
        {
            throw new ArgumentException("The moments do not describe the counted values.", nameof(moments));
        }

        for (var i = 0; i < counts.Count; i++)
        {
            histogram._counts[i] = counts[i];
        }

        histogram.Total = total;
        histogram.Missing = missing;
        histogram.Moments = moments;
        return histogram;
    }

    public void Add(double value)
    {
        if (double.IsNaN(value))
        {
            Missing++;
            return;
        }

        _counts[Binning.BinOf(value)]++;
        Total++;
        Moments = Moments.Add(value);
    }

    public void Add(string? category)
    {
        if (category is null)
        {
            Missing++;
            return;
        }

        _counts[Binning.BinOf(category)]++;
        Total++;
    }

    /// <summary>Adds another window's counts into this one; both must share the binning.</summary>
    public void Merge(FeatureHistogram other)
    {
        ArgumentNullException.ThrowIfNull(other);
        if (!Binning.Equals(other.Binning))
        {
            throw new ArgumentException("Histograms over different bins cannot be merged.", nameof(other));
        }

        for (var i = 0; i < _counts.Length; i++)
        {
            _counts[i] += other._counts[i];
        }

        Total += other.Total;
        Missing += other.Missing;
        Moments = Moments.Merge(other.Moments);
    }

    /// <summary>Each bin's share of the counted values.</summary>
    public double[] Shares() => Total == 0 ? new double[_counts.Length] : [.. _counts.Select(c => (double)c / Total)];
}
