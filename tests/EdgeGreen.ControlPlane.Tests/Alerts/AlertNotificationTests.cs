using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using EdgeGreen.ControlPlane.Core.Alerts;
using EdgeGreen.ControlPlane.Core.Webhooks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace EdgeGreen.ControlPlane.Tests.Alerts;

/// <summary>
/// A real rule fired and resolved end to end: the leader evaluates it, and its notifications reach
/// stub servers on loopback shaped as Slack and PagerDuty document them, a signed webhook, and a real
/// Alertmanager. The rule watches a zone's grid intensity from the bundled traces, and is moved below
/// and above it with PUT, so nothing waits on a clock.
/// </summary>
public sealed class AlertNotificationTests : ControlPlaneTest
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    protected override IReadOnlyDictionary<string, string?> Settings { get; } = new Dictionary<string, string?>
    {
        // The targets here are loopback servers, which the default refuses.
        ["EdgeGreen:Outbound:AllowedNetworks:0"] = "127.0.0.0/8",
        ["EdgeGreen:Alerts:EvaluationInterval"] = "00:00:00.200",
    };

    [Fact]
    public async Task GridIntensityRule_FiresThenResolves_SignedWebhookSlackAndPagerDutyReceiveBoth()
    {
        var received = new ConcurrentQueue<(string Path, IReadOnlyDictionary<string, string> Headers, byte[] Body)>();
        await using var stub = await StubServer.StartAsync(routes =>
        {
            routes.MapPost("/hook", (HttpRequest request) => RecordAsync(request, received, Results.Ok()));
            routes.MapPost("/slack", (HttpRequest request) => RecordAsync(request, received, Results.Text("ok")));
            routes.MapPost("/v2/enqueue", (HttpRequest request) => RecordAsync(request, received,
                Results.Json(new { status = "success", message = "Event processed", dedup_key = "x" }, statusCode: StatusCodes.Status202Accepted)));
        });
        const string RoutingKey = "R0UT1NGKEY0123456789abcdefabcdef";
        var notify = new object[]
        {
            new { webhook = new { url = new Uri(stub.Url, "hook") } },
            new { slack = new { url = new Uri(stub.Url, "slack") } },
            new { pagerduty = new { routingKey = RoutingKey, url = new Uri(stub.Url, "v2/enqueue") } },
        };

        using var created = await AdminClient.PostAsJsonAsync("/api/v1/alert-rules",
            new { name = "dirty-grid", condition = new { gridIntensity = new { zone = "NO", aboveGramsPerKwh = 0 } }, severity = "critical", notify });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var secret = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("notify")[0].GetProperty("webhook").GetProperty("secret").GetString()!;

        await Eventually.WaitUntilAsync(() => received.Count >= 3, Patience, () => $"the firing notifications arrive; got {received.Count}\n{ControlPlane.Errors.Recent}");
        var firing = await AdminClient.GetFromJsonAsync<JsonElement>("/api/v1/alerts?state=firing");
        var alert = Assert.Single(firing.EnumerateArray());
        Assert.Equal(("dirty-grid", "NO"), (alert.GetProperty("rule").GetString(), alert.GetProperty("labels").GetProperty("zone").GetString()));
        Assert.Equal("firing", alert.GetProperty("history").EnumerateArray().Last().GetProperty("state").GetString());

        using (var raised = await AdminClient.PutAsJsonAsync("/api/v1/alert-rules/dirty-grid",
            new { condition = new { gridIntensity = new { zone = "NO", aboveGramsPerKwh = 1e9 } }, severity = "critical", notify }))
        {
            Assert.Equal(HttpStatusCode.OK, raised.StatusCode);
        }

        await Eventually.WaitUntilAsync(() => received.Count >= 6, Patience, () => $"the resolved notifications arrive; got {received.Count}\n{ControlPlane.Errors.Recent}");
        var resolved = Assert.Single((await AdminClient.GetFromJsonAsync<JsonElement>("/api/v1/alerts?state=resolved")).EnumerateArray());
        Assert.Equal(["firing", "resolved"], resolved.GetProperty("history").EnumerateArray().Select(h => h.GetProperty("state").GetString()));

        var hooks = received.Where(r => r.Path == "/hook").ToList();
        Assert.Equal(["alert.firing", "alert.resolved"], hooks.Select(h => h.Headers["X-EdgeGreen-Event"]));
        foreach (var hook in hooks)
        {
            Assert.Equal("sha256=" + WebhookDispatcher.Sign(secret, hook.Body), hook.Headers["X-EdgeGreen-Signature"]);
            var data = JsonDocument.Parse(hook.Body).RootElement.GetProperty("data");
            Assert.Equal(("dirty-grid", "gridIntensity", "NO"), (data.GetProperty("rule").GetString(), data.GetProperty("condition").GetString(),
                data.GetProperty("labels").GetProperty("zone").GetString()));
        }

        var slack = received.Where(r => r.Path == "/slack").Select(r => JsonDocument.Parse(r.Body).RootElement).ToList();
        Assert.Equal(2, slack.Count);
        Assert.StartsWith("[FIRING] dirty-grid: grid intensity in NO is ", slack[0].GetProperty("text").GetString(), StringComparison.Ordinal);
        Assert.StartsWith("[RESOLVED] dirty-grid", slack[1].GetProperty("text").GetString(), StringComparison.Ordinal);
        Assert.Equal(("section", "mrkdwn"), (slack[0].GetProperty("blocks")[0].GetProperty("type").GetString(),
            slack[0].GetProperty("blocks")[0].GetProperty("text").GetProperty("type").GetString()));

        var pagerDuty = received.Where(r => r.Path == "/v2/enqueue").Select(r => JsonDocument.Parse(r.Body).RootElement).ToList();
        Assert.Equal(["trigger", "resolve"], pagerDuty.Select(e => e.GetProperty("event_action").GetString()));
        Assert.All(pagerDuty, e => Assert.Equal(RoutingKey, e.GetProperty("routing_key").GetString()));
        Assert.Equal("edgegreen/dirty-grid/zone=NO", pagerDuty[0].GetProperty("dedup_key").GetString());
        Assert.Equal(pagerDuty[0].GetProperty("dedup_key").GetString(), pagerDuty[1].GetProperty("dedup_key").GetString());
        var payload = pagerDuty[0].GetProperty("payload");
        Assert.Equal(("edgegreen", "critical"), (payload.GetProperty("source").GetString(), payload.GetProperty("severity").GetString()));
        Assert.StartsWith("dirty-grid: grid intensity in NO", payload.GetProperty("summary").GetString(), StringComparison.Ordinal);
        Assert.Equal("NO", payload.GetProperty("custom_details").GetProperty("zone").GetString());
    }

    [RequiresProgramFact("prometheus-alertmanager")]
    public async Task GridIntensityRule_AppearsInARealAlertmanagerWithItsLabels_ThenResolvesThere()
    {
        using var temp = new TempDirectory();
        var port = LoopbackPorts.Free();
        var config = Path.Combine(temp.Path, "alertmanager.yml");
        await File.WriteAllTextAsync(config, """
            route:
              receiver: blackhole
            receivers:
              - name: blackhole
            """);
        using var alertmanager = Process.Start(new ProcessStartInfo(ExternalProgram.Require("prometheus-alertmanager"),
            [$"--config.file={config}", $"--storage.path={Path.Combine(temp.Path, "data")}", $"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address="])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        })!;
        var log = alertmanager.StandardError.ReadToEndAsync();
        try
        {
            using var api = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/"), Timeout = TimeSpan.FromSeconds(10) };
            await Eventually.WaitUntilAsync(async () => alertmanager.HasExited || await ReadyAsync(api), Patience, "Alertmanager is ready");
            Assert.False(alertmanager.HasExited, "prometheus-alertmanager exited");
            var notify = new object[] { new { alertmanager = new { url = api.BaseAddress } } };

            using (var created = await AdminClient.PostAsJsonAsync("/api/v1/alert-rules",
                new { name = "dirty-grid", condition = new { gridIntensity = new { zone = "NO", aboveGramsPerKwh = 0 } }, notify }))
            {
                Assert.Equal(HttpStatusCode.Created, created.StatusCode);
            }

            JsonElement active = default;
            await Eventually.WaitUntilAsync(async () => (active = await AlertsAsync(api)).GetArrayLength() > 0, Patience,
                () => $"the alert appears in Alertmanager\n{ControlPlane.Errors.Recent}");
            var labels = Assert.Single(active.EnumerateArray()).GetProperty("labels");
            Assert.Equal(("dirty-grid", "NO", "warning", "edgegreen"), (labels.GetProperty("alertname").GetString(), labels.GetProperty("zone").GetString(),
                labels.GetProperty("severity").GetString(), labels.GetProperty("source").GetString()));
            Assert.Equal("active", active[0].GetProperty("status").GetProperty("state").GetString());
            Assert.StartsWith("grid intensity in NO", active[0].GetProperty("annotations").GetProperty("summary").GetString(), StringComparison.Ordinal);

            using (var raised = await AdminClient.PutAsJsonAsync("/api/v1/alert-rules/dirty-grid",
                new { condition = new { gridIntensity = new { zone = "NO", aboveGramsPerKwh = 1e9 } }, notify }))
            {
                Assert.Equal(HttpStatusCode.OK, raised.StatusCode);
            }

            // Alertmanager lists only alerts whose endsAt is still ahead: a resolved one leaves the list.
            await Eventually.WaitUntilAsync(async () => (await AlertsAsync(api)).GetArrayLength() == 0, Patience,
                () => $"the alert resolves in Alertmanager\n{ControlPlane.Errors.Recent}");
        }
        finally
        {
            alertmanager.Kill();
            await alertmanager.WaitForExitAsync();
            await log;
        }
    }

    [Fact]
    public async Task MqttTarget_PublishesOnTheFeedUnderItsTopic()
    {
        var feed = new RecordingFeed();
        var notifier = new AlertNotifier(ControlPlane.Service<IHttpClientFactory>(), [feed], Microsoft.Extensions.Options.Options.Create(new AlertsOptions()),
            global::Prometheus.Metrics.WithCustomRegistry(global::Prometheus.Metrics.NewCustomRegistry()), TimeProvider.System,
            Microsoft.Extensions.Logging.Abstractions.NullLogger<AlertNotifier>.Instance);
        var rule = new AlertRule("offline", new AlertCondition(AgentOffline: new AgentOfflineCondition(null)), TimeSpan.Zero, null, "warning",
            [new AlertTarget(Mqtt: new MqttTarget("alerts/fleet"))], DateTimeOffset.UnixEpoch, DateTimeOffset.UnixEpoch);
        var alert = AlertStateMachine.Next(rule, null, AlertObservation.For("agent", "a1", true, 42, "agent a1 is offline"), DateTimeOffset.UnixEpoch)!;

        await notifier.SendAsync(new Notification(rule, alert, rule.Notify[0]), CancellationToken.None);

        var (topic, message) = Assert.Single(feed.Published);
        Assert.Equal("alerts/fleet", topic);
        Assert.Equal(("offline", "firing", "a1", 42.0), (message.Rule, message.State, message.Labels["agent"], message.Value));
    }

    private static async Task<IResult> RecordAsync(HttpRequest request, ConcurrentQueue<(string, IReadOnlyDictionary<string, string>, byte[])> received, IResult answer)
    {
        using var body = new MemoryStream();
        await request.Body.CopyToAsync(body);
        received.Enqueue((request.Path, request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase), body.ToArray()));
        return answer;
    }

    private static async Task<bool> ReadyAsync(HttpClient api)
    {
        try
        {
            using var ready = await api.GetAsync("-/ready");
            return ready.IsSuccessStatusCode;
        }
        catch (HttpRequestException)
        {
            return false;
        }
    }

    private static async Task<JsonElement> AlertsAsync(HttpClient api) => await api.GetFromJsonAsync<JsonElement>("api/v2/alerts?filter=alertname%3D%22dirty-grid%22");

    private sealed class RecordingFeed : IAlertFeed
    {
        public ConcurrentQueue<(string Topic, AlertMessage Message)> Published { get; } = new();

        public bool Publish(string topic, AlertMessage message)
        {
            Published.Enqueue((topic, message));
            return true;
        }
    }
}
