using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using EdgeGreen.ControlPlane.Core.Outbound;
using EdgeGreen.ControlPlane.Core.Storage;
using Prometheus;

namespace EdgeGreen.ControlPlane.Core.Webhooks;

/// <summary>
/// Events delivered to subscribers as JSON POSTs: <c>model_version.ready</c>,
/// <c>model_version.failed</c>, <c>alias.moved</c>, <c>pipeline_run.finished</c>, <c>deployment.changed</c>. Each delivery carries
/// <c>X-EdgeGreen-Event</c>, <c>X-EdgeGreen-Delivery</c> (an id, the same on every retry) and
/// <c>X-EdgeGreen-Signature: sha256=HEX</c>, the HMAC-SHA256 of the body under the webhook's
/// secret. A delivery that fails (a network error, a timeout, a 408/429/5xx answer) is retried
/// with exponential backoff (5 retries, from 1 s); one that still fails is dropped and counted.
/// A delivery whose target the <see cref="OutboundGuard"/> refuses is not sent, not
/// retried, and counted as <c>refused</c>.
/// </summary>
public sealed partial class WebhookDispatcher(IWebhookStore store, IHttpClientFactory http, IMetricFactory metrics, TimeProvider clock, ILogger<WebhookDispatcher> logger)
    : BackgroundService
{
    public const string HttpClientName = "webhooks";
    public static readonly string[] Events = ["model_version.ready", "model_version.failed", "alias.moved", "pipeline_run.finished", "deployment.changed"];

    private readonly Channel<(string Event, object Data)> _queue = Channel.CreateUnbounded<(string, object)>();
    private readonly Counter _delivered = metrics.CreateCounter("edgegreen_webhook_deliveries_total",
        "Webhook deliveries by outcome (delivered, failed after retries, refused as an internal target).", ["outcome"]);

    /// <summary>Queues an event for every webhook that subscribes to it.</summary>
    public void Publish(string eventName, object data) => _queue.Writer.TryWrite((eventName, data));

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await foreach (var (eventName, data) in _queue.Reader.ReadAllAsync(stoppingToken))
        {
            var body = JsonSerializer.SerializeToUtf8Bytes(new { @event = eventName, time = clock.GetUtcNow(), data }, JsonSerializerOptions.Web);
            // An empty secret is one the store could not decrypt, and said so: nothing is sent unsigned.
            foreach (var webhook in (await store.ListAsync(stoppingToken)).Where(w => w.Events.Contains(eventName) && w.Secret.Length > 0))
            {
                // Each subscriber on its own, so that a slow one does not hold up the rest.
                _ = DeliverAsync(webhook, eventName, body, stoppingToken);
            }
        }
    }

    private async Task DeliverAsync(WebhookRecord webhook, string eventName, byte[] body, CancellationToken cancellationToken)
    {
        var delivery = Guid.NewGuid().ToString("N");
        try
        {
            using var content = SignedContent(eventName, delivery, webhook.Secret, body);
            using var response = await http.CreateClient(HttpClientName).PostAsync(webhook.Url, content, cancellationToken);
            response.EnsureSuccessStatusCode();
            _delivered.WithLabels("delivered").Inc();
        }
        catch (HttpRequestException ex) when (ex.InnerException is OutboundRefusedException refused)
        {
            _delivered.WithLabels("refused").Inc();
            LogDeliveryRefused(eventName, webhook.Id, refused.Message);
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or Polly.Timeout.TimeoutRejectedException && !cancellationToken.IsCancellationRequested)
        {
            _delivered.WithLabels("failed").Inc();
            LogDeliveryFailed(eventName, webhook.Id, ex.Message);
        }
    }

    /// <summary>A JSON body with the event, delivery id and signature headers every EdgeGreen webhook delivery carries.</summary>
    public static ByteArrayContent SignedContent(string eventName, string delivery, string secret, byte[] body)
    {
        var content = new ByteArrayContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        content.Headers.Add("X-EdgeGreen-Event", eventName);
        content.Headers.Add("X-EdgeGreen-Delivery", delivery);
        content.Headers.Add("X-EdgeGreen-Signature", "sha256=" + Sign(secret, body));
        return content;
    }

    /// <summary>Lower-case hex HMAC-SHA256 of the body under the secret.</summary>
    public static string Sign(string secret, byte[] body) => Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), body));

    [LoggerMessage(Level = LogLevel.Warning, Message = "Webhook delivery of {Event} to {WebhookId} failed after retries: {Reason}")]
    private partial void LogDeliveryFailed(string @event, string webhookId, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Webhook delivery of {Event} to {WebhookId} refused, nothing sent: {Reason}")]
    private partial void LogDeliveryRefused(string @event, string webhookId, string reason);
}
