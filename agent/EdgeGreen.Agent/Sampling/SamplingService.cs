using EdgeGreen.Agent.Jobs;
using EdgeGreen.Agent.Outbox;
using EdgeGreen.Agent.Sensors;
using EdgeGreen.Shared;
using Microsoft.Extensions.Options;

namespace EdgeGreen.Agent.Sampling;

/// <summary>
/// Reads every sensor once per <see cref="AgentOptions.SampleInterval"/> and writes the plausible
/// deltas to the outbox; impossible values are counted and dropped. Each pass's deltas are then
/// split between idle, the running jobs and the rest (<see cref="JobEnergyLedger"/>).
/// </summary>
public sealed partial class SamplingService(
    IEnumerable<IEnergySensor> sensors,
    ReadingOutbox outbox,
    JobEnergyLedger ledger,
    AgentMetrics metrics,
    IOptions<AgentOptions> options,
    TimeProvider timeProvider,
    LogThrottle throttle,
    ILogger<SamplingService> logger) : BackgroundService
{
    /// <summary>The sensor label under which outbox failures are counted in sample errors.</summary>
    public const string OutboxErrorLabel = "outbox";

    /// <summary>The <c>sensor</c> label of sampling errors in job energy attribution.</summary>
    public const string AttributionErrorLabel = "attribution";

    private readonly IReadOnlyList<IEnergySensor> _sensors = [.. sensors];

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        WarnIfOutboxTooSmall(SampleAll());
        using var timer = new PeriodicTimer(options.Value.SampleInterval, timeProvider);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            SampleAll();
        }
    }

    /// <summary>
    /// One pass over every sensor, stored in the outbox in one transaction. A failing sensor (a
    /// vanished sysfs file, a driver error) is logged and counted and the others go on: one bad
    /// reader must not stop the agent. A failing outbox (a full disk) is counted as the outbox's.
    /// </summary>
    /// <returns>How many readings the pass stored.</returns>
    internal int SampleAll()
    {
        var pass = new List<(string SensorId, EnergyDelta Delta)>();
        foreach (var sensor in _sensors)
        {
            try
            {
                foreach (var delta in sensor.Sample())
                {
                    if (SensorValueGuard.Check(delta, options.Value.MaxPlausiblePowerWatts) is { } reason)
                    {
                        metrics.SensorValuesDropped.WithLabels(sensor.Id, reason).Inc();
                        if (throttle.ShouldLog($"dropped:{sensor.Id}:{delta.Domain}:{reason}", out var suppressed))
                        {
                            LogDropped(sensor.Id, delta.Domain, reason, suppressed);
                        }
                        continue;
                    }

                    pass.Add((sensor.Id, delta));
                }
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                metrics.SampleErrors.WithLabels(sensor.Id).Inc();
                LogFailure(ex, sensor.Id);
            }
        }

        try
        {
            outbox.Append(pass);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            metrics.SampleErrors.WithLabels(OutboxErrorLabel).Inc();
            LogFailure(ex, OutboxErrorLabel);
        }

        var deltas = pass.ConvertAll(p => p.Delta);
        try
        {
            ledger.Record(deltas);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // A fault in attribution loses this interval's split, not the agent: counted and logged.
            metrics.SampleErrors.WithLabels(AttributionErrorLabel).Inc();
            LogFailure(ex, AttributionErrorLabel);
        }

        foreach (var delta in deltas)
        {
            metrics.PowerWatts.WithLabels(delta.Domain).Set(delta.PowerWatts);
            metrics.EnergyJoules.WithLabels(delta.Domain).Inc(delta.EnergyJoules);
        }

        return pass.Count;
    }

    /// <summary>
    /// Start-up checks that the outbox holds one linger's worth of this machine's readings (the
    /// options validator can only check one domain; the sensors found say how many there are).
    /// </summary>
    internal void WarnIfOutboxTooSmall(int readingsPerPass)
    {
        var perLinger = AgentOptionsValidator.ReadingsPerLinger(options.Value, readingsPerPass);
        if (perLinger > options.Value.Outbox.MaxReadings)
        {
            LogOutboxTooSmall(options.Value.Outbox.MaxReadings, perLinger, readingsPerPass, options.Value.Uplink.Linger);
        }
    }

    /// <summary>A fault that repeats every pass is logged once a minute; the counter counts every pass.</summary>
    private void LogFailure(Exception exception, string sensorId)
    {
        if (throttle.ShouldLog($"failed:{sensorId}", out var suppressed))
        {
            LogSampleFailed(exception, sensorId, suppressed);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Outbox:MaxReadings ({MaxReadings}) holds less than one Uplink:Linger ({Linger}) of readings: {PerLinger} at {PerPass} readings a pass. Readings will be dropped while the agent is online; raise MaxReadings or shorten Linger")]
    private partial void LogOutboxTooSmall(int maxReadings, long perLinger, int perPass, TimeSpan linger);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Dropped an impossible value from sensor {SensorId}, domain {Domain}: {Reason} ({Suppressed} more since the last such line)")]
    private partial void LogDropped(string sensorId, string domain, string reason, long suppressed);

    [LoggerMessage(Level = LogLevel.Error, Message = "Sampling sensor {SensorId} failed ({Suppressed} more failures since the last such line)")]
    private partial void LogSampleFailed(Exception exception, string sensorId, long suppressed);
}
