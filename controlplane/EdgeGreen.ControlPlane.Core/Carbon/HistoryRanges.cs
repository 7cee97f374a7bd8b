namespace EdgeGreen.ControlPlane.Core.Carbon;

/// <summary>Time arithmetic shared by the intensity sources.</summary>
public static class HistoryRanges
{
    private static readonly TimeSpan Hour = TimeSpan.FromHours(1);

    /// <summary>The start of the UTC hour containing <paramref name="instant"/>.</summary>
    public static DateTimeOffset FloorToHour(DateTimeOffset instant) => new(instant.UtcTicks - (instant.UtcTicks % Hour.Ticks), TimeSpan.Zero);

    /// <summary>[from, end) cut into consecutive pieces of at most <paramref name="maxRange"/>, for APIs that limit a request's range.</summary>
    public static IEnumerable<(DateTimeOffset Start, DateTimeOffset End)> Chunks(DateTimeOffset from, DateTimeOffset end, TimeSpan maxRange)
    {
        for (var start = from; start < end; start += maxRange)
        {
            yield return (start, start + maxRange < end ? start + maxRange : end);
        }
    }

    /// <summary>The points overlapping [from, end), each time once, in order (chunk edges may repeat a point).</summary>
    public static IReadOnlyList<IntensityPoint> Within(IEnumerable<IntensityPoint> points, DateTimeOffset from, DateTimeOffset end) =>
        [.. points.Where(p => p.Time + p.Duration > from && p.Time < end).DistinctBy(p => p.Time).OrderBy(p => p.Time)];
}
