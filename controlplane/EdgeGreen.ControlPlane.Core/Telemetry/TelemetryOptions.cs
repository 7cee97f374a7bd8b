namespace EdgeGreen.ControlPlane.Core.Telemetry;

public sealed class TelemetryOptions
{
    public const string SectionName = "EdgeGreen:Telemetry";

    /// <summary>Raw readings older than this are deleted (default 7 days); null keeps them.</summary>
    public TimeSpan? RawRetention { get; set; } = TimeSpan.FromDays(7);

    /// <summary>Minute rollups older than this are deleted (default 90 days); null keeps them.</summary>
    public TimeSpan? MinuteRetention { get; set; } = TimeSpan.FromDays(90);

    /// <summary>Hourly rollups older than this are deleted; null (the default) keeps them.</summary>
    public TimeSpan? HourRetention { get; set; }

    /// <summary>How often retention runs.</summary>
    public TimeSpan RetentionInterval { get; set; } = TimeSpan.FromHours(1);

    /// <summary>
    /// The most agents' batches one transaction (group commit) takes; null (the default) takes
    /// the store's own figure (LiteDB 256, PostgreSQL 4096).
    /// </summary>
    public int? MaxBatchesPerCommit { get; set; }

    /// <summary>
    /// How many group commits run at once, each for its own share of the agents; null (the
    /// default) takes the store's own figure (LiteDB 1, PostgreSQL 4).
    /// </summary>
    public int? ConcurrentCommits { get; set; }

    /// <summary>Batches waiting for a commit beyond this make uploads wait (back-pressure), never drop.</summary>
    public int QueueCapacity { get; set; } = 20_000;
}
