using System.Text.Json;
using EdgeGreen.Agent.Monitoring;
using EdgeGreen.Agent.Outbox;
using EdgeGreen.Agent.Uplink;
using EdgeGreen.Contracts.V1;
using EdgeGreen.Shared;
using Grpc.Core;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Prometheus;
using static EdgeGreen.Agent.Tests.Monitoring.InferenceSummaryOutboxTests;

namespace EdgeGreen.Agent.Tests.Monitoring;

/// <summary>The sender against a real gRPC <c>MonitoringService</c> on loopback.</summary>
public sealed class InferenceSummarySenderTests : IAsyncLifetime
{
    private readonly string _directory = Directory.CreateTempSubdirectory("edgegreen-summary-sender-").FullName;
    private readonly CollectorRegistry _registry = Prometheus.Metrics.NewCustomRegistry();
    private FakeMonitoringPlane _plane = null!;
    private ReadingOutbox _file = null!;
    private InferenceSummaryOutbox _outbox = null!;
    private AgentConnection _connection = null!;

    public async Task InitializeAsync()
    {
        _plane = await FakeMonitoringPlane.StartAsync();
        _file = ReadingOutboxTests.Open(_directory);
        await File.WriteAllTextAsync(Path.Combine(_directory, "agent-credential.json"), JsonSerializer.Serialize(new AgentIdentity("agent-1", "secret-1")));
    }

    [Fact]
    public async Task SendPending_ControlPlaneFailsThenTakes_DeletesOnlyAfterSuccess()
    {
        var sender = Sender();
        for (var i = 0; i < 3; i++)
        {
            _outbox.Add(Summary($"churn/3/{i}", requests: 5));
        }

        _plane.Answer = _ => new Status(StatusCode.Unavailable, "storage is down");
        Assert.False(await sender.SendPendingAsync(CancellationToken.None));
        Assert.Equal(3, _outbox.Count);

        _plane.Answer = _ => null;
        Assert.True(await sender.SendPendingAsync(CancellationToken.None));

        Assert.Equal(0, _outbox.Count);
        var (request, authorization, _) = _plane.Calls.Last();
        Assert.Equal("Bearer secret-1", authorization);
        Assert.Equal(["churn/3/0", "churn/3/1", "churn/3/2"], request.Summaries.Select(s => s.Id));
        Assert.Contains("edgegreen_agent_inference_summaries_sent_total 3", MetricsText.Scrape(_registry), StringComparison.Ordinal);
        Assert.Contains("edgegreen_agent_inference_summaries_send_failures_total 1", MetricsText.Scrape(_registry), StringComparison.Ordinal);
    }

    [Fact]
    public async Task SendPending_MoreThanOneMessageOfSummaries_SplitsThemUnderTheBound()
    {
        var sender = Sender(maxBatchBytes: 64 * 1024);
        for (var i = 0; i < 10; i++)
        {
            var summary = Summary($"churn/3/{i}", requests: 1);
            summary.Predictions.Add(Enumerable.Range(0, 1_000).Select(p => new LoggedPrediction { RequestId = $"request-{p:D6}", Value = 0.5 }));
            _outbox.Add(summary);
        }

        Assert.True(await sender.SendPendingAsync(CancellationToken.None));

        Assert.True(_plane.Calls.Count > 1);
        Assert.All(_plane.Calls, call => Assert.InRange(call.Bytes, 1, 64 * 1024));
        Assert.Equal(Enumerable.Range(0, 10).Select(i => $"churn/3/{i}"), _plane.Calls.SelectMany(c => c.Request.Summaries).Select(s => s.Id));
    }

    [Fact]
    public async Task SendPending_OneSummaryRefused_DropsAndCountsIt_AndDeliversTheRest()
    {
        var sender = Sender();
        foreach (var id in new[] { "churn/3/0", "bad", "churn/3/2" })
        {
            _outbox.Add(Summary(id, requests: 1));
        }

        _plane.Answer = request => request.Summaries.Any(s => s.Id == "bad") ? new Status(StatusCode.InvalidArgument, "bad id") : null;

        Assert.True(await sender.SendPendingAsync(CancellationToken.None));

        Assert.Equal(0, _outbox.Count);
        Assert.Equal(["churn/3/0", "churn/3/2"], _plane.Calls.Where(c => c.Request.Summaries.All(s => s.Id != "bad")).SelectMany(c => c.Request.Summaries).Select(s => s.Id));
        Assert.Contains("edgegreen_agent_inference_summaries_dropped_total{reason=\"refused\"} 1", MetricsText.Scrape(_registry), StringComparison.Ordinal);
    }

    [Fact]
    public async Task SendPending_SummaryRefusedInTheAnswer_IsDroppedAndCounted()
    {
        var sender = Sender();
        _outbox.Add(Summary("churn/3/0", requests: 1));
        _outbox.Add(Summary("churn/3/1", requests: 1));
        _plane.Refuse = s => s.Id == "churn/3/1" ? "agent agent-1 is not a target of deployment 'churn'." : null;

        Assert.True(await sender.SendPendingAsync(CancellationToken.None));

        Assert.Equal(0, _outbox.Count);
        Assert.Single(_plane.Calls);
        Assert.Contains("edgegreen_agent_inference_summaries_dropped_total{reason=\"refused\"} 1", MetricsText.Scrape(_registry), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Execute_WindowEnds_SummaryReachesTheControlPlaneOnTheNextTick()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2025, 3, 1, 12, 0, 0, TimeSpan.Zero));
        var monitors = Monitors(time);
        var sender = Sender(time: time, monitors: monitors);
        using var session = new Microsoft.ML.OnnxRuntime.InferenceSession(Path.Combine(AppContext.BaseDirectory, "fixtures", "models", "mnist-8.onnx"));
        var monitor = monitors.Start(Profiles.Churn, Profiles.Profile(TimeSpan.FromMinutes(1), [Profiles.Numeric("Input3", 0, 1)]), session, null)!;
        monitor.Record(null, 1, [("Input3", new float[784])], []);
        await sender.StartAsync(CancellationToken.None);

        // The loop starts on its own thread: tick until it has flushed and sent, whenever its timer began.
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (_plane.Calls.IsEmpty)
        {
            time.Advance(TimeSpan.FromSeconds(10));
            await Task.Delay(20, timeout.Token);
        }

        var summary = Assert.Single(Assert.Single(_plane.Calls).Request.Summaries);
        Assert.Equal([784UL], summary.Inputs[0].Counts);
        Assert.Equal(1UL, summary.Requests);
        await sender.StopAsync(CancellationToken.None);
        Assert.Equal(0, _outbox.Count);
    }

    public async Task DisposeAsync()
    {
        _connection?.Dispose();
        _file.Dispose();
        await _plane.DisposeAsync();
        Directory.Delete(_directory, recursive: true);
    }

    private InferenceMonitors Monitors(TimeProvider time)
    {
        _outbox ??= new InferenceSummaryOutbox(_file, Options(), Metrics(), new LogThrottle(time), NullLogger<InferenceSummaryOutbox>.Instance);
        return new InferenceMonitors(_outbox, Options(), time, Metrics(), NullLoggerFactory.Instance);
    }

    private InferenceSummarySender Sender(int maxBatchBytes = 1024 * 1024, TimeProvider? time = null, InferenceMonitors? monitors = null)
    {
        time ??= TimeProvider.System;
        var options = Options(maxBatchBytes);
        monitors ??= Monitors(time);
        _connection = new AgentConnection(new Address(_plane.Address), new NoToken(),
            new ControlPlaneTls("EdgeGreen:Agent", options, new LogThrottle(time), NullLogger<ControlPlaneTls>.Instance), options, NullLogger<AgentConnection>.Instance);
        return new InferenceSummarySender(monitors, _outbox, _connection, Metrics(), options, time, new LogThrottle(time), NullLogger<InferenceSummarySender>.Instance);
    }

    private IOptions<AgentOptions> Options(int maxBatchBytes = 1024 * 1024) => Microsoft.Extensions.Options.Options.Create(new AgentOptions
    {
        DataDirectory = _directory,
        Monitoring = { MaxBatchBytes = maxBatchBytes, SendInterval = TimeSpan.FromSeconds(10) },
    });

    private AgentMetrics Metrics() => new(Prometheus.Metrics.WithCustomRegistry(_registry));

    private sealed class Address(Uri uri) : IControlPlaneAddress
    {
        public ValueTask<Uri> ResolveAsync(CancellationToken cancellationToken) => ValueTask.FromResult(uri);
    }

    private sealed class NoToken : IEnrollmentTokenSource
    {
        public ValueTask<string?> GetTokenAsync(CancellationToken cancellationToken) => ValueTask.FromResult<string?>(null);
    }
}
