using System.Globalization;
using System.Security.Cryptography;
using EdgeGreen.ControlPlane.Core.Alerts;
using EdgeGreen.ControlPlane.Core.Monitoring;
using EdgeGreen.ControlPlane.Core.Outbound;
using EdgeGreen.ControlPlane.Feed;
using EdgeGreen.Shared;
using EdgeGreen.Shared.Jobs;

namespace EdgeGreen.ControlPlane.Alerts;

/// <summary>A rule as a caller writes it; <c>for</c> and <c>resolveAfter</c> are ISO 8601 durations (<c>PT5M</c>).</summary>
public sealed record AlertRuleRequest(string? Name, AlertConditionRequest? Condition, string? For, string? ResolveAfter, string? Severity,
    IReadOnlyList<AlertTarget?>? Notify);

/// <summary>Exactly one condition.</summary>
public sealed record AlertConditionRequest(
    DriftRequest? Drift, ErrorRateRequest? ErrorRate, P99LatencyRequest? P99Latency, EnergyRequest? Energy, CarbonRequest? Carbon,
    AgentOfflineRequest? AgentOffline, GridIntensityRequest? GridIntensity, PerformanceRequest? Performance = null, OutboxDropsRequest? OutboxDrops = null);

public sealed record DriftRequest(string? Deployment, string? Window, double? Threshold, bool? Prediction = null);

public sealed record PerformanceRequest(string? Deployment, string? Window, string? Metric, double? Below, double? Above, bool? Estimated);

public sealed record OutboxDropsRequest(string? Agent, long? Above);

public sealed record ErrorRateRequest(string? Deployment, double? Above);

public sealed record P99LatencyRequest(string? Deployment, double? AboveMs);

public sealed record EnergyRequest(string? Deployment, double? PerDayJoulesAbove);

public sealed record CarbonRequest(string? Scope, double? AboveGrams, double? AboveJoules);

public sealed record AgentOfflineRequest(string? Agent);

public sealed record GridIntensityRequest(string? Zone, double? AboveGramsPerKwh);

/// <summary>
/// A rule as the API shows it, without its secrets: only a webhook secret the control plane made for
/// the request that created or replaced the rule is shown, in the answer to that request.
/// </summary>
public sealed record AlertRuleResponse(string Name, AlertCondition Condition, string For, string? ResolveAfter, string Severity, IReadOnlyList<AlertTarget> Notify,
    DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt)
{
    public static AlertRuleResponse From(AlertRule rule, IReadOnlyCollection<int>? madeSecrets = null) => new(rule.Name, rule.Condition, Durations.Format(rule.For),
        rule.ResolveAfter is { } after ? Durations.Format(after) : null, rule.Severity,
        [.. rule.Notify.Select((t, i) => madeSecrets?.Contains(i) == true ? t : Redact(t))], rule.CreatedAt, rule.UpdatedAt);

    public const string Redacted = "/…";

    /// <summary>A Slack webhook URL's path is Slack's token: the host alone says where it goes.</summary>
    public static string RedactUrl(string url) => (Uri.TryCreate(url, UriKind.Absolute, out var parsed) ? $"{parsed.Scheme}://{parsed.Authority}" : "") + Redacted;

    private static AlertTarget Redact(AlertTarget target) => target with
    {
        Webhook = target.Webhook is { } webhook ? webhook with { Secret = null! } : null,
        Slack = target.Slack is { } slack ? slack with { Url = RedactUrl(slack.Url) } : null,
        PagerDuty = target.PagerDuty is { } pagerDuty ? pagerDuty with { RoutingKey = null! } : null,
    };
}

/// <summary>
/// Turns a request into a rule, or into errors keyed by the field at fault (<c>condition.drift.window</c>,
/// <c>notify[1].slack.url</c>); every size a caller controls is bounded.
/// </summary>
public sealed class AlertRuleValidator(OutboundGuard guard, CarbonIntensity carbon)
{
    public const int MaxTargets = 10;
    public const int MaxTopicLength = 256;
    public const int MaxSecretLength = 256;
    public const int MinSecretLength = 16;
    public const int MaxRoutingKeyLength = 128;
    public const int MaxIdLength = 128;
    public static readonly TimeSpan MaxDuration = TimeSpan.FromDays(7);
    public static readonly IReadOnlyList<string> Severities = ["critical", "error", "warning", "info"];

    /// <summary>
    /// The rule, or the errors. A webhook target without a secret keeps the secret of
    /// <paramref name="existing"/>'s webhook target with the same URL, so that a rule read and put back
    /// goes on signing as before; else a secret is made, and its target's index is in <c>MadeSecrets</c>.
    /// </summary>
    public async Task<(AlertRule? Rule, Dictionary<string, string[]> Errors, IReadOnlyCollection<int> MadeSecrets)> ValidateAsync(string? name, AlertRuleRequest request,
        AlertRule? existing, DateTimeOffset now, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var errors = new Dictionary<string, string[]>();
        if (!ResourceNames.IsValid(name))
        {
            errors["name"] = [ResourceNames.Rule];
        }

        var @for = Duration(request.For ?? "PT0S", "for", errors);
        var resolveAfter = request.ResolveAfter is null ? null : Duration(request.ResolveAfter, "resolveAfter", errors);
        var severity = request.Severity ?? "warning";
        if (!Severities.Contains(severity, StringComparer.Ordinal))
        {
            errors["severity"] = [$"severity must be one of {string.Join(", ", Severities)}."];
        }

        var condition = await ConditionAsync(request.Condition, errors, cancellationToken);
        if (condition?.Carbon is not null && @for > TimeSpan.Zero)
        {
            errors["for"] = ["for must be PT0S for a carbon condition: a finished job or run is seen over its budget once; resolveAfter says how long the alert stays."];
        }

        var made = new List<int>();
        var notify = Targets(request.Notify, existing?.Notify ?? [], made, errors);
        return errors.Count > 0 || condition is null || @for is null
            ? (null, errors, [])
            : (new AlertRule(name!, condition, @for.Value, resolveAfter, severity, notify, existing?.CreatedAt ?? now, now), errors, made);
    }

    private async Task<AlertCondition?> ConditionAsync(AlertConditionRequest? request, Dictionary<string, string[]> errors, CancellationToken cancellationToken)
    {
        const string Kinds = "drift, performance, errorRate, p99Latency, energy, carbon, agentOffline, outboxDrops or gridIntensity";
        object?[] set = request is null ? [] : [request.Drift, request.Performance, request.ErrorRate, request.P99Latency, request.Energy, request.Carbon,
            request.AgentOffline, request.OutboxDrops, request.GridIntensity];
        if (set.Count(c => c is not null) != 1)
        {
            errors["condition"] = [$"condition must have exactly one of {Kinds}."];
            return null;
        }

        var count = errors.Count;
        AlertCondition condition = request! switch
        {
            { Drift: { } c } => new AlertCondition(Drift: new DriftCondition(Deployment(c.Deployment, "drift", errors),
                Check(c.Window, w => w is not null && DriftReports.Windows.ContainsKey(w), "condition.drift.window", $"window must be one of {string.Join(", ", DriftReports.Windows.Keys)}.", errors)!,
                c.Threshold is { } t && !(t > 0 && t <= 1) ? Fail<double?>("condition.drift.threshold", "threshold is the share of features drifted, above 0 and at most 1.", errors)
                    : c.Threshold is not null && c.Prediction == true ? Fail<double?>("condition.drift.threshold", "threshold is a share of features: leave it out when prediction is true.", errors)
                    : c.Threshold,
                c.Prediction ?? false)),
            { Performance: { } c } => new AlertCondition(Performance: Performance(c, errors)),
            { ErrorRate: { } c } => new AlertCondition(ErrorRate: new ErrorRateCondition(Deployment(c.Deployment, "errorRate", errors),
                Number(c.Above, v => v is >= 0 and < 1, "condition.errorRate.above", "above is the share of failed requests, from 0 up to (not including) 1.", errors))),
            { P99Latency: { } c } => new AlertCondition(P99Latency: new P99LatencyCondition(Deployment(c.Deployment, "p99Latency", errors),
                Number(c.AboveMs, v => v > 0, "condition.p99Latency.aboveMs", "aboveMs must be a positive number of milliseconds.", errors))),
            { Energy: { } c } => new AlertCondition(Energy: new EnergyCondition(Deployment(c.Deployment, "energy", errors),
                Number(c.PerDayJoulesAbove, v => v >= 0, "condition.energy.perDayJoulesAbove", "perDayJoulesAbove must be a number of joules, 0 or more.", errors))),
            { Carbon: { } c } => new AlertCondition(Carbon: Carbon(c, errors)),
            { AgentOffline: { } c } => new AlertCondition(AgentOffline: new AgentOfflineCondition(c.Agent is null ? null
                : Check(c.Agent, a => a is { Length: > 0 and <= MaxIdLength } && !a.Any(char.IsControl), "condition.agentOffline.agent",
                    $"agent must be an agent's id (at most {MaxIdLength} characters), or absent for every agent.", errors))),
            { OutboxDrops: { } c } => new AlertCondition(OutboxDrops: new OutboxDropsCondition(c.Agent is null ? null
                    : Check(c.Agent, a => a is { Length: > 0 and <= MaxIdLength } && !a.Any(char.IsControl), "condition.outboxDrops.agent",
                        $"agent must be an agent's id (at most {MaxIdLength} characters), or absent for every agent.", errors),
                c.Above is null or >= 0 ? c.Above ?? 0 : Fail<long>("condition.outboxDrops.above", "above is a number of readings, 0 (the default: any drop) or more.", errors))),
            { GridIntensity: { } c } => new AlertCondition(GridIntensity: new GridIntensityCondition(
                await ZoneAsync(c.Zone, errors, cancellationToken),
                Number(c.AboveGramsPerKwh, v => v >= 0, "condition.gridIntensity.aboveGramsPerKwh", "aboveGramsPerKwh must be a number, 0 or more.", errors))),
            _ => throw new InvalidOperationException("unreachable: one condition is set"),
        };
        return errors.Count == count ? condition : null;
    }

    private static CarbonCondition Carbon(CarbonRequest c, Dictionary<string, string[]> errors)
    {
        var scope = Check(c.Scope, s => s is "job" or "pipelineRun", "condition.carbon.scope", "scope must be job or pipelineRun.", errors)!;
        if (c.AboveGrams is null && c.AboveJoules is null)
        {
            errors["condition.carbon"] = ["condition.carbon needs aboveGrams, aboveJoules or both."];
        }

        var grams = c.AboveGrams is null ? null : (double?)Number(c.AboveGrams, v => v >= 0, "condition.carbon.aboveGrams", "aboveGrams must be a number, 0 or more.", errors);
        var joules = c.AboveJoules is null ? null : (double?)Number(c.AboveJoules, v => v >= 0, "condition.carbon.aboveJoules", "aboveJoules must be a number, 0 or more.", errors);
        return new CarbonCondition(scope, grams, joules);
    }

    private static PerformanceCondition Performance(PerformanceRequest c, Dictionary<string, string[]> errors)
    {
        var window = Check(c.Window, w => w is not null && DriftReports.Windows.ContainsKey(w), "condition.performance.window",
            $"window must be one of {string.Join(", ", DriftReports.Windows.Keys)}.", errors)!;
        var metric = Check(c.Metric, m => m is not null && PerformanceCondition.Metrics.Contains(m, StringComparer.Ordinal), "condition.performance.metric",
            $"metric must be one of {string.Join(", ", PerformanceCondition.Metrics)}.", errors)!;
        if ((c.Below is null) == (c.Above is null))
        {
            errors["condition.performance"] = ["condition.performance needs exactly one of below (accuracy, auc) or above (rmse)."];
        }
        else if (metric is not null && (metric == "rmse") != (c.Above is not null))
        {
            errors["condition.performance"] = [metric == "rmse" ? "rmse is an error: alert when it is above a value (above)." : $"{metric} is better higher: alert when it is below a value (below)."];
        }

        var below = c.Below is null ? null : (double?)Number(c.Below, v => v >= 0 && (metric == "rmse" || v <= 1), "condition.performance.below", "below must be a number from 0 to 1.", errors);
        var above = c.Above is null ? null : (double?)Number(c.Above, v => v >= 0, "condition.performance.above", "above must be a number, 0 or more.", errors);
        return new PerformanceCondition(Deployment(c.Deployment, "performance", errors), window, metric!, below, above, c.Estimated ?? true);
    }

    private async Task<string> ZoneAsync(string? zone, Dictionary<string, string[]> errors, CancellationToken cancellationToken)
    {
        if (zone is not { Length: > 0 and <= MaxIdLength })
        {
            return Fail<string>("condition.gridIntensity.zone", "zone is required: a grid zone such as NO or DE (GET /api/v1/carbon/zones).", errors);
        }

        return (await carbon.GetZonesAsync(cancellationToken)).Contains(zone, StringComparer.Ordinal)
            ? zone
            : Fail<string>("condition.gridIntensity.zone", $"No carbon-intensity source knows zone '{zone}'.", errors);
    }

    private static string Deployment(string? deployment, string kind, Dictionary<string, string[]> errors) =>
        Check(deployment, d => ResourceNames.IsValid(d), $"condition.{kind}.deployment", "deployment must name a deployment: " + ResourceNames.Rule, errors)!;

    private List<AlertTarget> Targets(IReadOnlyList<AlertTarget?>? notify, IReadOnlyList<AlertTarget> existing, List<int> made, Dictionary<string, string[]> errors)
    {
        var targets = new List<AlertTarget>();
        if (notify is null)
        {
            return targets;
        }

        if (notify.Count > MaxTargets)
        {
            errors["notify"] = [$"notify may have at most {MaxTargets} targets."];
            return targets;
        }

        for (var i = 0; i < notify.Count; i++)
        {
            var at = $"notify[{i}]";
            var target = notify[i];
            object?[] set = target is null ? [] : [target.Webhook, target.Slack, target.PagerDuty, target.Mqtt, target.Alertmanager];
            if (set.Count(t => t is not null) != 1)
            {
                errors[at] = [$"{at} must have exactly one of webhook, slack, pagerduty, mqtt or alertmanager."];
                continue;
            }

            targets.Add(target! switch
            {
                { Webhook: { } w } => new AlertTarget(Webhook: new WebhookTarget(Url(w.Url, $"{at}.webhook.url", errors), w.Secret is null
                    ? Kept(existing, w.Url) ?? Made(made, i)
                    : Check(w.Secret, s => s is { Length: >= MinSecretLength and <= MaxSecretLength } && !s.Any(char.IsControl), $"{at}.webhook.secret",
                        $"secret must be {MinSecretLength} to {MaxSecretLength} characters, without control characters (absent: one is made and shown once).", errors)!)),
                { Slack: { } s } => new AlertTarget(Slack: new SlackTarget(KeptSlack(existing, s.Url) ?? Url(s.Url, $"{at}.slack.url", errors))),
                { PagerDuty: { } p } => new AlertTarget(PagerDuty: new PagerDutyTarget(
                    Check(p.RoutingKey, k => k is { Length: > 0 and <= MaxRoutingKeyLength } && k.All(c => c > ' ' && c < 127), $"{at}.pagerduty.routingKey",
                        $"routingKey is required: the integration key of a PagerDuty Events API v2 integration (at most {MaxRoutingKeyLength} characters).", errors)!,
                    p.Url is null ? null : Url(p.Url, $"{at}.pagerduty.url", errors))),
                { Mqtt: { } m } => new AlertTarget(Mqtt: new MqttTarget(Check(m.Topic, t => t is { Length: <= MaxTopicLength } && FeedTopics.IsValidPrefix(t), $"{at}.mqtt.topic",
                    $"topic must be topic levels without wildcards (at most {MaxTopicLength} characters), e.g. alerts/fleet; it is published under the feed's prefix.", errors)!)),
                _ => new AlertTarget(Alertmanager: new AlertmanagerTarget(Url(target!.Alertmanager!.Url, $"{at}.alertmanager.url", errors))),
            });
        }

        return targets;
    }

    private string? Kept(IReadOnlyList<AlertTarget> existing, string? url) =>
        guard.CheckUrl(url, out var parsed) is null ? existing.Select(t => t.Webhook).FirstOrDefault(w => w?.Url == parsed!.ToString() && w.Secret.Length > 0)?.Secret : null;

    /// <summary>The URL of <paramref name="existing"/>'s Slack target that <paramref name="url"/> is the redacted form of (as GET shows it), if any.</summary>
    private static string? KeptSlack(IReadOnlyList<AlertTarget> existing, string? url) =>
        url is not null && url.EndsWith(AlertRuleResponse.Redacted, StringComparison.Ordinal)
            ? existing.Select(t => t.Slack?.Url).FirstOrDefault(u => u is not null && AlertRuleResponse.RedactUrl(u) == url)
            : null;

    private static string Made(List<int> made, int index)
    {
        made.Add(index);
        return "whsec_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(24));
    }

    private string Url(string? url, string field, Dictionary<string, string[]> errors) =>
        guard.CheckUrl(url, out var parsed) is { } problem ? Fail<string>(field, problem, errors) : parsed!.ToString();

    private static TimeSpan? Duration(string text, string field, Dictionary<string, string[]> errors)
    {
        if (Durations.TryParse(text, out var duration) && duration >= TimeSpan.Zero && duration <= MaxDuration)
        {
            return duration;
        }

        errors[field] = [string.Create(CultureInfo.InvariantCulture, $"{field} must be an ISO 8601 duration from PT0S to P{MaxDuration.TotalDays:0}D, e.g. PT5M.")];
        return null;
    }

    private static double Number(double? value, Func<double, bool> valid, string field, string message, Dictionary<string, string[]> errors) =>
        value is { } v && double.IsFinite(v) && valid(v) ? v : Fail<double>(field, message, errors);

    private static string? Check(string? value, Func<string?, bool> valid, string field, string message, Dictionary<string, string[]> errors) =>
        valid(value) ? value : Fail<string?>(field, message, errors);

    private static T Fail<T>(string field, string message, Dictionary<string, string[]> errors)
    {
        errors[field] = [message];
        return default!;
    }
}
