using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using EdgeGreen.Contracts.V1;
using EdgeGreen.ControlPlane.Core.Storage;
using Grpc.Core;

namespace EdgeGreen.ControlPlane.Tests.Deployments;

/// <summary>Deployments as desired state: stored through REST, answered to each target agent's heartbeat, its reports shown.</summary>
public sealed class DeploymentApiTests : ControlPlaneTest
{
    [Fact]
    public async Task Put_ThenHeartbeat_TargetAgentIsToldToServeTheVersion_MayDownloadIt_AndItsReportIsShown()
    {
        using var client = ControlPlane.CreateClient(await ControlPlane.MintApiKeyAsync(ApiKeyRole.Operator));
        var first = await RegisterAsync(client, "mnist-8.onnx");
        var second = await RegisterAsync(client, "ImageClassifier-cifar10.onnx");
        using var target = await RawAgent.EnrolAsync(ControlPlane, "edge-1");
        using var other = await RawAgent.EnrolAsync(ControlPlane, "edge-2");

        using var created = await client.PutAsJsonAsync("/api/v1/deployments/digits", new { model = "models:/mnist/1", target = new { agents = new[] { target.AgentId } }, threads = 1 });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);

        var told = await HeartbeatAsync(target);
        Assert.True(told.DeploymentsKnown);
        var desired = Assert.Single(told.Deployments);
        Assert.Equal(("digits", 1), (desired.Deployment, desired.Threads));
        Assert.Equal(("mnist", 1, first, 100), (desired.Versions[0].Model, desired.Versions[0].Version, desired.Versions[0].Sha256, desired.Versions[0].Weight));
        var untouched = await HeartbeatAsync(other);
        Assert.True(untouched.DeploymentsKnown);
        Assert.Empty(untouched.Deployments);

        // The target may fetch the model it is to serve; another agent may not.
        using (var download = target.Artifacts.Download(new DownloadArtifactRequest { Sha256 = first }, target.Headers))
        {
            Assert.True(await download.ResponseStream.MoveNext(CancellationToken.None));
        }

        var refused = await Assert.ThrowsAsync<RpcException>(async () =>
        {
            using var download = other.Artifacts.Download(new DownloadArtifactRequest { Sha256 = first }, other.Headers);
            await download.ResponseStream.MoveNext(CancellationToken.None);
        });
        Assert.Equal(StatusCode.PermissionDenied, refused.StatusCode);

        // The agent's report shows on the deployment.
        await HeartbeatAsync(target, new ServedDeployment
        {
            Deployment = "digits", Model = "mnist", Version = 1, State = "serving", Requests = 200, FailedRequests = 2, Inferences = 400, P99LatencyMs = 3.5, EnergyJoules = 8,
        });
        var shown = await client.GetFromJsonAsync<JsonElement>("/api/v1/deployments/digits");
        Assert.Equal(("healthy", 1), (shown.GetProperty("status").GetString(), shown.GetProperty("currentVersion").GetInt32()));
        var agent = Assert.Single(shown.GetProperty("agents").EnumerateArray());
        Assert.Equal((target.AgentId, "serving", 200L, 2L), (agent.GetProperty("agentId").GetString(), agent.GetProperty("state").GetString(),
            agent.GetProperty("requests").GetInt64(), agent.GetProperty("errors").GetInt64()));
        Assert.Equal(20, agent.GetProperty("energyPer1kInferencesJoules").GetDouble(), 9);

        // A new version: the agent is told at once; the deployment progresses until the agent serves it.
        using var updated = await client.PutAsJsonAsync("/api/v1/deployments/digits", new { model = "models:/mnist/2", target = new { agents = new[] { target.AgentId } } });
        Assert.Equal(HttpStatusCode.OK, updated.StatusCode);
        var changed = await updated.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal((2, 1, "progressing"), (changed.GetProperty("currentVersion").GetInt32(), changed.GetProperty("previousVersion").GetInt32(), changed.GetProperty("status").GetString()));
        Assert.Equal(["created", "updated"], changed.GetProperty("history").EnumerateArray().Select(h => h.GetProperty("kind").GetString()));
        Assert.Equal(second, Assert.Single((await HeartbeatAsync(target)).Deployments).Versions[0].Sha256);

        // Removed: the agent is told to serve nothing.
        Assert.Equal(HttpStatusCode.NoContent, (await client.DeleteAsync("/api/v1/deployments/digits")).StatusCode);
        Assert.Empty((await HeartbeatAsync(target)).Deployments);
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync("/api/v1/deployments/digits")).StatusCode);
    }

    [Fact]
    public async Task Put_BadInput_Is400NamingTheField_AndStoresNothing()
    {
        using var client = ControlPlane.CreateClient(await ControlPlane.MintApiKeyAsync(ApiKeyRole.Operator));
        await RegisterAsync(client, "mnist-8.onnx");

        await AssertRefusedAsync(client, "digits", new { model = "models:/missing/1", target = new { agents = new[] { "a1" } } }, "model");
        await AssertRefusedAsync(client, "digits", new { model = "models:/mnist/1" }, "target");
        await AssertRefusedAsync(client, "digits", new { model = "models:/mnist/1", target = new { zones = new[] { "ES" } }, threads = 999 }, "threads");
        await AssertRefusedAsync(client, "digits", new { model = "models:/mnist/1", target = new { zones = new[] { "ES" } }, strategy = new { type = "blue-green" } }, "strategy.type");
        await AssertRefusedAsync(client, "digits", new { model = "models:/mnist/1", target = new { zones = new[] { "ES" } },
            strategy = new { type = "canary", steps = new[] { new { percent = 50, pause = "PT1M" } } } }, "strategy.steps");
        await AssertRefusedAsync(client, "bad name", new { model = "models:/mnist/1", target = new { zones = new[] { "ES" } } }, "name");
        Assert.Empty((await client.GetFromJsonAsync<JsonElement>("/api/v1/deployments")).EnumerateArray());

        using var viewer = ControlPlane.CreateClient(await ControlPlane.MintApiKeyAsync(ApiKeyRole.Viewer));
        using var forbidden = await viewer.PutAsJsonAsync("/api/v1/deployments/digits", new { model = "models:/mnist/1", target = new { zones = new[] { "ES" } } });
        Assert.Equal(HttpStatusCode.Forbidden, forbidden.StatusCode);
    }

    private static async Task AssertRefusedAsync(HttpClient client, string name, object body, string field)
    {
        using var response = await client.PutAsJsonAsync($"/api/v1/deployments/{Uri.EscapeDataString(name)}", body);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(problem.GetProperty("errors").TryGetProperty(field, out _), problem.ToString());
    }

    /// <summary>Registers the fixture model as the next version of <c>mnist</c> (the name is all the deployment cares about); returns its SHA-256.</summary>
    private static async Task<string> RegisterAsync(HttpClient client, string fixture)
    {
        var bytes = await File.ReadAllBytesAsync(Path.Combine(AppContext.BaseDirectory, "fixtures", "models", fixture));
        using var response = await client.PostAsync("/api/v1/models/mnist/versions", new ByteArrayContent(bytes));
        var version = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(response.StatusCode == HttpStatusCode.Created, version.ToString());
        return version.GetProperty("sha256").GetString()!;
    }

    private static async Task<HeartbeatResponse> HeartbeatAsync(RawAgent agent, params ServedDeployment[] serving)
    {
        var request = new HeartbeatRequest { State = new AgentState { AgentVersion = "test", Zone = "ES", Capacity = new Capacity { CpuCores = 2 } } };
        request.Serving.Add(serving);
        return await agent.Agents.HeartbeatAsync(request, agent.Headers);
    }
}
