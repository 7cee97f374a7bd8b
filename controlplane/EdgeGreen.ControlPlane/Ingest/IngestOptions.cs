namespace EdgeGreen.ControlPlane.Ingest;

public sealed class IngestOptions
{
    public const string SectionName = "EdgeGreen:Ingest";

    /// <summary>Largest gRPC message accepted; larger ones fail with ResourceExhausted.</summary>
    public int MaxMessageBytes { get; set; } = 4 * 1024 * 1024;

    public int MaxReadingsPerBatch { get; set; } = 10_000;

    /// <summary>How far in the future a reading may be stamped (agent clock skew).</summary>
    public TimeSpan MaxClockSkew { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Readings older than this are refused (an outbox that old is not a real backlog).</summary>
    public TimeSpan MaxReadingAge { get; set; } = TimeSpan.FromDays(365);

    public TimeSpan MaxInterval { get; set; } = TimeSpan.FromDays(1);

    /// <summary>Average power above this over one reading is impossible for one node.</summary>
    public double MaxPowerWatts { get; set; } = 100_000;
}
