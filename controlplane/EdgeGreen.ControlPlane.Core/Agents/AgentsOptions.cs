namespace EdgeGreen.ControlPlane.Core.Agents;

public sealed class AgentsOptions
{
    public const string SectionName = "EdgeGreen:Agents";

    /// <summary>An agent not heard from (heartbeat or telemetry) for this long is shown offline.</summary>
    public TimeSpan OfflineAfter { get; set; } = TimeSpan.FromSeconds(30);
}
