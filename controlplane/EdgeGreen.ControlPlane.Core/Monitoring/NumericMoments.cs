namespace EdgeGreen.ControlPlane.Core.Monitoring;

/// <summary>
/// Exact count, sum, sum of squares, minimum and maximum of the values a histogram saw, kept beside
/// the bins because the mean and the spread must not suffer from the binning, and because they add up
/// when windows are merged.
/// </summary>
public readonly record struct NumericMoments(long Count, double Sum, double SumOfSquares, double Min, double Max)
{
    public static NumericMoments Empty { get; } = new(0, 0, 0, double.PositiveInfinity, double.NegativeInfinity);

    public double Mean => Count == 0 ? double.NaN : Sum / Count;

    /// <summary>The population variance (divided by the count), as <c>np.std</c> computes it by default.</summary>
    public double PopulationVariance => Count == 0 ? double.NaN : Math.Max(0, (SumOfSquares / Count) - (Mean * Mean));

    public NumericMoments Add(double value) =>
        new(Count + 1, Sum + value, SumOfSquares + (value * value), Math.Min(Min, value), Math.Max(Max, value));

    public NumericMoments Merge(NumericMoments other) =>
        new(Count + other.Count, Sum + other.Sum, SumOfSquares + other.SumOfSquares, Math.Min(Min, other.Min), Math.Max(Max, other.Max));
}
