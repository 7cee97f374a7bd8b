using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace EdgeGreen.ControlPlane.Tests.Deployments;

/// <summary>A deployment kept on the single-node system's local agent, reached under the control plane's own <c>/v2</c>.</summary>
public sealed class LocalDeploymentTests : IAsyncLifetime
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);
    private readonly TempDirectory _temp = new();
    private TestControlPlane _controlPlane = null!;

    public async Task InitializeAsync() =>
        _controlPlane = await TestControlPlane.StartAsync(_temp.Path, localAgent: true);

    [Fact]
    public async Task Put_LocalAgentServesTheModelByTheDeploymentsName_ReportsItsRequests_AndMovesToANewVersion()
    {
        using var client = _controlPlane.CreateClient(_controlPlane.AdminKey);
        var mnist = await File.ReadAllBytesAsync(Path.Combine(AppContext.BaseDirectory, "fixtures", "models", "mnist-8.onnx"));
        using (var registered = await client.PostAsync("/api/v1/models/mnist/versions", new ByteArrayContent(mnist)))
        {
            Assert.Equal(HttpStatusCode.Created, registered.StatusCode);
        }

        var agentId = "";
        await Eventually.WaitUntilAsync(async () =>
        {
            var online = (await client.GetFromJsonAsync<JsonElement>("/api/v1/agents")).EnumerateArray().FirstOrDefault(a => a.GetProperty("status").GetString() == "online");
            agentId = online.ValueKind == JsonValueKind.Object ? online.GetProperty("id").GetString()! : "";
            return agentId.Length > 0;
        }, Patience, "the local agent is online");

        using (var put = await client.PutAsJsonAsync("/api/v1/deployments/digits", new { model = "models:/mnist/1", target = new { agents = new[] { agentId } } }))
        {
            Assert.Equal(HttpStatusCode.Created, put.StatusCode);
        }

        // The next heartbeat tells the agent; it fetches the model and serves it as "digits".
        await Eventually.WaitUntilAsync(async () => (await client.GetAsync("/v2/models/digits/ready")).StatusCode == HttpStatusCode.OK, Patience,
            "the local agent serves the deployment");
        var body = new
        {
            id = "request-1",
            inputs = new[] { new { name = "Input3", datatype = "FP32", shape = new[] { 1, 1, 28, 28 }, data = new float[28 * 28] } },
        };
        using (var inferred = await client.PostAsJsonAsync("/v2/models/digits/infer", body))
        {
            Assert.Equal(HttpStatusCode.OK, inferred.StatusCode);
            var answer = await inferred.Content.ReadFromJsonAsync<JsonElement>();
            Assert.Equal(("mnist", "1"), (answer.GetProperty("model_name").GetString(), answer.GetProperty("model_version").GetString()));
        }

        JsonElement deployment = default;
        await Eventually.WaitUntilAsync(async () =>
        {
            deployment = await client.GetFromJsonAsync<JsonElement>("/api/v1/deployments/digits");
            return deployment.GetProperty("status").GetString() == "healthy" && deployment.GetProperty("agents")[0].GetProperty("requests").GetInt64() == 1;
        }, Patience, () => $"the deployment is healthy with the request counted: {deployment}");
        Assert.Equal(agentId, deployment.GetProperty("agents")[0].GetProperty("agentId").GetString());

        // A second version: the agent loads it and answers with it; the first is unloaded.
        var cifar = await File.ReadAllBytesAsync(Path.Combine(AppContext.BaseDirectory, "fixtures", "models", "ImageClassifier-cifar10.onnx"));
        using (var registered = await client.PostAsync("/api/v1/models/mnist/versions", new ByteArrayContent(cifar)))
        {
            Assert.Equal(HttpStatusCode.Created, registered.StatusCode);
        }

        using (var put = await client.PutAsJsonAsync("/api/v1/deployments/digits", new { model = "models:/mnist/2", target = new { agents = new[] { agentId } } }))
        {
            Assert.Equal(HttpStatusCode.OK, put.StatusCode);
        }

        await Eventually.WaitUntilAsync(async () =>
        {
            deployment = await client.GetFromJsonAsync<JsonElement>("/api/v1/deployments/digits");
            return deployment.GetProperty("status").GetString() == "healthy" && deployment.GetProperty("agents")[0].GetProperty("version").GetInt32() == 2;
        }, Patience, () => $"the agent serves version 2: {deployment}");
        var metadata = await client.GetFromJsonAsync<JsonElement>("/v2/models/digits");
        Assert.Equal("2", Assert.Single(metadata.GetProperty("versions").EnumerateArray()).GetString());

        // Removed: the agent stops serving it.
        Assert.Equal(HttpStatusCode.NoContent, (await client.DeleteAsync("/api/v1/deployments/digits")).StatusCode);
        await Eventually.WaitUntilAsync(async () => (await client.GetAsync("/v2/models/digits/ready")).StatusCode == HttpStatusCode.NotFound, Patience,
            "the local agent no longer serves the deployment");
    }

    public async Task DisposeAsync()
    {
        await _controlPlane.DisposeAsync();
        _temp.Dispose();
    }
}
