using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using EdgeGreen.ControlPlane.Tests.Feed;

namespace EdgeGreen.ControlPlane.Tests.Deployments;

/// <summary>
/// A deployment kept on the single-node system's local agent, reached under the control plane's own
/// <c>/v2</c>: served, moved to a new version, rolled back when the new version fails real requests,
/// and served again after both sides restart.
/// </summary>
public sealed class LocalDeploymentTests : IAsyncLifetime
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);
    private readonly TempDirectory _temp = new();
    private readonly int _feedPort = LoopbackPorts.Free();
    private TestControlPlane _controlPlane = null!;

    public async Task InitializeAsync() => _controlPlane = await StartControlPlaneAsync();

    private Task<TestControlPlane> StartControlPlaneAsync() => TestControlPlane.StartAsync(_temp.Path, localAgent: true, settings: new Dictionary<string, string?>
    {
        ["EdgeGreen:Deployments:AnalysisInterval"] = "00:00:00.200",
        ["EdgeGreen:Feed:Broker"] = "Embedded",
        ["EdgeGreen:Feed:Port"] = _feedPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
    });

    [Fact]
    public async Task Put_LocalAgentServesTheModelByTheDeploymentsName_ReportsItsRequests_AndMovesToANewVersion()
    {
        using var client = _controlPlane.CreateClient(_controlPlane.AdminKey);
        await RegisterAsync(client, "mnist-8.onnx");
        var agentId = await LocalAgentIdAsync(client);
        using (var put = await client.PutAsJsonAsync("/api/v1/deployments/digits", new { model = "models:/mnist/1", target = new { agents = new[] { agentId } } }))
        {
            Assert.Equal(HttpStatusCode.Created, put.StatusCode);
        }

        // The next heartbeat tells the agent; it fetches the model and serves it as "digits".
        await Eventually.WaitUntilAsync(async () => (await client.GetAsync("/v2/models/digits/ready")).StatusCode == HttpStatusCode.OK, Patience,
            "the local agent serves the deployment");
        using (var inferred = await client.PostAsJsonAsync("/v2/models/digits/infer", DigitRequest()))
        {
            Assert.Equal(HttpStatusCode.OK, inferred.StatusCode);
            var answer = await inferred.Content.ReadFromJsonAsync<JsonElement>();
            Assert.Equal(("mnist", "1"), (answer.GetProperty("model_name").GetString(), answer.GetProperty("model_version").GetString()));
        }

        var deployment = await WaitForAsync(client, d => d.GetProperty("status").GetString() == "healthy" && d.GetProperty("agents")[0].GetProperty("requests").GetInt64() == 1,
            "the deployment is healthy with the request counted");
        Assert.Equal(agentId, deployment.GetProperty("agents")[0].GetProperty("agentId").GetString());

        // A second version: the agent loads it and answers with it; the first is unloaded.
        await RegisterAsync(client, "ImageClassifier-cifar10.onnx");
        using (var put = await client.PutAsJsonAsync("/api/v1/deployments/digits", new { model = "models:/mnist/2", target = new { agents = new[] { agentId } } }))
        {
            Assert.Equal(HttpStatusCode.OK, put.StatusCode);
        }

        await WaitForAsync(client, d => d.GetProperty("status").GetString() == "healthy" && d.GetProperty("agents")[0].GetProperty("version").GetInt32() == 2,
            "the agent serves version 2");
        var metadata = await client.GetFromJsonAsync<JsonElement>("/v2/models/digits");
        Assert.Equal("2", Assert.Single(metadata.GetProperty("versions").EnumerateArray()).GetString());

        // Removed: the agent stops serving it.
        Assert.Equal(HttpStatusCode.NoContent, (await client.DeleteAsync("/api/v1/deployments/digits")).StatusCode);
        await Eventually.WaitUntilAsync(async () => (await client.GetAsync("/v2/models/digits/ready")).StatusCode == HttpStatusCode.NotFound, Patience,
            "the local agent no longer serves the deployment");
    }

    [Fact]
    public async Task Canary_VersionThatFailsEveryRealRequest_IsRolledBackWithTheReason_AndTheFeedSaysSo()
    {
        await using var events = await FeedTests.SubscriberAsync(_feedPort, "edgegreen/v1/deployments/+/events");
        using var client = _controlPlane.CreateClient(_controlPlane.AdminKey);
        await RegisterAsync(client, "mnist-8.onnx");
        var agentId = await LocalAgentIdAsync(client);
        using (var put = await client.PutAsJsonAsync("/api/v1/deployments/digits", new { model = "models:/mnist/1", target = new { agents = new[] { agentId } } }))
        {
            Assert.Equal(HttpStatusCode.Created, put.StatusCode);
        }

        await WaitForAsync(client, d => d.GetProperty("status").GetString() == "healthy", "version 1 healthy");

        // Version 2 is a CIFAR-10 network registered by mistake: every digit request it gets fails.
        await RegisterAsync(client, "ImageClassifier-cifar10.onnx");
        using (var put = await client.PutAsJsonAsync("/api/v1/deployments/digits", new
        {
            model = "models:/mnist/2",
            target = new { agents = new[] { agentId } },
            strategy = new
            {
                type = "canary",
                steps = new[] { new { percent = 50, pause = "PT0S" }, new { percent = 100, pause = "PT0S" } },
                analysis = new { minRequests = 5, maxErrorRate = 0.2 },
            },
        }))
        {
            Assert.Equal(HttpStatusCode.OK, put.StatusCode);
        }

        // Traffic keeps coming; once the agent serves version 2 the requests fail until the analysis rolls it back.
        var failed = 0;
        JsonElement deployment = default;
        await Eventually.WaitUntilAsync(async () =>
        {
            using var inferred = await client.PostAsJsonAsync("/v2/models/digits/infer", DigitRequest());
            failed += inferred.IsSuccessStatusCode ? 0 : 1;
            deployment = await client.GetFromJsonAsync<JsonElement>("/api/v1/deployments/digits");
            return deployment.GetProperty("status").GetString() == "rolled-back";
        }, Patience, () => $"the failing version rolled back ({failed} requests failed): {deployment}");

        Assert.True(failed >= 5, $"the analysis waited for its minimum of requests ({failed} failed)");
        Assert.Equal((1, 2), (deployment.GetProperty("currentVersion").GetInt32(), deployment.GetProperty("previousVersion").GetInt32()));
        Assert.Contains("error rate", deployment.GetProperty("statusReason").GetString(), StringComparison.Ordinal);

        // The agent goes back to version 1, which answers again.
        await Eventually.WaitUntilAsync(async () =>
        {
            using var inferred = await client.PostAsJsonAsync("/v2/models/digits/infer", DigitRequest());
            return inferred.IsSuccessStatusCode && (await inferred.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("model_version").GetString() == "1";
        }, Patience, "version 1 answers again");

        // Every change reached the MQTT feed, in order.
        await Eventually.WaitUntilAsync(() => Kinds(events).Contains("rolled-back"), Patience, () => $"the rollback on the feed: {string.Join(", ", Kinds(events))}");
        Assert.Equal(["created", "rollout-started", "rolled-back"], Kinds(events));
        Assert.All(events.Messages, m => Assert.Equal("edgegreen/v1/deployments/digits/events", m.Topic));
        Assert.Contains("error rate", events.Messages[^1].Payload.GetProperty("event").GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Restart_OfControlPlaneAndAgent_TheDeploymentIsServedAgainWithoutBeingAskedTwice()
    {
        using (var client = _controlPlane.CreateClient(_controlPlane.AdminKey))
        {
            await RegisterAsync(client, "mnist-8.onnx");
            var agentId = await LocalAgentIdAsync(client);
            using var put = await client.PutAsJsonAsync("/api/v1/deployments/digits", new { model = "models:/mnist/1", target = new { agents = new[] { agentId } } });
            Assert.Equal(HttpStatusCode.Created, put.StatusCode);
            await WaitForAsync(client, d => d.GetProperty("status").GetString() == "healthy", "version 1 healthy");
        }

        // Both sides stop (the local agent with its control plane) and start again on the same data.
        await _controlPlane.DisposeAsync();
        _controlPlane = await StartControlPlaneAsync();

        using var restarted = _controlPlane.CreateClient(_controlPlane.AdminKey);
        await Eventually.WaitUntilAsync(async () =>
        {
            using var inferred = await restarted.PostAsJsonAsync("/v2/models/digits/infer", DigitRequest());
            return inferred.IsSuccessStatusCode;
        }, Patience, "the restarted agent serves the deployment again");
        var deployment = await WaitForAsync(restarted, d => d.GetProperty("status").GetString() == "healthy" && d.GetProperty("agents")[0].GetProperty("requests").GetInt64() >= 1,
            "the restarted agent's report");
        Assert.Equal(1, deployment.GetProperty("currentVersion").GetInt32());
        Assert.Equal(["created"], deployment.GetProperty("history").EnumerateArray().Select(h => h.GetProperty("kind").GetString()));
    }

    private static async Task RegisterAsync(HttpClient client, string fixture)
    {
        var bytes = await File.ReadAllBytesAsync(Path.Combine(AppContext.BaseDirectory, "fixtures", "models", fixture));
        using var registered = await client.PostAsync("/api/v1/models/mnist/versions", new ByteArrayContent(bytes));
        Assert.Equal(HttpStatusCode.Created, registered.StatusCode);
    }

    private static async Task<string> LocalAgentIdAsync(HttpClient client)
    {
        var agentId = "";
        await Eventually.WaitUntilAsync(async () =>
        {
            var online = (await client.GetFromJsonAsync<JsonElement>("/api/v1/agents")).EnumerateArray().FirstOrDefault(a => a.GetProperty("status").GetString() == "online");
            agentId = online.ValueKind == JsonValueKind.Object ? online.GetProperty("id").GetString()! : "";
            return agentId.Length > 0;
        }, Patience, "the local agent is online");
        return agentId;
    }

    private static async Task<JsonElement> WaitForAsync(HttpClient client, Func<JsonElement, bool> condition, string what)
    {
        JsonElement deployment = default;
        await Eventually.WaitUntilAsync(async () =>
        {
            deployment = await client.GetFromJsonAsync<JsonElement>("/api/v1/deployments/digits");
            return condition(deployment);
        }, Patience, () => $"{what}: {deployment}");
        return deployment;
    }

    private static object DigitRequest() => new
    {
        id = "request-1",
        inputs = new[] { new { name = "Input3", datatype = "FP32", shape = new[] { 1, 1, 28, 28 }, data = new float[28 * 28] } },
    };

    private static List<string?> Kinds(FeedTests.Subscriber events) =>
        [.. events.Messages.Select(m => m.Payload.GetProperty("event").GetProperty("kind").GetString())];

    public async Task DisposeAsync()
    {
        await _controlPlane.DisposeAsync();
        _temp.Dispose();
    }
}
