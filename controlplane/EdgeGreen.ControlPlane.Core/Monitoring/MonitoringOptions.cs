namespace EdgeGreen.ControlPlane.Core.Monitoring;

/// <summary>How long monitoring data is kept (<c>EdgeGreen:Monitoring</c>).</summary>
public sealed class MonitoringOptions
{
    public const string SectionName = "EdgeGreen:Monitoring";

    /// <summary>Hourly sums of served traffic (what drift and volumes are computed from).</summary>
    public TimeSpan HourRetention { get; set; } = TimeSpan.FromDays(90);

    /// <summary>Logged predictions (joined to labels sent later), sampled raw requests, and the ids of summaries seen.</summary>
    public TimeSpan DetailRetention { get; set; } = TimeSpan.FromDays(7);

    /// <summary>How often the leader applies retention.</summary>
    public TimeSpan RetentionInterval { get; set; } = TimeSpan.FromHours(1);
}
