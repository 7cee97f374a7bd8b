namespace EdgeGreen.ControlPlane.Core.Carbon;

/// <summary>
/// Time-weighted averages over contiguous intensity points, with the Carbon Aware SDK's
/// semantics (its <c>EmissionsDataExtensions.RollingAverage</c> and <c>AverageOverPeriod</c>), so
/// that windows and optima agree with what its clients expect.
/// </summary>
public static class IntensityWindows
{
    /// <summary>
    /// The average over [start, end), each point weighted by the part of it inside the period.
    /// </summary>
    /// <exception cref="ArgumentException">The points do not cover the whole period.</exception>
    public static double AverageOverPeriod(IReadOnlyList<IntensityPoint> points, DateTimeOffset start, DateTimeOffset end)
    {
        if (end <= start)
        {
            throw new ArgumentException("The period must end after it starts.", nameof(end));
        }

        if (points.Count == 0 || points[0].Time > start || points[^1].Time + points[^1].Duration < end)
        {
            throw new ArgumentException($"Period out of range: the data does not cover {start:O} through {end:O}.", nameof(points));
        }

        var total = end - start;
        double average = 0;
        foreach (var point in points)
        {
            var pointEnd = point.Time + point.Duration;
            if (pointEnd > start && point.Time < end)
            {
                var overlap = (pointEnd < end ? pointEnd : end) - (point.Time > start ? point.Time : start);
                average += point.IntensityGramsPerKwh * (overlap / total);
            }
        }

        return average;
    }

    /// <summary>
    /// Averages of <paramref name="window"/> starting at <paramref name="dataStartAt"/> (or the
    /// first point) and sliding by one point's duration, for as long as the data covers the window
    /// and the window ends by <paramref name="dataEndAt"/>; as in the SDK, the first window is not
    /// held to <paramref name="dataEndAt"/>.
    /// </summary>
    public static IReadOnlyList<IntensityPoint> RollingAverage(IReadOnlyList<IntensityPoint> points, TimeSpan window, DateTimeOffset? dataStartAt, DateTimeOffset? dataEndAt)
    {
        if (points.Count == 0)
        {
            return [];
        }

        var tick = points[0].Duration;
        var dataEnd = points[^1].Time + points[^1].Duration;
        var start = dataStartAt is { } requested && requested > points[0].Time ? requested : points[0].Time;
        var averages = new List<IntensityPoint>();
        for (var windowStart = start; windowStart + window <= dataEnd; windowStart += tick)
        {
            if (averages.Count > 0 && dataEndAt is { } limit && windowStart + window > limit)
            {
                break;
            }

            averages.Add(new IntensityPoint(windowStart, window, AverageOverPeriod(points, windowStart, windowStart + window)));
        }

        return averages;
    }

    /// <summary>Every point with the lowest intensity (ties are all optimal).</summary>
    public static IReadOnlyList<IntensityPoint> Optimal(IReadOnlyList<IntensityPoint> points)
    {
        if (points.Count == 0)
        {
            return [];
        }

        var lowest = points.Min(p => p.IntensityGramsPerKwh);
        return [.. points.Where(p => p.IntensityGramsPerKwh == lowest)];
    }
}
