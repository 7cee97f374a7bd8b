namespace EdgeGreen.ControlPlane.Core.Alerts;

/// <summary>
/// An alert as notifications carry it: the <c>data</c> of a webhook delivery and the payload of an
/// MQTT message. <paramref name="EndsAt"/> is when it resolved (null while firing).
/// </summary>
public sealed record AlertMessage(
    string Rule,
    string State,
    string Condition,
    string Severity,
    IReadOnlyDictionary<string, string> Labels,
    string Summary,
    double? Value,
    DateTimeOffset? StartsAt,
    DateTimeOffset? EndsAt)
{
    public static AlertMessage From(AlertRule rule, AlertRecord alert) => new(rule.Name, alert.State == AlertState.Firing ? "firing" : "resolved",
        rule.Condition.Kind, rule.Severity, alert.Labels, alert.Summary, alert.Value, alert.FiringSince, alert.State == AlertState.Firing ? null : alert.ResolvedAt);
}

/// <summary>Publishes alerts on the MQTT feed, under its topic prefix.</summary>
public interface IAlertFeed
{
    /// <summary>False when the feed is off: nothing is published.</summary>
    bool Publish(string topic, AlertMessage message);
}
