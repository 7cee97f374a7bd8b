namespace EdgeGreen.ControlPlane.Core.Monitoring;

/// <summary>
/// What one arm of an experiment served: requests, the sum and sum of squares of the metric over them
/// (for a proportion, the metric is 0 or 1 and both sums are the successes), and the carbon they cost.
/// Summaries add up, so agents send windows and the control plane sums them.
/// </summary>
public readonly record struct ArmSummary(long Count, double Sum, double SumOfSquares, double CarbonGrams = 0)
{
    public static ArmSummary Empty { get; } = new(0, 0, 0);

    public double Mean => Count == 0 ? double.NaN : Sum / Count;

    /// <summary>Grams CO₂e per 1,000 requests, the functional unit EdgeGreen reports inference carbon in.</summary>
    public double CarbonGramsPerThousand => Count == 0 ? double.NaN : CarbonGrams * 1000 / Count;

    public static ArmSummary Of(IEnumerable<double> values, double carbonGrams = 0)
    {
        ArgumentNullException.ThrowIfNull(values);
        var summary = Empty;
        foreach (var value in values)
        {
            summary = summary.Add(value);
        }

        return summary with { CarbonGrams = carbonGrams };
    }

    public ArmSummary Add(double value) => new(Count + 1, Sum + value, SumOfSquares + (value * value), CarbonGrams);

    public ArmSummary Merge(ArmSummary other) =>
        new(Count + other.Count, Sum + other.Sum, SumOfSquares + other.SumOfSquares, CarbonGrams + other.CarbonGrams);
}
