using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using EdgeGreen.Agent.Jobs;
using EdgeGreen.Agent.Jobs.Ml;
using EdgeGreen.Agent.Serving;
using EdgeGreen.Contracts.V1;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using Inference;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Onnx;
using static EdgeGreen.Agent.Tests.OnnxGraphs;

namespace EdgeGreen.Agent.Tests.Serving;

/// <summary>The agent's side of deployments: desired versions loaded from artifacts, served by deployment name, measured.</summary>
public sealed class DeploymentReconcilerTests : IDisposable
{
    private readonly string _dataDirectory = Directory.CreateTempSubdirectory("edgegreen-deployments-").FullName;
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2025, 3, 1, 12, 0, 0, TimeSpan.Zero));
    private readonly StoredArtifacts _artifacts = new();
    private readonly ServedModels _models = new();
    private readonly DeploymentReconciler _reconciler;
    private readonly OpenInferenceProtocol _protocol;
    private readonly string _v1;
    private readonly string _v2;

    public DeploymentReconcilerTests()
    {
        var options = Options.Create(new AgentOptions { DataDirectory = _dataDirectory });
        _reconciler = new DeploymentReconciler(_models, _artifacts, new InferenceProviders(options, NullLogger<InferenceProviders>.Instance),
            options, _time, NullLogger<DeploymentReconciler>.Instance);
        _protocol = new OpenInferenceProtocol(_models);
        _v1 = _artifacts.Store(Model("v1"));
        _v2 = _artifacts.Store(Model("v2"));
    }

    [Fact]
    public async Task Reconcile_DesiredVersion_LoadsServesByDeploymentNameAndUnloads()
    {
        await Reconcile(Desired(("churn", "scorer", 1, _v1, 100)));

        var (status, body) = await Infer("/v2/models/churn/infer", key: null);
        Assert.Equal(200, status);
        Assert.Equal(("scorer", "1"), (body.GetProperty("model_name").GetString(), body.GetProperty("model_version").GetString()));
        Assert.Equal(200, (await _protocol.AnswerAsync("GET", "/v2/models/churn/ready", Stream.Null, CancellationToken.None)).Status);
        Assert.Equal(200, (await _protocol.AnswerAsync("GET", "/v2/models/churn", Stream.Null, CancellationToken.None)).Status);
        Assert.True(File.Exists(Path.Combine(_dataDirectory, "deployments", "artifacts", _v1 + ".onnx")));
        var served = Assert.Single(_reconciler.Report());
        Assert.Equal(("churn", "scorer", 1, "serving", 1UL), (served.Deployment, served.Model, served.Version, served.State, served.Requests));

        await Reconcile(Desired());

        Assert.Equal(404, (await Infer("/v2/models/churn/infer", key: null)).Status);
        Assert.Empty(_reconciler.Report());
        Assert.False(File.Exists(Path.Combine(_dataDirectory, "deployments", "artifacts", _v1 + ".onnx")));
    }

    [Fact]
    public async Task Find_DeploymentNamedLikeAServedModel_DeploymentWins()
    {
        using var session = new Microsoft.ML.OnnxRuntime.InferenceSession(Model("job").ToByteArray());
        using var job = _models.Add(new ServedModel("churn", "7", session));
        await Reconcile(Desired(("churn", "scorer", 1, _v1, 100)));

        var (status, body) = await Infer("/v2/models/churn/infer", key: null);

        Assert.Equal(200, status);
        Assert.Equal("scorer", body.GetProperty("model_name").GetString());
    }

    [Fact]
    public async Task Infer_SplitSeventyThirty_OneKeyAlwaysReachesOneVersion_AndTheShareFollowsTheWeights()
    {
        await Reconcile(Desired(("churn", "scorer", 1, _v1, 70), ("churn", "scorer", 2, _v2, 30)));

        foreach (var key in new[] { "alice", "bob", "carol" })
        {
            var answers = new HashSet<string>();
            for (var i = 0; i < 20; i++)
            {
                answers.Add((await Infer("/v2/models/churn/infer", key)).Body.GetProperty("model_version").GetString()!);
            }

            Assert.Single(answers);
        }

        // The request's id stands in for the header.
        var byId = new HashSet<string>();
        for (var i = 0; i < 10; i++)
        {
            byId.Add((await Infer("/v2/models/churn/infer", key: null, id: "request-17")).Body.GetProperty("model_version").GetString()!);
        }

        Assert.Single(byId);

        // 10,000 random keys: the first version's share is binomial(10,000, 0.7), sd 0.46 %; ±3 % is over 6 sd.
        var first = 0;
        for (var i = 0; i < 10_000; i++)
        {
            var model = _models.Find("churn", null, () => Guid.NewGuid().ToString());
            first += model!.Version == "1" ? 1 : 0;
        }

        Assert.InRange(first, 6_700, 7_300);

        // A version directly.
        Assert.Equal("2", (await Infer("/v2/models/churn/versions/2/infer", key: "alice")).Body.GetProperty("model_version").GetString());
    }

    [Fact]
    public async Task Reconcile_FailedLoad_ReportedWithTheReason_AndRetriedOnlyAfterBackoff()
    {
        var missing = Convert.ToHexStringLower(SHA256.HashData("not yet stored"u8));
        await Reconcile(Desired(("churn", "scorer", 1, missing, 100)));

        var failed = Assert.Single(_reconciler.Report());
        Assert.Equal("failed", failed.State);
        Assert.Contains("PermissionDenied", failed.Error, StringComparison.Ordinal);
        Assert.Equal(1, _artifacts.Downloads);

        // Later heartbeats within the backoff do not try again.
        _time.Advance(DeploymentReconciler.FirstRetry - TimeSpan.FromSeconds(1));
        await Reconcile(Desired(("churn", "scorer", 1, missing, 100)));
        Assert.Equal(1, _artifacts.Downloads);
        Assert.Equal(TimeSpan.FromSeconds(1), _reconciler.NextRetryIn());

        _artifacts.Store(missing, Model("late"));
        _time.Advance(TimeSpan.FromSeconds(1));
        await _reconciler.ReconcileAsync(CancellationToken.None);

        Assert.Equal(2, _artifacts.Downloads);
        Assert.Equal("serving", Assert.Single(_reconciler.Report()).State);
        Assert.Equal(200, (await Infer("/v2/models/churn/infer", key: null)).Status);
    }

    [Fact]
    public async Task Reconcile_SecondFailure_WaitsTwiceAsLong()
    {
        var missing = Convert.ToHexStringLower(SHA256.HashData("never stored"u8));
        await Reconcile(Desired(("churn", "scorer", 1, missing, 100)));
        _time.Advance(DeploymentReconciler.FirstRetry);
        await _reconciler.ReconcileAsync(CancellationToken.None);

        Assert.Equal(2, _artifacts.Downloads);
        Assert.Equal(DeploymentReconciler.FirstRetry * 2, _reconciler.NextRetryIn());
    }

    [Fact]
    public async Task Apply_DeploymentsNotKnown_ChangesNothing()
    {
        await Reconcile(Desired(("churn", "scorer", 1, _v1, 100)));

        var older = Desired(("other", "scorer", 2, _v2, 100));
        older.DeploymentsKnown = false;
        await Reconcile(older);
        await Reconcile(new HeartbeatResponse());

        Assert.Equal(("churn", "serving"), Assert.Single(_reconciler.Report()) is var s ? (s.Deployment, s.State) : default);
        Assert.Equal(200, (await Infer("/v2/models/churn/infer", key: null)).Status);
        Assert.Equal(404, (await Infer("/v2/models/other/infer", key: null)).Status);
    }

    [Fact]
    public async Task Report_CountsRequestsFailuresRowsAndLatency()
    {
        await Reconcile(Desired(("churn", "scorer", 1, _v1, 100)));
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(200, (await Infer("/v2/models/churn/infer", key: null)).Status);
        }

        var bad = await _protocol.AnswerAsync("POST", "/v2/models/churn/infer", new MemoryStream("""{"inputs": []}"""u8.ToArray()), CancellationToken.None);
        Assert.Equal(400, bad.Status);

        var served = Assert.Single(_reconciler.Report());
        Assert.Equal((3UL, 1UL, 6UL), (served.Requests, served.FailedRequests, served.Inferences));
        Assert.True(served.P99LatencyMs > 0);
        Assert.Equal(_time.GetUtcNow(), served.Since.ToDateTimeOffset());
    }

    [Fact]
    public async Task GrpcInfer_SplitDeployment_KeyFromMetadataIsSticky()
    {
        await Reconcile(Desired(("churn", "scorer", 1, _v1, 50), ("churn", "scorer", 2, _v2, 50)));
        await using var endpoint = new InferenceGrpcEndpoint(Options.Create(new AgentOptions { GrpcUrl = "http://127.0.0.1:0" }), _models,
            NullLoggerFactory.Instance, NullLogger<InferenceGrpcEndpoint>.Instance);
        await endpoint.StartAsync(CancellationToken.None);
        using var channel = GrpcChannel.ForAddress(endpoint.Address!);
        var client = new GRPCInferenceService.GRPCInferenceServiceClient(channel);
        var request = new ModelInferRequest { ModelName = "churn" };
        var input = new ModelInferRequest.Types.InferInputTensor { Name = "x", Datatype = "FP32", Shape = { 1, 2 } };
        input.Contents = new InferTensorContents { Fp32Contents = { 0f, 1f } };
        request.Inputs.Add(input);

        foreach (var key in new[] { "alice", "bob", "carol", "dave" })
        {
            var versions = new HashSet<string>();
            for (var i = 0; i < 10; i++)
            {
                var response = await client.ModelInferAsync(request, new Metadata { { GrpcInferenceService.RequestKeyMetadata, key } });
                Assert.Equal("scorer", response.ModelName);
                versions.Add(response.ModelVersion);
            }

            Assert.Equal(DeploymentRoute.Bucket(key, 100) < 50 ? "1" : "2", Assert.Single(versions));
        }

        await endpoint.StopAsync(CancellationToken.None);
    }

    [Fact]
    public void LatencyWindow_KeepsTheLatest1024_AndAnswersTheNearestRank()
    {
        var window = new LatencyWindow();
        Assert.Equal(0, window.Percentile(99));
        for (var i = 1; i <= 1000; i++)
        {
            window.Add(TimeSpan.FromMilliseconds(i));
        }

        Assert.Equal(990, window.Percentile(99));
        for (var i = 0; i < LatencyWindow.Capacity; i++)
        {
            window.Add(TimeSpan.FromMilliseconds(5));
        }

        Assert.Equal(5, window.Percentile(99));
    }

    public void Dispose()
    {
        _reconciler.Dispose();
        Directory.Delete(_dataDirectory, recursive: true);
    }

    private async Task Reconcile(HeartbeatResponse response)
    {
        _reconciler.Apply(response);
        await _reconciler.ReconcileAsync(CancellationToken.None);
    }

    private static HeartbeatResponse Desired(params (string Deployment, string Model, int Version, string Sha256, int Weight)[] versions)
    {
        var response = new HeartbeatResponse { DeploymentsKnown = true };
        foreach (var group in versions.GroupBy(v => v.Deployment))
        {
            var deployment = new DesiredDeployment { Deployment = group.Key, Threads = 1 };
            deployment.Versions.Add(group.Select(v => new DeploymentVersion { Model = v.Model, Version = v.Version, Sha256 = v.Sha256, Weight = v.Weight }));
            response.Deployments.Add(deployment);
        }

        return response;
    }

    private async Task<(int Status, JsonElement Body)> Infer(string path, string? key, string? id = null)
    {
        var idPart = id is null ? "" : $"\"id\": \"{id}\", ";
        var body = Encoding.UTF8.GetBytes($$"""{{{idPart}}"inputs": [{"name": "x", "shape": [2, 2], "datatype": "FP32", "data": [0, 1, 2, 3]}]}""");
        var reply = await _protocol.AnswerAsync("POST", path, new MemoryStream(body), body.Length, null, key, CancellationToken.None);
        return (reply.Status, JsonDocument.Parse(reply.Body).RootElement.Clone());
    }

    /// <summary>y = sigmoid(x); the graph's name tells the artifacts apart.</summary>
    private static ModelProto Model(string name)
    {
        var graph = new GraphProto { Name = name };
        graph.Input.Add(Tensor("x", Float, null, 2));
        graph.Node.Add(Node("Sigmoid", "", ["x"], ["y"]));
        graph.Output.Add(Tensor("y", Float, null, 2));
        return OnnxGraphs.Model(graph);
    }

    /// <summary>The control plane's artifact store as the agent sees it: a SHA-256 it does not hold is refused, as one not tied to the agent's work is.</summary>
    internal sealed class StoredArtifacts : IArtifacts
    {
        private readonly Dictionary<string, byte[]> _bytes = [];
        private int _downloads;

        public int Downloads => Volatile.Read(ref _downloads);

        public string Store(ModelProto model)
        {
            var bytes = model.ToByteArray();
            var sha256 = Convert.ToHexStringLower(SHA256.HashData(bytes));
            _bytes[sha256] = bytes;
            return sha256;
        }

        public void Store(string sha256, ModelProto model) => _bytes[sha256] = model.ToByteArray();

        public async Task DownloadAsync(string sha256, string path, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _downloads);
            if (!_bytes.TryGetValue(sha256, out var bytes))
            {
                throw new RpcException(new Status(StatusCode.PermissionDenied, "The artifact is not tied to work assigned to this agent."));
            }

            await File.WriteAllBytesAsync(path, bytes, cancellationToken);
        }

        public Task<(string Sha256, long Size)> UploadAsync(string path, CancellationToken cancellationToken) =>
            throw new NotSupportedException("Deployments only download.");
    }
}
