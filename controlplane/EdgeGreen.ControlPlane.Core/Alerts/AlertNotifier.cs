using System.Globalization;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using EdgeGreen.ControlPlane.Core.Outbound;
using EdgeGreen.ControlPlane.Core.Webhooks;
using Microsoft.Extensions.Options;
using Prometheus;

namespace EdgeGreen.ControlPlane.Core.Alerts;

/// <summary>
/// Sends alerts as they fire and resolve to each target of their rule, through the outbound guard's
/// HTTP client (retried with backoff on network errors, timeouts and 408/429/5xx), at most
/// <see cref="Parallelism"/> at once; each send is counted by channel and outcome
/// (<c>edgegreen_alert_notifications_total</c>). Alertmanager forgets an alert that is not sent
/// again before its <c>endsAt</c>, so firing alerts are sent to Alertmanager targets at every
/// evaluation, as Prometheus does, with <c>endsAt</c> <see cref="AlertmanagerValidity"/> ahead.
/// </summary>
public sealed partial class AlertNotifier : BackgroundService
{
    public const string HttpClientName = "alerts";
    public const string PagerDutyEventsUrl = "https://events.pagerduty.com/v2/enqueue";
    public const int Parallelism = 8;
    private const int QueueCapacity = 10_000;

    private static readonly JsonSerializerOptions SnakeCase = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    private readonly IHttpClientFactory _http;
    private readonly IAlertFeed? _feed;
    private readonly AlertsOptions _options;
    private readonly TimeProvider _clock;
    private readonly ILogger<AlertNotifier> _logger;
    private readonly Counter _sent;
    private readonly Channel<Notification> _queue;

    public AlertNotifier(IHttpClientFactory http, IEnumerable<IAlertFeed> feeds, IOptions<AlertsOptions> options, IMetricFactory metrics, TimeProvider clock,
        ILogger<AlertNotifier> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(metrics);
        (_http, _feed, _options, _clock, _logger) = (http, feeds.FirstOrDefault(), options.Value, clock, logger);
        _sent = metrics.CreateCounter("edgegreen_alert_notifications_total",
            "Alert notifications by channel and outcome (delivered, failed after retries, refused as an internal target, dropped from a full queue).", ["channel", "outcome"]);
        _queue = Channel.CreateBounded<Notification>(new BoundedChannelOptions(QueueCapacity) { FullMode = BoundedChannelFullMode.DropOldest },
            dropped => _sent.WithLabels(dropped.Target.Kind, "dropped").Inc());
    }

    /// <summary>How far ahead a firing alert's <c>endsAt</c> is put for Alertmanager: four evaluations, at least a minute.</summary>
    public TimeSpan AlertmanagerValidity => TimeSpan.FromTicks(Math.Max(4 * _options.EvaluationInterval.Ticks, TimeSpan.FromMinutes(1).Ticks));

    /// <summary>Queues the alert's change (firing or resolved) for every target of its rule.</summary>
    public void Notify(AlertRule rule, AlertRecord alert)
    {
        ArgumentNullException.ThrowIfNull(rule);
        foreach (var target in rule.Notify)
        {
            _queue.Writer.TryWrite(new Notification(rule, alert, target));
        }
    }

    /// <summary>Sends the rule's firing alerts to its Alertmanager targets again, so they stay active there.</summary>
    public void Refresh(AlertRule rule, IEnumerable<AlertRecord> firing)
    {
        ArgumentNullException.ThrowIfNull(rule);
        foreach (var alert in firing)
        {
            foreach (var target in rule.Notify.Where(t => t.Alertmanager is not null))
            {
                _queue.Writer.TryWrite(new Notification(rule, alert, target));
            }
        }
    }

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Parallel.ForEachAsync(_queue.Reader.ReadAllAsync(stoppingToken), new ParallelOptions { MaxDegreeOfParallelism = Parallelism, CancellationToken = stoppingToken },
            async (notification, token) => await SendAsync(notification, token));

    /// <summary>Sends one notification now; its outcome is counted and, unless delivered, logged.</summary>
    public async Task SendAsync(Notification notification, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(notification);
        var (rule, alert, target) = notification;
        var channel = target.Kind;
        try
        {
            if (target.Mqtt is { } mqtt)
            {
                var published = _feed?.Publish(mqtt.Topic, AlertMessage.From(rule, alert)) == true;
                _sent.WithLabels(channel, published ? "delivered" : "failed").Inc();
                if (!published)
                {
                    LogFailed(rule.Name, channel, "the MQTT feed is off (EdgeGreen:Feed:Broker)");
                }

                return;
            }

            using var request = Request(rule, alert, target);
            if (request is null)
            {
                _sent.WithLabels(channel, "failed").Inc();
                LogFailed(rule.Name, channel, "its secret cannot be decrypted");
                return;
            }

            using var response = await _http.CreateClient(HttpClientName).SendAsync(request, cancellationToken);
            response.EnsureSuccessStatusCode();
            _sent.WithLabels(channel, "delivered").Inc();
        }
        catch (HttpRequestException ex) when (ex.InnerException is OutboundRefusedException refused)
        {
            _sent.WithLabels(channel, "refused").Inc();
            LogFailed(rule.Name, channel, refused.Message);
        }
        // Whatever else fails fails this notification alone: the others, and the host, go on.
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            _sent.WithLabels(channel, "failed").Inc();
            LogFailed(rule.Name, channel, ex.Message);
        }
    }

    /// <summary>The HTTP request for a target; null when its secret could not be read (it is then empty).</summary>
    private HttpRequestMessage? Request(AlertRule rule, AlertRecord alert, AlertTarget target)
    {
        var firing = alert.State == AlertState.Firing;
        var message = AlertMessage.From(rule, alert);
        switch (target)
        {
            case { Webhook: { Secret.Length: > 0 } webhook }:
                var eventName = firing ? "alert.firing" : "alert.resolved";
                var body = JsonSerializer.SerializeToUtf8Bytes(new { @event = eventName, time = _clock.GetUtcNow(), data = message }, JsonSerializerOptions.Web);
                return new HttpRequestMessage(HttpMethod.Post, webhook.Url) { Content = WebhookDispatcher.SignedContent(eventName, Guid.NewGuid().ToString("N"), webhook.Secret, body) };
            case { Slack: { Url.Length: > 0 } slack }:
                var text = $"[{(firing ? "FIRING" : "RESOLVED")}] {rule.Name}: {alert.Summary}";
                return Post(slack.Url, new { text, blocks = new object[] { new { type = "section", text = new { type = "mrkdwn", text = SlackText(rule, alert, firing) } } } },
                    JsonSerializerOptions.Web);
            case { PagerDuty: { RoutingKey.Length: > 0 } pagerDuty }:
                return Post(pagerDuty.Url ?? PagerDutyEventsUrl, new
                {
                    RoutingKey = pagerDuty.RoutingKey,
                    EventAction = firing ? "trigger" : "resolve",
                    DedupKey = DedupKey(alert),
                    Payload = new
                    {
                        Summary = Truncate($"{rule.Name}: {alert.Summary}", 1024),
                        Source = "edgegreen",
                        Severity = rule.Severity,
                        Timestamp = (firing ? alert.FiringSince : alert.ResolvedAt) ?? _clock.GetUtcNow(),
                        Component = rule.Condition.Kind,
                        CustomDetails = Details(rule, alert),
                    },
                }, SnakeCase);
            case { Alertmanager: { } alertmanager }:
                var labels = new Dictionary<string, string>(alert.Labels, StringComparer.Ordinal)
                {
                    ["alertname"] = rule.Name, ["severity"] = rule.Severity, ["source"] = "edgegreen",
                };
                return Post(alertmanager.Url.TrimEnd('/') + "/api/v2/alerts", new[]
                {
                    new
                    {
                        labels,
                        annotations = new Dictionary<string, string> { ["summary"] = alert.Summary, ["condition"] = rule.Condition.Kind },
                        startsAt = alert.FiringSince ?? alert.ChangedAt,
                        endsAt = firing ? _clock.GetUtcNow() + AlertmanagerValidity : alert.ResolvedAt ?? _clock.GetUtcNow(),
                    },
                }, JsonSerializerOptions.Web);
            default:
                return null;
        }
    }

    private static HttpRequestMessage Post<T>(string url, T body, JsonSerializerOptions json) =>
        new(HttpMethod.Post, url) { Content = JsonContent.Create(body, options: json) };

    private static string SlackText(AlertRule rule, AlertRecord alert, bool firing) =>
        $"*{(firing ? "Firing" : "Resolved")}: {rule.Name}* ({rule.Severity})\n{alert.Summary}\n" +
        string.Join(", ", alert.Labels.Select(l => $"{l.Key}=`{l.Value}`"));

    private static Dictionary<string, string> Details(AlertRule rule, AlertRecord alert)
    {
        var details = new Dictionary<string, string>(alert.Labels, StringComparer.Ordinal) { ["rule"] = rule.Name, ["condition"] = rule.Condition.Kind };
        if (alert.Value is { } value)
        {
            details["value"] = value.ToString("G6", CultureInfo.InvariantCulture);
        }

        return details;
    }

    /// <summary>One key per alert (rule and labels), within PagerDuty's 255 characters: a trigger and its resolve share it.</summary>
    public static string DedupKey(AlertRecord alert)
    {
        ArgumentNullException.ThrowIfNull(alert);
        var key = $"edgegreen/{alert.Rule}/{alert.Key}";
        return key.Length <= 255 ? key : $"edgegreen/{alert.Rule}/" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(alert.Key)));
    }

    private static string Truncate(string text, int length) => text.Length <= length ? text : text[..(length - 1)] + "…";

    [LoggerMessage(Level = LogLevel.Warning, Message = "Alert notification of rule {Rule} to its {Channel} target failed: {Reason}")]
    private partial void LogFailed(string rule, string channel, string reason);
}

/// <summary>One alert's change for one target.</summary>
public sealed record Notification(AlertRule Rule, AlertRecord Alert, AlertTarget Target);
