using EdgeGreen.Agent;
using EdgeGreen.Agent.Outbox;
using EdgeGreen.Agent.Sensors;
using EdgeGreen.Agent.Uplink;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace EdgeGreen.ControlPlane.Tests;

/// <summary>
/// A real stand-alone agent host (outbox, uplink, heartbeat) with its sensors switched off, so
/// that the test decides exactly which readings exist by appending them to the outbox, the same
/// way the sampler does.
/// </summary>
internal sealed class TestAgent : IAsyncDisposable
{
    private static readonly DateTimeOffset Origin = DateTimeOffset.UtcNow.AddHours(-1);
    private readonly IHost _host;

    private TestAgent(IHost host, ErrorLog errors)
    {
        _host = host;
        Errors = errors;
    }

    public ErrorLog Errors { get; }

    /// <summary>Readings the control plane refused, as counted by the agent's metric.</summary>
    public long Rejected => (long)_host.Services.GetRequiredService<AgentMetrics>().ReadingsRejected.Value;

    public ReadingOutbox Outbox => _host.Services.GetRequiredService<ReadingOutbox>();

    public UplinkService Uplink => _host.Services.GetRequiredService<UplinkService>();

    public AgentConnection Connection => _host.Services.GetRequiredService<AgentConnection>();

    public T Service<T>() where T : notnull => _host.Services.GetRequiredService<T>();

    public static async Task<TestAgent> StartAsync(Uri controlPlane, string? enrollmentToken, string dataDirectory,
        IReadOnlyDictionary<string, string?>? settings = null)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { EnvironmentName = Environments.Development, DisableDefaults = true });
        var values = new Dictionary<string, string?>
        {
            ["EdgeGreen:Agent:ControlPlaneUrl"] = controlPlane.ToString(),
            ["EdgeGreen:Agent:EnrollmentToken"] = enrollmentToken,
            ["EdgeGreen:Agent:DataDirectory"] = dataDirectory,
            ["EdgeGreen:Agent:Name"] = "test-agent",
            ["EdgeGreen:Agent:Zone"] = "NO",
            ["EdgeGreen:Agent:CpuModel:Enabled"] = "false",
            ["EdgeGreen:Agent:Sensors:Rapl:Enabled"] = "false",
            ["EdgeGreen:Agent:Sensors:RamModel:Enabled"] = "false",
            ["EdgeGreen:Agent:Sensors:Nvml:Enabled"] = "false",
            ["EdgeGreen:Agent:Sensors:Hwmon:Enabled"] = "false",
            ["EdgeGreen:Agent:Sensors:PowerSupply:Enabled"] = "false",
            ["EdgeGreen:Agent:HeartbeatInterval"] = "00:00:01",
            ["EdgeGreen:Agent:Uplink:ReconnectMinDelay"] = "00:00:00.100",
            ["EdgeGreen:Agent:Uplink:Linger"] = "00:00:00",
            ["EdgeGreen:Agent:Uplink:ReconnectMaxDelay"] = "00:00:01",
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            values[key] = value;
        }

        builder.Configuration.AddInMemoryCollection(values);
        var errors = new ErrorLog();
        builder.Logging.AddProvider(errors);
        builder.Services.AddEdgeGreenAgent(builder.Configuration.GetSection(AgentOptions.SectionName));
        var host = builder.Build();
        await host.StartAsync();
        return new TestAgent(host, errors);
    }

    /// <summary>Appends <paramref name="count"/> one-second readings, as sampling would.</summary>
    public void Produce(int count, string domain = "cpu.package")
    {
        var first = Outbox.LastSequence;
        var deltas = Enumerable.Range(0, count)
            .Select(i => new EnergyDelta(domain, Origin.AddMilliseconds(first + i + 1), TimeSpan.FromSeconds(1), 10 + ((first + i) % 7), EnergyProvenance.Measured))
            .ToList();
        Outbox.Append("test-sensor", deltas);
    }

    /// <summary>Appends one reading stamped <paramref name="time"/>, bypassing the sampler's checks.</summary>
    public void ProduceAt(DateTimeOffset time) =>
        Outbox.Append("test-sensor", [new EnergyDelta("cpu.package", time, TimeSpan.FromSeconds(1), 1, EnergyProvenance.Measured)]);

    /// <summary>Stops the host, then fails the test on any error it logged that the test did not expect.</summary>
    public async ValueTask DisposeAsync()
    {
        await _host.StopAsync();
        _host.Dispose();
        Errors.Dispose();
        Errors.AssertNoneUnexpected();
    }
}
