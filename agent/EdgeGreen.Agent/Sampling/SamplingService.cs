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
    /// One pass over every sensor. A failing sensor (a vanished sysfs file, a driver error, a full
    /// disk under the outbox) is logged and counted and the others go on: one bad reader must not
    /// stop the agent.
    /// </summary>
    internal void SampleAll()
    {
        var pass = new List<EnergyDelta>();
        foreach (var sensor in _sensors)
        {
            try
            {
                var plausible = new List<EnergyDelta>();
                foreach (var delta in sensor.Sample())
                {
                    if (SensorValueGuard.Check(delta, options.Value.MaxPlausiblePowerWatts) is { } reason)
                    {
                        metrics.SensorValuesDropped.WithLabels(sensor.Id, reason).Inc();
                        LogDropped(sensor.Id, delta.Domain, reason);
                        continue;
                    }

                    plausible.Add(delta);
                }

                outbox.Append(sensor.Id, plausible);
                pass.AddRange(plausible);
                foreach (var delta in plausible)
                {
                    metrics.PowerWatts.WithLabels(delta.Domain).Set(delta.PowerWatts);
                    metrics.EnergyJoules.WithLabels(delta.Domain).Inc(delta.EnergyJoules);
                }
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                metrics.SampleErrors.WithLabels(sensor.Id).Inc();
                LogSampleFailed(ex, sensor.Id);
            }
        }

        ledger.Record(pass);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Dropped an impossible value from sensor {SensorId}, domain {Domain}: {Reason}")]
    private partial void LogDropped(string sensorId, string domain, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "Sampling sensor {SensorId} failed")]
    private partial void LogSampleFailed(Exception exception, string sensorId);
}
