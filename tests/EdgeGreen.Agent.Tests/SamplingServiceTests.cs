using EdgeGreen.Agent.Jobs;
using EdgeGreen.Agent.Outbox;
using EdgeGreen.Agent.Sampling;
using EdgeGreen.Agent.Sensors;
using Microsoft.Extensions.Logging.Abstractions;
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

    private ReadingOutbox NewOutbox() =>
        new(Options.Create(new AgentOptions { DataDirectory = _directory }), new AgentMetrics(Metrics.WithCustomRegistry(Metrics.NewCustomRegistry())), NullLogger<ReadingOutbox>.Instance);

    private SamplingService NewService(IEnumerable<IEnergySensor> sensors, ReadingOutbox outbox) =>
        new(sensors, outbox, new JobEnergyLedger(Options.Create(new AgentOptions()), sensors, TimeProvider.System), new AgentMetrics(Metrics.WithCustomRegistry(_registry)), Options.Create(new AgentOptions()), TimeProvider.System,
            NullLogger<SamplingService>.Instance);

    /// <summary>A sensor that returns fixed deltas (or fails), standing in for hardware the test machine lacks.</summary>
    private sealed class ScriptedSensor(string id, params EnergyDelta[] deltas) : IEnergySensor
    {
        public Exception? Failure { get; init; }

        public string Id => id;

        public IReadOnlyList<SensorDescriptor> Describe() => [.. deltas.Select(d => new SensorDescriptor(id, id, d.Domain, d.Provenance))];

        public IReadOnlyList<EnergyDelta> Sample() => Failure is null ? deltas : throw Failure;
    }
}
