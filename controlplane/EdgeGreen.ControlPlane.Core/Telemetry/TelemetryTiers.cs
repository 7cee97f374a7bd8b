using EdgeGreen.ControlPlane.Core.Storage;

namespace EdgeGreen.ControlPlane.Core.Telemetry;

public static class TelemetryTiers
{
    public static readonly TimeSpan Minute = TimeSpan.FromMinutes(1);
    public static readonly TimeSpan Hour = TimeSpan.FromHours(1);

    /// <summary>The width of a tier's buckets (zero for raw readings).</summary>
    public static TimeSpan BucketSize(this TelemetryTier tier) => tier switch
    {
        TelemetryTier.Minute => Minute,
        TelemetryTier.Hour => Hour,
        _ => TimeSpan.Zero,
    };

    /// <summary>
    /// The coarsest tier whose buckets tile steps of <paramref name="step"/> exactly: buckets and
    /// steps are both aligned to the Unix epoch, so a step that is a whole number of hours is
    /// answered from hourly rollups, a whole number of minutes from minute rollups, anything else
    /// from raw readings. The answer is the same as from raw readings, at a fraction of the rows.
    /// </summary>
    public static TelemetryTier For(TimeSpan step) =>
        step.Ticks % Hour.Ticks == 0 ? TelemetryTier.Hour
        : step.Ticks % Minute.Ticks == 0 ? TelemetryTier.Minute
        : TelemetryTier.Raw;

    /// <summary>The index of the bucket holding <paramref name="time"/> (buckets of <paramref name="size"/> since the Unix epoch).</summary>
    public static long BucketIndex(DateTimeOffset time, TimeSpan size) => FloorDiv((time - DateTimeOffset.UnixEpoch).Ticks, size.Ticks);

    public static DateTimeOffset BucketStart(long index, TimeSpan size) => DateTimeOffset.UnixEpoch + (size * index);

    private static long FloorDiv(long a, long b) => (a / b) - (a % b < 0 ? 1 : 0);
}
