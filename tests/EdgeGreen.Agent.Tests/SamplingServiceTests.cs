using EdgeGreen.Agent.Jobs;
using EdgeGreen.Agent.Outbox;
using EdgeGreen.Agent.Sampling;
using EdgeGreen.Agent.Sensors;
using EdgeGreen.Shared;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Time.Testing;
using Microsoft.Extensions.Options;
using Prometheus;

namespace EdgeGreen.Agent.Tests;

public sealed class SamplingServiceTests : IDisposable
{
    private static readonly DateTimeOffset Now = new(2026, 11, 27, 12, 0, 0, TimeSpan.Zero);
    private readonly string _directory = Directory.CreateTempSubdirectory("edgegreen-sampling-").FullName;
    private readonly CollectorRegistry _registry = Metrics.NewCustomRegistry();

    [Fact]
    public void SampleAll_ImpossibleValues_AreDroppedCountedAndNeverStored()
    {
        var sensor = new ScriptedSensor("rapl",
            Delta("cpu.package", 20),
            Delta("dram", double.NaN),
            Delta("gpu0", -3),
            Delta("platform", 1e9));
        using var outbox = NewOutbox();

        NewService([sensor], outbox).SampleAll();

        var stored = outbox.ReadAfter(0, 10);
        Assert.Equal("cpu.package", Assert.Single(stored).Delta.Domain);
        var metrics = MetricsText.Scrape(_registry);
        Assert.Contains("edgegreen_agent_sensor_values_dropped_total{sensor=\"rapl\",reason=\"not_finite\"} 1", metrics, StringComparison.Ordinal);
        Assert.Contains("edgegreen_agent_sensor_values_dropped_total{sensor=\"rapl\",reason=\"negative\"} 1", metrics, StringComparison.Ordinal);
        Assert.Contains("edgegreen_agent_sensor_values_dropped_total{sensor=\"rapl\",reason=\"implausible_power\"} 1", metrics, StringComparison.Ordinal);
        Assert.Contains("edgegreen_agent_power_watts{domain=\"cpu.package\"} 20", metrics, StringComparison.Ordinal);
    }

    [Fact]
    public void SampleAll_SensorFailingEveryPass_LogsOncePerMinuteAndCountsEveryFailure()
    {
        var time = new FakeTimeProvider(Now);
        var logger = new FakeLogger<SamplingService>();
        var broken = new ScriptedSensor("hwmon") { Failure = new IOException("device vanished") };
        using var outbox = NewOutbox();
        var service = NewService([broken], outbox, time, logger);

        for (var pass = 0; pass < 120; pass++)
        {
            service.SampleAll();
            time.Advance(TimeSpan.FromSeconds(1));
        }

        var lines = logger.Collector.GetSnapshot().Where(r => r.Level == LogLevel.Error).Select(r => r.Message).ToList();
        Assert.Equal(2, lines.Count);
        Assert.Contains("(59 more failures since the last such line)", lines[1], StringComparison.Ordinal);
        Assert.Contains("edgegreen_agent_sample_errors_total{sensor=\"hwmon\"} 120", MetricsText.Scrape(_registry), StringComparison.Ordinal);
    }

    [Fact]
    public void WarnIfOutboxTooSmall_MoreDomainsThanTheBoundHoldsPerLinger_Warns()
    {
        var logger = new FakeLogger<SamplingService>();
        var sensor = new ScriptedSensor("rapl", Delta("cpu.package", 20), Delta("dram", 3));
        using var outbox = NewOutbox();
        var options = new AgentOptions { SampleInterval = TimeSpan.FromMilliseconds(100), Uplink = { Linger = TimeSpan.FromSeconds(60) }, Outbox = { MaxReadings = 1_000 } };
        var service = NewService([sensor], outbox, logger: logger, options: options);

        service.WarnIfOutboxTooSmall(service.SampleAll());

        var warning = Assert.Single(logger.Collector.GetSnapshot(), r => r.Level == LogLevel.Warning);
        Assert.Contains("Outbox:MaxReadings (1000) holds less than one Uplink:Linger", warning.Message, StringComparison.Ordinal);
        Assert.Contains("1200 at 2 readings a pass", warning.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void SampleAll_OneSensorFails_OthersStillSampledAndFailureCounted()
    {
        var broken = new ScriptedSensor("hwmon") { Failure = new IOException("device vanished") };
        var working = new ScriptedSensor("nvml", Delta("gpu0", 150));
        using var outbox = NewOutbox();

        NewService([broken, working], outbox).SampleAll();

        Assert.Equal("gpu0", Assert.Single(outbox.ReadAfter(0, 10)).Delta.Domain);
        Assert.Contains("edgegreen_agent_sample_errors_total{sensor=\"hwmon\"} 1", MetricsText.Scrape(_registry), StringComparison.Ordinal);
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private static EnergyDelta Delta(string domain, double watts) => new(domain, Now, TimeSpan.FromSeconds(1), watts, EnergyProvenance.Measured);

    private ReadingOutbox NewOutbox() => ReadingOutboxTests.Open(_directory);

    private SamplingService NewService(IEnumerable<IEnergySensor> sensors, ReadingOutbox outbox, TimeProvider? time = null,
        ILogger<SamplingService>? logger = null, AgentOptions? options = null)
    {
        time ??= TimeProvider.System;
        var configured = Options.Create(options ?? new AgentOptions());
        return new(sensors, outbox, new JobEnergyLedger(configured, sensors, time), new AgentMetrics(Metrics.WithCustomRegistry(_registry)),
            configured, time, new LogThrottle(time), logger ?? NullLogger<SamplingService>.Instance);
    }

    /// <summary>A sensor that returns fixed deltas (or fails), standing in for hardware the test machine lacks.</summary>
    private sealed class ScriptedSensor(string id, params EnergyDelta[] deltas) : IEnergySensor
    {
        public Exception? Failure { get; init; }

        public string Id => id;

        public IReadOnlyList<SensorDescriptor> Describe() => [.. deltas.Select(d => new SensorDescriptor(id, id, d.Domain, d.Provenance))];

        public IReadOnlyList<EnergyDelta> Sample() => Failure is null ? deltas : throw Failure;
    }
}
