using EdgeGreen.ControlPlane.Core.Alerts;
using EdgeGreen.Shared;

namespace EdgeGreen.ControlPlane.Dashboard;

/// <summary>Where a rule notifies: the channel and a name that is no secret (a host, a topic).</summary>
public sealed record NotifyTarget(string Kind, string Where);

/// <summary>A rule as the page shows it: built here from the stored rule, so no secret ever reaches the page.</summary>
public sealed record RuleRow(string Name, string Kind, string Condition, string For, string? ResolveAfter, string Severity, IReadOnlyList<NotifyTarget> Notify);

/// <summary>An alert with the instant its current state began.</summary>
public sealed record AlertRow(AlertRecord Alert, DateTimeOffset? Since);

public sealed record AlertsView(DateTimeOffset At, IReadOnlyList<AlertRow> Alerts, int Inactive, IReadOnlyList<RuleRow> Rules);

public sealed class AlertsData(IAlertStore store, TimeProvider time)
{
    public async Task<AlertsView> LoadAsync(CancellationToken cancellationToken)
    {
        var alerts = await store.ListAlertsAsync(cancellationToken);
        var shown = alerts
            .Where(a => a.State != AlertState.Inactive)
            .Select(a => new AlertRow(a, a.State switch
            {
                AlertState.Firing => a.FiringSince,
                AlertState.Pending => a.ActiveSince,
                _ => a.ResolvedAt,
            }))
            .OrderBy(a => a.Alert.State switch { AlertState.Firing => 0, AlertState.Pending => 1, _ => 2 })
            .ThenByDescending(a => a.Since)
            .ToList();
        var rules = (await store.ListRulesAsync(cancellationToken)).Select(r => new RuleRow(r.Name, r.Condition.Kind, Describe(r.Condition),
            Durations.Format(r.For), r.ResolveAfter is { } after ? Durations.Format(after) : null, r.Severity, [.. r.Notify.Select(Where)])).ToList();
        return new AlertsView(time.GetUtcNow(), shown, alerts.Count(a => a.State == AlertState.Inactive), rules);
    }

    /// <summary>The condition in words, with its thresholds.</summary>
    public static string Describe(AlertCondition condition) => condition switch
    {
        { Drift: { } c } => $"drift of {c.Deployment} over {c.Window}: " + (c.Prediction ? "its prediction"
            : c.Threshold is { } t ? $"at least {Units.Percent(t)} of features" : "any feature"),
        { Performance: { } c } => $"{c.Metric} of {c.Deployment} over {c.Window} " + (c.Below is { } below ? $"below {Units.Significant(below)}" : $"above {Units.Significant(c.Above ?? 0)}")
            + (c.Estimated && c.Metric != "rmse" ? " (estimated without labels)" : ""),
        { ErrorRate: { } c } => $"error rate of {c.Deployment} above {Units.Percent(c.Above)}",
        { P99Latency: { } c } => $"p99 latency of {c.Deployment} above {Units.Significant(c.AboveMs)} ms",
        { Energy: { } c } => $"serving energy of {c.Deployment} above {Units.Energy(c.PerDayJoulesAbove)} per day",
        { Carbon: { } c } => $"a finished {(c.Scope == "job" ? "job" : "pipeline run")} above " + string.Join(" or ",
            new[] { c.AboveGrams is { } g ? Units.Carbon(g) : null, c.AboveJoules is { } j ? Units.Energy(j) : null }.OfType<string>()),
        { AgentOffline: { } c } => c.Agent is null ? "any agent offline" : $"agent {c.Agent} offline",
        { OutboxDrops: { } c } => (c.Agent is null ? "any agent's" : $"agent {c.Agent}'s") + $" outbox dropping more than {c.Above} readings",
        { GridIntensity: { } c } => $"grid intensity of {c.Zone} above {Units.Intensity(c.AboveGramsPerKwh)}",
        _ => condition.Kind,
    };

    /// <summary>
    /// The host of a URL target and the topic of an MQTT one. A URL's path and query may carry a
    /// token (Slack's does), and webhook secrets and PagerDuty routing keys are never shown at all.
    /// </summary>
    public static NotifyTarget Where(AlertTarget target) => new(target.Kind, target switch
    {
        { Webhook: { } w } => Host(w.Url),
        { Slack: { } s } => Host(s.Url),
        { PagerDuty: { } p } => p.Url is null ? "PagerDuty Events API" : Host(p.Url),
        { Mqtt: { } m } => $"topic {m.Topic}",
        { Alertmanager: { } a } => Host(a.Url),
        _ => "",
    });

    private static string Host(string url) => Uri.TryCreate(url, UriKind.Absolute, out var parsed) ? parsed.Authority : "(no valid URL)";
}
