using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using EdgeGreen.ControlPlane.Core.Storage;
using EdgeGreen.ControlPlane.Storage.LiteDb;

namespace EdgeGreen.ControlPlane.Tests.Alerts;

/// <summary>The alert rules' REST API: validation that names the field and stores nothing, roles, and secrets kept out of answers and off the disk.</summary>
public sealed class AlertRulesApiTests : ControlPlaneTest
{
    protected override IReadOnlyDictionary<string, string?> Settings { get; } = new Dictionary<string, string?>
    {
        ["EdgeGreen:Alerts:MaxRules"] = "3",
    };

    public static TheoryData<string, string> BadRules => new()
    {
        { """{"name":"a b","condition":{"agentOffline":{}}}""", "name" },
        { """{"name":"x","condition":{}}""", "condition" },
        { """{"name":"x","condition":{"agentOffline":{},"gridIntensity":{"zone":"NO","aboveGramsPerKwh":1}}}""", "condition" },
        { """{"name":"x","condition":{"drift":{"deployment":"credit","window":"PT2H"}}}""", "condition.drift.window" },
        { """{"name":"x","condition":{"drift":{"deployment":"credit","window":"P1D","threshold":1.5}}}""", "condition.drift.threshold" },
        { """{"name":"x","condition":{"errorRate":{"deployment":"credit"}}}""", "condition.errorRate.above" },
        { """{"name":"x","condition":{"drift":{"deployment":"credit","window":"P1D","prediction":true,"threshold":0.5}}}""", "condition.drift.threshold" },
        { """{"name":"x","condition":{"performance":{"deployment":"credit","window":"P1D","metric":"f1","below":0.8}}}""", "condition.performance.metric" },
        { """{"name":"x","condition":{"performance":{"deployment":"credit","window":"PT2H","metric":"auc","below":0.8}}}""", "condition.performance.window" },
        { """{"name":"x","condition":{"performance":{"deployment":"credit","window":"P1D","metric":"auc","above":0.8}}}""", "condition.performance" },
        { """{"name":"x","condition":{"performance":{"deployment":"credit","window":"P1D","metric":"rmse","below":0.8,"above":1}}}""", "condition.performance" },
        { """{"name":"x","condition":{"performance":{"deployment":"credit","window":"P1D","metric":"accuracy","below":1.5}}}""", "condition.performance.below" },
        { """{"name":"x","condition":{"outboxDrops":{"above":-1}}}""", "condition.outboxDrops.above" },
        { """{"name":"x","condition":{"outboxDrops":{"agent":""}}}""", "condition.outboxDrops.agent" },
        { """{"name":"x","condition":{"p99Latency":{"aboveMs":10}}}""", "condition.p99Latency.deployment" },
        { """{"name":"x","condition":{"energy":{"deployment":"credit","perDayJoulesAbove":-1}}}""", "condition.energy.perDayJoulesAbove" },
        { """{"name":"x","condition":{"carbon":{"scope":"fleet","aboveGrams":1}}}""", "condition.carbon.scope" },
        { """{"name":"x","condition":{"carbon":{"scope":"job"}}}""", "condition.carbon" },
        { """{"name":"x","condition":{"carbon":{"scope":"job","aboveGrams":5}},"for":"PT5M"}""", "for" },
        { """{"name":"x","condition":{"gridIntensity":{"zone":"Atlantis","aboveGramsPerKwh":100}}}""", "condition.gridIntensity.zone" },
        { """{"name":"x","condition":{"agentOffline":{}},"for":"five minutes"}""", "for" },
        { """{"name":"x","condition":{"agentOffline":{}},"for":"P30D"}""", "for" },
        { """{"name":"x","condition":{"agentOffline":{}},"resolveAfter":"-PT1M"}""", "resolveAfter" },
        { """{"name":"x","condition":{"agentOffline":{}},"severity":"page"}""", "severity" },
        { """{"name":"x","condition":{"agentOffline":{}},"notify":[{}]}""", "notify[0]" },
        { """{"name":"x","condition":{"agentOffline":{}},"notify":[{"slack":{"url":"http://127.0.0.1/hook"}}]}""", "notify[0].slack.url" },
        { """{"name":"x","condition":{"agentOffline":{}},"notify":[{"webhook":{"url":"https://example.com/h","secret":"short"}}]}""", "notify[0].webhook.secret" },
        { """{"name":"x","condition":{"agentOffline":{}},"notify":[{"pagerduty":{}}]}""", "notify[0].pagerduty.routingKey" },
        { """{"name":"x","condition":{"agentOffline":{}},"notify":[{"mqtt":{"topic":"alerts/#"}}]}""", "notify[0].mqtt.topic" },
        { """{"name":"x","condition":{"agentOffline":{}},"notify":[{"alertmanager":{"url":"ftp://am.example.com"}}]}""", "notify[0].alertmanager.url" },
        { "{\"name\":\"x\",\"condition\":{\"agentOffline\":{}},\"notify\":[{\"slack\":{\"url\":\"https://hooks.example.com/" + new string('a', 2100) + "\"}}]}", "notify[0].slack.url" },
        { "{\"name\":\"x\",\"condition\":{\"agentOffline\":{}},\"notify\":[" + string.Join(",", Enumerable.Repeat("{\"mqtt\":{\"topic\":\"a\"}}", 11)) + "]}", "notify" },
    };

    [Theory]
    [MemberData(nameof(BadRules))]
    public async Task Create_BadRule_400NamingTheField_AndNothingStored(string body, string field)
    {
        using var operatorClient = ControlPlane.CreateClient(await ControlPlane.MintApiKeyAsync(ApiKeyRole.Operator));

        using var response = await operatorClient.PostAsync("/api/v1/alert-rules", new StringContent(body, Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var errors = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors");
        Assert.True(errors.TryGetProperty(field, out _), $"errors name {field}: {errors}");
        Assert.Equal(0, (await AdminClient.GetFromJsonAsync<JsonElement>("/api/v1/alert-rules")).GetArrayLength());
    }

    [Fact]
    public async Task Create_ThenGetListPutDelete_SecretsShownOnceNeverByGetAndEncryptedAtRest()
    {
        using var operatorClient = ControlPlane.CreateClient(await ControlPlane.MintApiKeyAsync(ApiKeyRole.Operator));
        const string RoutingKey = "R0UT1NGKEY0123456789abcdefabcdef";
        const string SlackPath = "services/T000/B000/XXXXSLACKTOKEN";
        using var created = await operatorClient.PostAsJsonAsync("/api/v1/alert-rules", new
        {
            name = "fleet-offline",
            condition = new { agentOffline = new { } },
            @for = "PT5M",
            resolveAfter = "PT10M",
            severity = "critical",
            notify = new object[]
            {
                new { webhook = new { url = "https://hooks.example.com/edgegreen" } },
                new { slack = new { url = "https://hooks.slack.com/" + SlackPath } },
                new { pagerduty = new { routingKey = RoutingKey } },
                new { mqtt = new { topic = "alerts/fleet" } },
                new { alertmanager = new { url = "https://alertmanager.example.com" } },
            },
        });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var shown = await created.Content.ReadFromJsonAsync<JsonElement>();
        var secret = shown.GetProperty("notify")[0].GetProperty("webhook").GetProperty("secret").GetString()!;
        Assert.StartsWith("whsec_", secret, StringComparison.Ordinal);
        Assert.Equal(("PT5M", "PT10M"), (shown.GetProperty("for").GetString(), shown.GetProperty("resolveAfter").GetString()));

        var got = await operatorClient.GetFromJsonAsync<JsonElement>("/api/v1/alert-rules/fleet-offline");
        var listed = await operatorClient.GetFromJsonAsync<JsonElement>("/api/v1/alert-rules");
        foreach (var text in new[] { got.GetRawText(), listed.GetRawText() })
        {
            Assert.DoesNotContain(secret, text, StringComparison.Ordinal);
            Assert.DoesNotContain(RoutingKey, text, StringComparison.Ordinal);
            Assert.DoesNotContain(SlackPath, text, StringComparison.Ordinal);
        }

        Assert.Equal("https://hooks.slack.com/…", got.GetProperty("notify")[1].GetProperty("slack").GetProperty("url").GetString());
        Assert.Equal("alerts/fleet", got.GetProperty("notify")[3].GetProperty("mqtt").GetProperty("topic").GetString());
        Assert.True(got.GetProperty("condition").TryGetProperty("agentOffline", out _));

        var stored = Assert.Single(await new LiteDbAlertStore(ControlPlane.Service<LiteDbDatabase>()).ListRulesAsync(CancellationToken.None));
        Assert.StartsWith("dp1:", stored.Notify[0].Webhook!.Secret, StringComparison.Ordinal);
        foreach (var file in Directory.EnumerateFiles(ControlPlane.DataDirectory, "edgegreen*.db"))
        {
            await using var bytes = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            using var reader = new StreamReader(bytes, Encoding.Latin1);
            var content = await reader.ReadToEndAsync();
            Assert.DoesNotContain(secret, content, StringComparison.Ordinal);
            Assert.DoesNotContain(RoutingKey, content, StringComparison.Ordinal);
            Assert.DoesNotContain(SlackPath, content, StringComparison.Ordinal);
        }

        using (var duplicate = await operatorClient.PostAsJsonAsync("/api/v1/alert-rules", new { name = "fleet-offline", condition = new { agentOffline = new { } } }))
        {
            Assert.Equal(HttpStatusCode.Conflict, duplicate.StatusCode);
        }

        // Put back as GET shows it: the webhook's secret and the Slack URL stay what they were.
        using (var putBack = await operatorClient.PutAsJsonAsync("/api/v1/alert-rules/fleet-offline", new
        {
            condition = new { agentOffline = new { } },
            notify = new object[]
            {
                new { webhook = new { url = "https://hooks.example.com/edgegreen" } },
                new { slack = new { url = "https://hooks.slack.com/…" } },
            },
        }))
        {
            Assert.Equal(HttpStatusCode.OK, putBack.StatusCode);
            Assert.DoesNotContain(secret, await putBack.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        var kept = (await ControlPlane.Service<IAlertStore>().GetRuleAsync("fleet-offline", CancellationToken.None))!;
        Assert.Equal((secret, "https://hooks.slack.com/" + SlackPath), (kept.Notify[0].Webhook!.Secret, kept.Notify[1].Slack!.Url));

        using (var put = await operatorClient.PutAsJsonAsync("/api/v1/alert-rules/fleet-offline", new { condition = new { agentOffline = new { agent = "a1" } }, @for = "PT1M" }))
        {
            Assert.Equal(HttpStatusCode.OK, put.StatusCode);
        }

        got = await operatorClient.GetFromJsonAsync<JsonElement>("/api/v1/alert-rules/fleet-offline");
        Assert.Equal(("a1", "PT1M", 0), (got.GetProperty("condition").GetProperty("agentOffline").GetProperty("agent").GetString(), got.GetProperty("for").GetString(),
            got.GetProperty("notify").GetArrayLength()));
        using (var renamed = await operatorClient.PutAsJsonAsync("/api/v1/alert-rules/fleet-offline", new { name = "other", condition = new { agentOffline = new { } } }))
        {
            Assert.Equal(HttpStatusCode.BadRequest, renamed.StatusCode);
        }

        using (var missing = await operatorClient.PutAsJsonAsync("/api/v1/alert-rules/missing", new { condition = new { agentOffline = new { } } }))
        {
            Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        }

        using (var deleted = await operatorClient.DeleteAsync("/api/v1/alert-rules/fleet-offline"))
        {
            Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        }

        using var gone = await operatorClient.GetAsync("/api/v1/alert-rules/fleet-offline");
        Assert.Equal(HttpStatusCode.NotFound, gone.StatusCode);
    }

    [Fact]
    public async Task Create_ViewerOrNoKey_Refused_ButViewerReadsRulesAndAlerts()
    {
        using var viewer = ControlPlane.CreateClient(await ControlPlane.MintApiKeyAsync(ApiKeyRole.Viewer));
        using var anonymous = ControlPlane.CreateClient();
        var rule = new { name = "r", condition = new { agentOffline = new { } } };

        using (var refused = await viewer.PostAsJsonAsync("/api/v1/alert-rules", rule))
        {
            Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        }

        using (var unauthenticated = await anonymous.GetAsync("/api/v1/alerts"))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, unauthenticated.StatusCode);
        }

        Assert.Equal(0, (await viewer.GetFromJsonAsync<JsonElement>("/api/v1/alert-rules")).GetArrayLength());
        Assert.Equal(0, (await viewer.GetFromJsonAsync<JsonElement>("/api/v1/alerts?state=firing")).GetArrayLength());
        using var badState = await viewer.GetAsync("/api/v1/alerts?state=burning");
        Assert.Equal(HttpStatusCode.BadRequest, badState.StatusCode);
    }

    [Fact]
    public async Task Create_BeyondMaxRules_409NamingTheSetting()
    {
        for (var i = 0; i < 3; i++)
        {
            using var created = await AdminClient.PostAsJsonAsync("/api/v1/alert-rules", new { name = $"r{i}", condition = new { agentOffline = new { } } });
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        }

        using var refused = await AdminClient.PostAsJsonAsync("/api/v1/alert-rules", new { name = "r3", condition = new { agentOffline = new { } } });

        Assert.Equal(HttpStatusCode.Conflict, refused.StatusCode);
        Assert.Contains("EdgeGreen:Alerts:MaxRules", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(3, (await AdminClient.GetFromJsonAsync<JsonElement>("/api/v1/alert-rules")).GetArrayLength());
    }
}
