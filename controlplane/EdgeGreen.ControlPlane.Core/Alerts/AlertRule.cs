using System.Text.Json.Serialization;

namespace EdgeGreen.ControlPlane.Core.Alerts;

/// <summary>
/// A condition watched on the leader: it must hold for <see cref="For"/> before its alert fires, and
/// be false for <see cref="ResolveDelay"/> before a firing alert resolves. <c>Severity</c> is critical,
/// error, warning or info, as PagerDuty and Alertmanager's <c>severity</c> label take it.
/// </summary>
public sealed record AlertRule(
    string Name,
    AlertCondition Condition,
    TimeSpan For,
    TimeSpan? ResolveAfter,
    string Severity,
    IReadOnlyList<AlertTarget> Notify,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt)
{
    /// <summary>How long the condition must be false before a firing alert resolves: <see cref="ResolveAfter"/>, else <see cref="For"/>.</summary>
    [JsonIgnore]
    public TimeSpan ResolveDelay => ResolveAfter ?? For;
}

/// <summary>Exactly one of the conditions is set.</summary>
public sealed record AlertCondition(
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] DriftCondition? Drift = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] ErrorRateCondition? ErrorRate = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] P99LatencyCondition? P99Latency = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] EnergyCondition? Energy = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] CarbonCondition? Carbon = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] AgentOfflineCondition? AgentOffline = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] GridIntensityCondition? GridIntensity = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] PerformanceCondition? Performance = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] OutboxDropsCondition? OutboxDrops = null)
{
    /// <summary>The condition's name as the API writes it (<c>drift</c>, <c>errorRate</c>, …).</summary>
    [JsonIgnore]
    public string Kind => this switch
    {
        { Drift: not null } => "drift",
        { ErrorRate: not null } => "errorRate",
        { P99Latency: not null } => "p99Latency",
        { Energy: not null } => "energy",
        { Carbon: not null } => "carbon",
        { AgentOffline: not null } => "agentOffline",
        { Performance: not null } => "performance",
        { OutboxDrops: not null } => "outboxDrops",
        _ => "gridIntensity",
    };
}

/// <summary>
/// The deployment's drift over a window: at least <c>Threshold</c> of its features (a share), or any
/// one feature when null; with <c>Prediction</c>, the drift of the model's prediction instead.
/// </summary>
public sealed record DriftCondition(string Deployment, string Window, double? Threshold,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] bool Prediction = false);

/// <summary>
/// The deployment's current version's performance over a window (as <c>GET .../performance</c> computes
/// it): a metric measured from feedback below <c>Below</c> (accuracy, AUC) or above <c>Above</c> (RMSE);
/// for a binary classifier without labels, the confidence-based estimate when <c>Estimated</c> allows it.
/// </summary>
public sealed record PerformanceCondition(string Deployment, string Window, string Metric, double? Below, double? Above, bool Estimated = true)
{
    /// <summary>The metrics a condition may watch: higher is better for all but <c>rmse</c>.</summary>
    public static IReadOnlyList<string> Metrics { get; } = ["accuracy", "auc", "rmse"];
}

/// <summary>
/// Readings an agent's outbox dropped (it was full) since the previous evaluation, from the counter its
/// heartbeat reports: more than <c>Above</c>; with <c>Agent</c> null, every agent, one alert each.
/// </summary>
public sealed record OutboxDropsCondition(string? Agent, long Above = 0);

/// <summary>Failed requests over all requests the deployment answered since the previous evaluation.</summary>
public sealed record ErrorRateCondition(string Deployment, double Above);

/// <summary>The highest p99 latency an online agent serving the deployment reports.</summary>
public sealed record P99LatencyCondition(string Deployment, double AboveMs);

/// <summary>The deployment's serving energy since the previous evaluation, as a rate per day.</summary>
public sealed record EnergyCondition(string Deployment, double PerDayJoulesAbove);

/// <summary>A job or pipeline run (<c>Scope</c>: <c>job</c> or <c>pipelineRun</c>) that finished since the previous evaluation above a carbon or energy budget.</summary>
public sealed record CarbonCondition(string Scope, double? AboveGrams, double? AboveJoules);

/// <summary>One agent not heard from for <c>EdgeGreen:Agents:OfflineAfter</c>; with <c>Agent</c> null, every agent, one alert each.</summary>
public sealed record AgentOfflineCondition(string? Agent);

/// <summary>The zone's current grid intensity.</summary>
public sealed record GridIntensityCondition(string Zone, double AboveGramsPerKwh);

/// <summary>Where an alert's changes go; exactly one is set. Secrets are encrypted above the store, as webhook secrets are.</summary>
public sealed record AlertTarget(
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] WebhookTarget? Webhook = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] SlackTarget? Slack = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] PagerDutyTarget? PagerDuty = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] MqttTarget? Mqtt = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] AlertmanagerTarget? Alertmanager = null)
{
    /// <summary>The channel's name, as the API and the metrics write it.</summary>
    [JsonIgnore]
    public string Kind => this switch
    {
        { Webhook: not null } => "webhook",
        { Slack: not null } => "slack",
        { PagerDuty: not null } => "pagerduty",
        { Mqtt: not null } => "mqtt",
        _ => "alertmanager",
    };
}

/// <summary>A JSON POST signed as webhook deliveries are (<c>X-EdgeGreen-Signature</c>).</summary>
public sealed record WebhookTarget(string Url, [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string Secret);

/// <summary>A Slack incoming webhook; its URL carries Slack's token, so it is kept as a secret.</summary>
public sealed record SlackTarget(string Url);

/// <summary>PagerDuty Events API v2; <paramref name="Url"/> null for PagerDuty's own endpoint.</summary>
public sealed record PagerDutyTarget([property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string RoutingKey, string? Url);

/// <summary>A topic under the MQTT feed's prefix.</summary>
public sealed record MqttTarget(string Topic);

/// <summary>An Alertmanager, by its base URL: alerts go to <c>{url}/api/v2/alerts</c>.</summary>
public sealed record AlertmanagerTarget(string Url);
