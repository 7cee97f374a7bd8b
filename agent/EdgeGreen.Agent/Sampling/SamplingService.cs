using EdgeGreen.Agent.Jobs;
using EdgeGreen.Agent.Outbox;
using EdgeGreen.Agent.Sensors;
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
    ILogger<SamplingService> logger) : BackgroundService
{
    /// <summary>The sensor label under which outbox failures are counted in sample errors.</summary>
    public const string OutboxErrorLabel = "outbox";

    /// <summary>The <c>sensor</c> label of sampling errors in job energy attribution.</summary>
    public const string AttributionErrorLabel = "attribution";

    private readonly IReadOnlyList<IEnergySensor> _sensors = [.. sensors];

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        SampleAll();
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
    internal void SampleAll()
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
                        LogDropped(sensor.Id, delta.Domain, reason);
                        continue;
                    }

                    pass.Add((sensor.Id, delta));
                }
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                metrics.SampleErrors.WithLabels(sensor.Id).Inc();
                LogSampleFailed(ex, sensor.Id);
            }
        }

        try
        {
            outbox.Append(pass);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            metrics.SampleErrors.WithLabels(OutboxErrorLabel).Inc();
            LogSampleFailed(ex, OutboxErrorLabel);
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
            LogSampleFailed(ex, AttributionErrorLabel);
        }

        foreach (var delta in deltas)
        {
            metrics.PowerWatts.WithLabels(delta.Domain).Set(delta.PowerWatts);
            metrics.EnergyJoules.WithLabels(delta.Domain).Inc(delta.EnergyJoules);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Dropped an impossible value from sensor {SensorId}, domain {Domain}: {Reason}")]
    private partial void LogDropped(string sensorId, string domain, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "Sampling sensor {SensorId} failed")]
    private partial void LogSampleFailed(Exception exception, string sensorId);
}
