namespace EdgeGreen.ControlPlane.Core.Alerts;

/// <summary>Alert evaluation (<c>EdgeGreen:Alerts</c>).</summary>
public sealed class AlertsOptions
{
    public const string SectionName = "EdgeGreen:Alerts";

    /// <summary>How often the leader evaluates every rule.</summary>
    public TimeSpan EvaluationInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>The most rules that may exist; one more is refused.</summary>
    public int MaxRules { get; set; } = 200;

    /// <summary>How long an alert that is resolved or inactive, and no longer observed (its agent was removed), is kept with its history.</summary>
    public TimeSpan ResolvedRetention { get; set; } = TimeSpan.FromDays(7);
}
