using System.Net;
using System.Text;
using EdgeGreen.Agent.Jobs.Ml;
using EdgeGreen.Agent.Monitoring;
using EdgeGreen.Agent.Outbox;
using EdgeGreen.Agent.Serving;
using EdgeGreen.Agent.Tests.Serving;
using EdgeGreen.Contracts.V1;
using EdgeGreen.Shared;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Onnx;
using static EdgeGreen.Agent.Tests.Monitoring.Profiles;

namespace EdgeGreen.Agent.Tests.Monitoring;

/// <summary>A deployed MNIST model with a monitoring profile, served over the agent's REST <c>/v2</c>, summarised into the outbox.</summary>
public sealed class MonitoringEndToEndTests : IAsyncLifetime
{
    private const string InputName = "Input3";
    private const string OutputName = "Plus214_Output_0";
    private static readonly DateTimeOffset Noon = new(2025, 3, 1, 12, 0, 0, TimeSpan.Zero);

    private readonly string _directory = Directory.CreateTempSubdirectory("edgegreen-monitoring-").FullName;
    private readonly FakeTimeProvider _time = new(Noon);
    private readonly ServedModels _models = new();
    private readonly DeploymentReconcilerTests.StoredArtifacts _artifacts = new();
    private readonly ReadingOutbox _file;
    private readonly InferenceSummaryOutbox _outbox;
    private readonly InferenceMonitors _monitors;
    private readonly DeploymentReconciler _reconciler;
    private readonly AgentEndpoint _endpoint;
    private readonly HttpClient _http;
    private readonly string _sha256;

    public MonitoringEndToEndTests()
    {
        var options = Options.Create(new AgentOptions { DataDirectory = _directory });
        var metrics = new AgentMetrics(Prometheus.Metrics.WithCustomRegistry(Prometheus.Metrics.NewCustomRegistry()));
        _file = ReadingOutboxTests.Open(_directory);
        _outbox = new InferenceSummaryOutbox(_file, options, metrics, new LogThrottle(_time), NullLogger<InferenceSummaryOutbox>.Instance);
        _monitors = new InferenceMonitors(_outbox, options, _time, metrics, NullLoggerFactory.Instance);
        _reconciler = new DeploymentReconciler(_models, _artifacts, new InferenceProviders(options, NullLogger<InferenceProviders>.Instance),
            options, _time, NullLogger<DeploymentReconciler>.Instance, ledger: null, metrics, _monitors);
        _sha256 = _artifacts.Store(ModelProto.Parser.ParseFrom(File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "fixtures", "models", "mnist-8.onnx"))));
        var port = AgentEndpointTests.FreePort();
        _endpoint = new AgentEndpoint(Options.Create(new AgentOptions { HttpUrl = $"http://127.0.0.1:{port}" }), Prometheus.Metrics.NewCustomRegistry(),
            new OpenInferenceProtocol(_models), NullLogger<AgentEndpoint>.Instance);
        _http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/") };
    }

    public Task InitializeAsync() => _endpoint.StartAsync(CancellationToken.None);

    [Fact]
    public async Task Infer_OverRest_PixelsAndScoresLandInTheProfilesBins_AndTheWindowIsWrittenToTheOutbox()
    {
        await Deploy(Profile(TimeSpan.FromMinutes(1), [Numeric(InputName, 0, 0.5, 1, 256)], [Numeric(OutputName, -1e6, 0, 1e6)],
            sampleRate: 1, sampleSize: 5, logPredictions: true));

        Assert.Equal(HttpStatusCode.OK, (await Infer("req-1")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await Infer("req-2")).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await Infer("bad", pixels: 10)).StatusCode);
        _time.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal(1, _monitors.FlushDue());

        var summary = Assert.Single(_outbox.Pending(10)).Summary;
        Assert.Equal(("digits/1/1740830400", 2UL, 1UL, 2UL), (summary.Id, summary.Requests, summary.FailedRequests, summary.Inferences));
        var pixels = Assert.Single(summary.Inputs);
        // Per request: 100 zeros, 200 pixels at 0.75, 484 at 200 (the last bin, and beyond it).
        Assert.Equal([200UL, 400UL, 968UL], pixels.Counts);
        Assert.Equal((0UL, 1_568UL), (pixels.Missing, pixels.Count));
        Assert.Equal(2 * (200 * 0.75 + 484 * 200.0), pixels.Sum, 6);
        Assert.Equal((0.0, 200.0), (pixels.Min, pixels.Max));
        // One score per request: the last column of the [1, 10] output.
        Assert.Equal(2UL, Assert.Single(summary.Outputs).Counts.Aggregate((a, b) => a + b));
        Assert.Equal(["req-1", "req-2"], summary.Predictions.Select(p => p.RequestId).Order());
        Assert.Equal(2, summary.Samples.Count);
        Assert.All(summary.Samples, s => Assert.Equal(784, Assert.Single(s.Inputs).Values.Count));
        Assert.Equal(2UL, summary.SampleOffered);
    }

    [Fact]
    public async Task ModelInfer_OverGrpc_LogsThePredictionUnderTheRequestsId()
    {
        await Deploy(Profile(TimeSpan.FromMinutes(1), [Numeric(InputName, 0, 1)], [Numeric(OutputName, -1e6, 0, 1e6)], logPredictions: true));
        await using var endpoint = new InferenceGrpcEndpoint(Options.Create(new AgentOptions { GrpcUrl = "http://127.0.0.1:0" }), _models,
            NullLoggerFactory.Instance, NullLogger<InferenceGrpcEndpoint>.Instance);
        await endpoint.StartAsync(CancellationToken.None);
        using var channel = Grpc.Net.Client.GrpcChannel.ForAddress(endpoint.Address!);
        var request = new Inference.ModelInferRequest { ModelName = "digits", Id = "grpc-1" };
        var input = new Inference.ModelInferRequest.Types.InferInputTensor { Name = InputName, Datatype = "FP32", Shape = { 1, 1, 28, 28 } };
        input.Contents = new Inference.InferTensorContents { Fp32Contents = { new float[784] } };
        request.Inputs.Add(input);

        await new Inference.GRPCInferenceService.GRPCInferenceServiceClient(channel).ModelInferAsync(request);
        await endpoint.StopAsync(CancellationToken.None);
        _time.Advance(TimeSpan.FromMinutes(1));
        _monitors.FlushDue();

        var summary = Assert.Single(_outbox.Pending(10)).Summary;
        Assert.Equal("grpc-1", Assert.Single(summary.Predictions).RequestId);
        Assert.Equal([784UL], summary.Inputs[0].Counts);
    }

    [Fact]
    public async Task Reconcile_VersionUnloadedMidWindow_WritesWhatItCounted()
    {
        await Deploy(Profile(TimeSpan.FromMinutes(5), [Numeric(InputName, 0, 1)]));
        _time.Advance(TimeSpan.FromSeconds(30));
        Assert.Equal(HttpStatusCode.OK, (await Infer(null)).StatusCode);
        _time.Advance(TimeSpan.FromSeconds(30));

        _reconciler.Apply(new HeartbeatResponse { DeploymentsKnown = true });
        await _reconciler.ReconcileAsync(CancellationToken.None);

        var summary = Assert.Single(_outbox.Pending(10)).Summary;
        Assert.Equal((Noon, TimeSpan.FromMinutes(1), 1UL), (summary.WindowStart.ToDateTimeOffset(), summary.Window.ToTimeSpan(), summary.Requests));
        Assert.Equal(0, _monitors.Count);
    }

    [Fact]
    public async Task Reconcile_ProfileOutOfBounds_ServesTheVersionUnmonitored()
    {
        await Deploy(Profile(TimeSpan.FromMilliseconds(10), [Numeric(InputName, 0, 1)]));

        Assert.Equal(HttpStatusCode.OK, (await Infer(null)).StatusCode);
        Assert.Equal(0, _monitors.Count);
    }

    public async Task DisposeAsync()
    {
        await _endpoint.StopAsync(CancellationToken.None);
        _endpoint.Dispose();
        _http.Dispose();
        _reconciler.Dispose();
        _file.Dispose();
        Directory.Delete(_directory, recursive: true);
    }

    private async Task Deploy(MonitoringProfile profile)
    {
        var deployment = new DesiredDeployment { Deployment = "digits", Threads = 1 };
        deployment.Versions.Add(new DeploymentVersion { Model = "mnist", Version = 1, Sha256 = _sha256, Weight = 100, Monitoring = profile });
        _reconciler.Apply(new HeartbeatResponse { DeploymentsKnown = true, Deployments = { deployment } });
        await _reconciler.ReconcileAsync(CancellationToken.None);
        Assert.Equal("serving", Assert.Single(_reconciler.Report()).State);
    }

    private async Task<HttpResponseMessage> Infer(string? id, int pixels = 784)
    {
        var data = Enumerable.Repeat("0", 100).Concat(Enumerable.Repeat("0.75", 200)).Concat(Enumerable.Repeat("200", 484)).Take(pixels);
        var idPart = id is null ? "" : $"\"id\": \"{id}\", ";
        var body = $$"""{{{idPart}}"inputs": [{"name": "{{InputName}}", "shape": [1, 1, 28, 28], "datatype": "FP32", "data": [{{string.Join(",", data)}}]}]}""";
        return await _http.PostAsync("v2/models/digits/infer", new StringContent(body, Encoding.UTF8, "application/json"));
    }
}
