namespace EdgeGreen.ControlPlane.Dashboard;

public sealed class DashboardOptions
{
    public const string SectionName = "EdgeGreen:Dashboard";

    /// <summary>Whether the web dashboard is served at <c>/</c> (default on); off leaves the REST API, metrics and feed as they are.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>How long a signed-in session lasts without use (sliding; default 8 hours, 1 minute to 30 days).</summary>
    public TimeSpan SessionLifetime { get; set; } = TimeSpan.FromHours(8);
}
