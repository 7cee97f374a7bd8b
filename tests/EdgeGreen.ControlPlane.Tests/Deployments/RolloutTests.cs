using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using EdgeGreen.Contracts.V1;
using EdgeGreen.ControlPlane.Core.Storage;
using Google.Protobuf.WellKnownTypes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace EdgeGreen.ControlPlane.Tests.Deployments;

/// <summary>
/// Step-by-step rollouts over three agents that report what they serve the way agents do (their
/// heartbeats): a good version is promoted step by step, one that errors is rolled back with the reason.
/// </summary>
public sealed class RolloutTests : ControlPlaneTest
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    protected override IReadOnlyDictionary<string, string?>? Settings => new Dictionary<string, string?>
    {
        ["EdgeGreen:Deployments:AnalysisInterval"] = "00:00:00.100",
        ["EdgeGreen:Outbound:AllowedNetworks:0"] = "127.0.0.0/8",
    };

    [Fact]
    public async Task Rolling_GoodVersion_IsPromotedStepByStep_OverTheTargetAgents()
    {
        var (client, fleet) = await StartAsync(failingVersion: null);
        await using var _ = fleet;

        var rolled = await PutAsync(client, version: 2, new { type = "rolling", steps = new[] { new { percent = 33, pause = "PT0S" }, new { percent = 100, pause = "PT0S" } },
            analysis = new { minRequests = 20, maxErrorRate = 0.05 } });
        Assert.Equal(("progressing", 1), (rolled.GetProperty("status").GetString(), rolled.GetProperty("step").GetInt32()));

        // The first step gives version 2 to one agent of three; the others keep version 1.
        await Eventually.WaitUntilAsync(() => fleet.Serving().Count(v => v == 2) >= 1, Patience, "one agent serves version 2");
        var deployment = await WaitForStatusAsync(client, "healthy");
        Assert.Equal(2, deployment.GetProperty("currentVersion").GetInt32());
        Assert.All(fleet.Serving(), v => Assert.Equal(2, v));
        Assert.Equal(["created", "rollout-started", "step", "promoted"], deployment.GetProperty("history").EnumerateArray().Select(h => h.GetProperty("kind").GetString()));
        Assert.True(fleet.SawMixed, "a step served both versions at once");
    }

    [Fact]
    public async Task Canary_VersionThatErrors_IsRolledBackAutomaticallyWithTheReason()
    {
        var events = System.Threading.Channels.Channel.CreateUnbounded<JsonElement>();
        await using var subscriber = await StubServer.StartAsync(routes => routes.MapPost("/hook", async (HttpContext context) =>
        {
            events.Writer.TryWrite(await context.Request.ReadFromJsonAsync<JsonElement>());
            return Results.Ok();
        }));
        using (var hook = await AdminClient.PostAsJsonAsync("/api/v1/webhooks", new { url = new Uri(subscriber.Url, "hook"), events = new[] { "deployment.changed" } }))
        {
            Assert.Equal(HttpStatusCode.Created, hook.StatusCode);
        }

        var (client, fleet) = await StartAsync(failingVersion: 2);
        await using var _ = fleet;

        await PutAsync(client, version: 2, new { type = "canary", steps = new[] { new { percent = 33, pause = "PT0S" }, new { percent = 100, pause = "PT0S" } },
            analysis = new { minRequests = 20, maxErrorRate = 0.05 } });

        var deployment = await WaitForStatusAsync(client, "rolled-back");
        Assert.Equal((1, 2), (deployment.GetProperty("currentVersion").GetInt32(), deployment.GetProperty("previousVersion").GetInt32()));
        Assert.Contains("error rate", deployment.GetProperty("statusReason").GetString(), StringComparison.Ordinal);
        Assert.Equal("rolled-back", deployment.GetProperty("history").EnumerateArray().Last().GetProperty("kind").GetString());
        await Eventually.WaitUntilAsync(() => fleet.Serving().All(v => v == 1), Patience, "every agent is back on version 1");
        // Only the canary's share ever served version 2.
        Assert.Equal(1, fleet.AgentsThatServed(2));

        // Each change went to the webhook (deliveries run side by side, so in any order).
        var kinds = new List<string>();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (kinds.Count < 3)
        {
            var delivered = await events.Reader.ReadAsync(timeout.Token);
            Assert.Equal("digits", delivered.GetProperty("data").GetProperty("deployment").GetString());
            kinds.Add(delivered.GetProperty("data").GetProperty("kind").GetString()!);
        }

        Assert.Equal(["created", "rolled-back", "rollout-started"], kinds.Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Canary_VersionThatUsesFarMoreEnergyPerInference_IsRolledBack()
    {
        var (client, fleet) = await StartAsync(failingVersion: null, costlyVersion: 2);
        await using var _ = fleet;

        await PutAsync(client, version: 2, new { type = "canary", steps = new[] { new { percent = 33, pause = "PT0S" }, new { percent = 100, pause = "PT0S" } },
            analysis = new { minRequests = 20, maxEnergyPer1kInferencesRatio = 1.5 } });

        var deployment = await WaitForStatusAsync(client, "rolled-back");
        Assert.Contains("energy per 1,000 inferences", deployment.GetProperty("statusReason").GetString(), StringComparison.Ordinal);
        Assert.Equal(1, deployment.GetProperty("currentVersion").GetInt32());
    }

    [Fact]
    public async Task Pause_HoldsTheRollout_ResumeGoesOn_AndRollbackGoesBackByHand()
    {
        var (client, fleet) = await StartAsync(failingVersion: null);
        await using var _ = fleet;
        await PutAsync(client, version: 2, new { type = "rolling", steps = new[] { new { percent = 33, pause = "PT30S" }, new { percent = 100, pause = "PT0S" } } });

        using var paused = await client.PostAsync("/api/v1/deployments/digits/pause", null);
        Assert.Equal(HttpStatusCode.OK, paused.StatusCode);
        Assert.Equal("paused", (await paused.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("status").GetString());
        Assert.Equal(HttpStatusCode.Conflict, (await client.PostAsync("/api/v1/deployments/digits/pause", null)).StatusCode);
        using var resumed = await client.PostAsync("/api/v1/deployments/digits/resume", null);
        Assert.Equal("progressing", (await resumed.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("status").GetString());

        using var rolledBack = await client.PostAsync("/api/v1/deployments/digits/rollback", null);
        var back = await rolledBack.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(("rolled-back", 1), (back.GetProperty("status").GetString(), back.GetProperty("currentVersion").GetInt32()));
        Assert.Contains("rolled back by a user", back.GetProperty("statusReason").GetString(), StringComparison.Ordinal);
        await Eventually.WaitUntilAsync(() => fleet.Serving().All(v => v == 1), Patience, "every agent is back on version 1");
    }

    private async Task<(HttpClient Client, Fleet Fleet)> StartAsync(int? failingVersion, int? costlyVersion = null)
    {
        var client = ControlPlane.CreateClient(await ControlPlane.MintApiKeyAsync(ApiKeyRole.Operator));
        foreach (var fixture in new[] { "mnist-8.onnx", "ImageClassifier-cifar10.onnx" })
        {
            using var registered = await client.PostAsync("/api/v1/models/mnist/versions",
                new ByteArrayContent(await File.ReadAllBytesAsync(Path.Combine(AppContext.BaseDirectory, "fixtures", "models", fixture))));
            Assert.Equal(HttpStatusCode.Created, registered.StatusCode);
        }

        var agents = new List<RawAgent>();
        for (var i = 0; i < 3; i++)
        {
            agents.Add(await RawAgent.EnrolAsync(ControlPlane, $"edge-{i}"));
        }

        using (var created = await client.PutAsJsonAsync("/api/v1/deployments/digits", new { model = "models:/mnist/1", target = new { zones = new[] { "ES" } } }))
        {
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        }

        var fleet = new Fleet(agents, failingVersion, costlyVersion);
        await Eventually.WaitUntilAsync(() => fleet.Serving().Count == 3 && fleet.Serving().All(v => v == 1), Patience, "every agent serves version 1");
        return (client, fleet);
    }

    private static async Task<JsonElement> PutAsync(HttpClient client, int version, object strategy)
    {
        using var response = await client.PutAsJsonAsync("/api/v1/deployments/digits", new { model = $"models:/mnist/{version}", target = new { zones = new[] { "ES" } }, strategy });
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(response.StatusCode == HttpStatusCode.OK, body.ToString());
        return body;
    }

    private static async Task<JsonElement> WaitForStatusAsync(HttpClient client, string status)
    {
        JsonElement deployment = default;
        await Eventually.WaitUntilAsync(async () =>
        {
            deployment = await client.GetFromJsonAsync<JsonElement>("/api/v1/deployments/digits");
            return deployment.GetProperty("status").GetString() == status;
        }, Patience, () => $"the deployment is {status}: {deployment}");
        return deployment;
    }

    /// <summary>
    /// Agents that heartbeat every 50 ms, serve whatever version they are told, and report 10
    /// requests per heartbeat for it (half of them failed for the failing version), at 0.1 J each
    /// (1 J each for the costly version).
    /// </summary>
    private sealed class Fleet : IAsyncDisposable
    {
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _running;
        private readonly Dictionary<string, int> _serving = [];
        private readonly HashSet<(string, int)> _served = [];
        private readonly Lock _gate = new();

        public Fleet(IReadOnlyList<RawAgent> agents, int? failingVersion, int? costlyVersion)
        {
            _running = Task.WhenAll(agents.Select(a => RunAsync(a, failingVersion, costlyVersion)));
        }

        public bool SawMixed { get; private set; }

        public IReadOnlyList<int> Serving()
        {
            lock (_gate)
            {
                return [.. _serving.Values];
            }
        }

        public int AgentsThatServed(int version)
        {
            lock (_gate)
            {
                return _served.Count(s => s.Item2 == version);
            }
        }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            await _running;
            _stop.Dispose();
        }

        private async Task RunAsync(RawAgent agent, int? failingVersion, int? costlyVersion)
        {
            using var _ = agent;
            var counters = new Dictionary<int, (Timestamp Since, ulong Requests, ulong Failed)>();
            while (!_stop.IsCancellationRequested)
            {
                var request = new HeartbeatRequest { State = new AgentState { AgentVersion = "test", Zone = "ES", Capacity = new Capacity { CpuCores = 2 } } };
                lock (_gate)
                {
                    if (_serving.TryGetValue(agent.AgentId, out var version))
                    {
                        var (since, requests, failed) = counters.GetValueOrDefault(version, (Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow), 0UL, 0UL));
                        var failures = version == failingVersion ? 5UL : 0UL;
                        counters[version] = (since, requests + 10 - failures, failed + failures);
                        request.Serving.Add(new ServedDeployment
                        {
                            Deployment = "digits", Model = "mnist", Version = version, State = "serving", Since = since,
                            Requests = counters[version].Requests, FailedRequests = counters[version].Failed, Inferences = counters[version].Requests,
                            EnergyJoules = counters[version].Requests * (version == costlyVersion ? 1.0 : 0.1),
                        });
                    }
                }

                try
                {
                    var response = await agent.Agents.HeartbeatAsync(request, agent.Headers, cancellationToken: _stop.Token);
                    lock (_gate)
                    {
                        if (response.Deployments.SingleOrDefault(d => d.Deployment == "digits") is { } desired)
                        {
                            var told = desired.Versions.Single().Version;
                            if (_serving.GetValueOrDefault(agent.AgentId) != told)
                            {
                                counters.Remove(told);
                            }

                            _serving[agent.AgentId] = told;
                            _served.Add((agent.AgentId, told));
                            SawMixed |= _serving.Values.Distinct().Count() > 1;
                        }
                    }

                    await Task.Delay(50, _stop.Token);
                }
                catch (Exception ex) when (_stop.IsCancellationRequested && ex is OperationCanceledException or Grpc.Core.RpcException)
                {
                    return;
                }
            }
        }
    }
}
