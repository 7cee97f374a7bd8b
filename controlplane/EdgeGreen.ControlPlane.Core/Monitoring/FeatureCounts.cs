namespace EdgeGreen.ControlPlane.Core.Monitoring;

/// <summary>
/// One feature's served values over a window, as an agent binned them against the monitoring
/// profile: a count per bin, the missing values (NaN) apart, and moments of the rest.
/// </summary>
public sealed record FeatureCounts(string Name, IReadOnlyList<long> Counts, long Missing, long Count, double Sum, double SumOfSquares, double Min, double Max)
{
    /// <summary>Both windows together; the bins must be the same (the same profile binned both).</summary>
    public FeatureCounts Merge(FeatureCounts other)
    {
        ArgumentNullException.ThrowIfNull(other);
        if (other.Name != Name || other.Counts.Count != Counts.Count)
        {
            throw new ArgumentException($"Feature '{other.Name}' with {other.Counts.Count} bins cannot be merged into '{Name}' with {Counts.Count}.", nameof(other));
        }

        return new FeatureCounts(Name, [.. Counts.Zip(other.Counts, (a, b) => a + b)], Missing + other.Missing, Count + other.Count, Sum + other.Sum,
            SumOfSquares + other.SumOfSquares, Count == 0 ? other.Min : other.Count == 0 ? Min : Math.Min(Min, other.Min),
            Count == 0 ? other.Max : other.Count == 0 ? Max : Math.Max(Max, other.Max));
    }
}
