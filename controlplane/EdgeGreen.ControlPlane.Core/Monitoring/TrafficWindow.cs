namespace EdgeGreen.ControlPlane.Core.Monitoring;

/// <summary>
/// A deployed version's traffic over a window: one agent's summary, or the sum of every agent's
/// summaries within an hour (how the store keeps them, so that a week is 168 rows per version).
/// </summary>
public sealed record TrafficWindow(
    string Deployment,
    string Model,
    int Version,
    DateTimeOffset Start,
    TimeSpan Duration,
    long Requests,
    long FailedRequests,
    long Inferences,
    double EnergyJoules,
    IReadOnlyList<FeatureCounts> Inputs,
    IReadOnlyList<FeatureCounts> Outputs)
{
    /// <summary>The hour a window starting at <paramref name="start"/> falls in.</summary>
    public static DateTimeOffset HourOf(DateTimeOffset start) =>
        new(start.UtcTicks - (start.UtcTicks % TimeSpan.TicksPerHour), TimeSpan.Zero);

    /// <summary>
    /// This window with <paramref name="other"/> added, as one window over the span of both.
    /// Features are matched by name; one only one side has is kept as it is.
    /// </summary>
    public TrafficWindow Merge(TrafficWindow other)
    {
        ArgumentNullException.ThrowIfNull(other);
        var start = Start <= other.Start ? Start : other.Start;
        var end = Start + Duration >= other.Start + other.Duration ? Start + Duration : other.Start + other.Duration;
        return this with
        {
            Start = start,
            Duration = end - start,
            Requests = Requests + other.Requests,
            FailedRequests = FailedRequests + other.FailedRequests,
            Inferences = Inferences + other.Inferences,
            EnergyJoules = EnergyJoules + other.EnergyJoules,
            Inputs = MergeFeatures(Inputs, other.Inputs),
            Outputs = MergeFeatures(Outputs, other.Outputs),
        };
    }

    private static List<FeatureCounts> MergeFeatures(IReadOnlyList<FeatureCounts> mine, IReadOnlyList<FeatureCounts> theirs)
    {
        var merged = mine.ToList();
        foreach (var feature in theirs)
        {
            var index = merged.FindIndex(f => f.Name == feature.Name);
            if (index < 0)
            {
                merged.Add(feature);
            }
            else
            {
                merged[index] = merged[index].Merge(feature);
            }
        }

        return merged;
    }
}
