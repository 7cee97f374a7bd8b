using EdgeGreen.ControlPlane.Core.Storage;
using EdgeGreen.Shared;
using Microsoft.Extensions.Options;
using Prometheus;

namespace EdgeGreen.ControlPlane.Core.Carbon;

/// <summary>
/// Keeps <c>edgegreen_grid_intensity_grams_per_kwh{zone}</c> current for every zone an enrolled
/// agent is in, refreshed every <see cref="CarbonOptions.IntensityGaugeInterval"/> through the
/// cached source chain. Never at scrape time: a scrape must not wait on, or pay for, a carbon
/// source's API. One series per zone with agents; a zone left by its last agent loses its series.
/// </summary>
public sealed partial class IntensityGauge(
    CarbonIntensity carbon,
    IAgentStore agents,
    IMetricFactory metrics,
    IOptions<CarbonOptions> options,
    TimeProvider timeProvider,
    LogThrottle throttle,
    ILogger<IntensityGauge> logger) : BackgroundService
{
    private readonly Gauge _intensity = metrics.CreateGauge("edgegreen_grid_intensity_grams_per_kwh",
        "Grid carbon intensity now in each zone that has enrolled agents (gCO2e/kWh), from the configured sources.", ["zone"]);

    private readonly Gauge _observedAt = metrics.CreateGauge("edgegreen_grid_intensity_timestamp_seconds",
        "Start of the interval the zone's intensity value is for, as Unix seconds.", ["zone"]);

    private readonly Counter _failures = metrics.CreateCounter("edgegreen_grid_intensity_refresh_failures_total",
        "Zones whose intensity could not be refreshed (the series keeps its last value).");

    private HashSet<string> _zones = new(StringComparer.Ordinal);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.IntensityGaugeInterval, timeProvider);
        do
        {
            try
            {
                await RefreshAsync(stoppingToken);
            }
            catch (StorageException ex)
            {
                _failures.Inc();
                LogRefreshFailed(ex.Message);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    /// <summary>One refresh: every zone with agents gets its current intensity; zones without agents lose theirs.</summary>
    internal async Task RefreshAsync(CancellationToken cancellationToken)
    {
        var zones = (await agents.ListAsync(cancellationToken)).Select(a => a.EffectiveZone).Where(z => z.Length > 0).ToHashSet(StringComparer.Ordinal);
        foreach (var zone in zones)
        {
            try
            {
                if (await carbon.GetCurrentAsync(zone, cancellationToken) is { } point)
                {
                    _intensity.WithLabels(zone).Set(point.IntensityGramsPerKwh);
                    _observedAt.WithLabels(zone).Set(point.Time.ToUnixTimeSeconds());
                }
            }
            catch (Exception ex) when (ex is UnknownZoneException or HttpRequestException or InvalidOperationException)
            {
                _failures.Inc();
                if (throttle.ShouldLog($"intensity-gauge:{zone}", out var suppressed))
                {
                    LogZoneFailed(zone, ex.Message, suppressed);
                }
            }
        }

        foreach (var gone in _zones.Except(zones))
        {
            _intensity.RemoveLabelled(gone);
            _observedAt.RemoveLabelled(gone);
        }

        _zones = zones;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "No current intensity for zone {Zone}; its gauge keeps the last value: {Reason} ({Suppressed} more since the last such line)")]
    private partial void LogZoneFailed(string zone, string reason, long suppressed);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not list the agents' zones for the intensity gauge: {Reason}")]
    private partial void LogRefreshFailed(string reason);
}
