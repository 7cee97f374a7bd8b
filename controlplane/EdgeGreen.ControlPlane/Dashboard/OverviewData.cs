using EdgeGreen.ControlPlane.Api;
using EdgeGreen.ControlPlane.Core.Alerts;

namespace EdgeGreen.ControlPlane.Dashboard;

/// <summary>What the overview shows, read from the rollups and the stores the REST API reads.</summary>
public sealed record FleetOverview(
    DateTimeOffset At,
    int Agents,
    int Online,
    double PowerWatts,
    Footprint Today,
    Footprint Month,
    CarbonSaving Saving,
    IReadOnlyList<ZoneOutlook> Zones,
    IReadOnlyList<AlertRecord> Firing,
    IReadOnlyList<JobRecord> Running);

/// <summary>
/// Node energy over a period and its carbon: each zone-hour's energy at that hour's grid
/// intensity. Energy in a zone with no intensity data is counted in <see cref="EnergyWithoutIntensityJoules"/>.
/// </summary>
public sealed record Footprint(double EnergyJoules, double CarbonGrams, double EnergyWithoutIntensityJoules);

/// <summary>Jobs finished this month: their carbon against what running each at once would have emitted.</summary>
public sealed record CarbonSaving(int Jobs, double CarbonGrams, double RunNowCarbonGrams)
{
    public double SavedGrams => RunNowCarbonGrams - CarbonGrams;

    public double? SavedShare => RunNowCarbonGrams > 0 ? SavedGrams / RunNowCarbonGrams : null;
}

public sealed record ZoneOutlook(string Zone, IntensityPoint? Now, IReadOnlyList<IntensityPoint> Forecast, string? Problem);

public sealed class OverviewData(AgentViews agents, TelemetryQueries telemetry, CarbonIntensity carbon, IJobStore jobs, IAlertStore alerts, TimeProvider time)
{
    private static readonly TimeSpan Hour = TimeSpan.FromHours(1);

    public async Task<FleetOverview> LoadAsync(CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var fleet = await agents.ListAsync(cancellationToken);
        var online = fleet.Where(a => a.Status == AgentViews.Online).ToList();
        var dayStart = new DateTimeOffset(now.UtcDateTime.Date, TimeSpan.Zero);
        var monthStart = new DateTimeOffset(now.Year, now.Month, 1, 0, 0, 0, TimeSpan.Zero);

        var hourly = await ZoneHoursAsync(monthStart, now, cancellationToken);
        var finished = await jobs.ListFinishedAsync(monthStart, now, 100_000, cancellationToken);
        var accounted = finished.Where(j => j is { CarbonGrams: not null, RunNowRealisedCarbonGrams: not null }).ToList();

        var zones = new List<ZoneOutlook>();
        foreach (var zone in await carbon.GetZonesAsync(cancellationToken))
        {
            zones.Add(await OutlookAsync(zone, cancellationToken));
        }

        var firing = (await alerts.ListAlertsAsync(cancellationToken)).Where(a => a.State == AlertState.Firing).OrderByDescending(a => a.FiringSince).ToList();
        var running = (await jobs.ListActiveAsync(cancellationToken)).Where(j => j.Status == JobStatus.Running).OrderBy(j => j.StartedAt).ToList();
        return new FleetOverview(now, fleet.Count, online.Count, online.Sum(a => a.PowerWatts),
            Sum(hourly.Where(h => h.Time >= dayStart)), Sum(hourly),
            new CarbonSaving(accounted.Count, accounted.Sum(j => j.CarbonGrams!.Value), accounted.Sum(j => j.RunNowRealisedCarbonGrams!.Value)),
            zones, firing, running);
    }

    private async Task<ZoneOutlook> OutlookAsync(string zone, CancellationToken cancellationToken)
    {
        try
        {
            var current = await carbon.GetCurrentAsync(zone, cancellationToken);
            var forecast = await carbon.GetForecastAsync(zone, 24, null, cancellationToken);
            return new ZoneOutlook(zone, current, forecast.Points, null);
        }
        catch (CarbonSourceUnavailableException ex)
        {
            return new ZoneOutlook(zone, null, [], ex.Message);
        }
    }

    /// <summary>Each zone's energy per hour since <paramref name="from"/>, with the hour's intensity where the zone has data.</summary>
    private async Task<IReadOnlyList<ZoneHour>> ZoneHoursAsync(DateTimeOffset from, DateTimeOffset to, CancellationToken cancellationToken)
    {
        if (to - from < TimeSpan.FromMinutes(1))
        {
            return [];
        }

        var known = (await carbon.GetZonesAsync(cancellationToken)).ToHashSet(StringComparer.Ordinal);
        var hours = new List<ZoneHour>();
        foreach (var zone in await telemetry.ZonesAsync(from, to, Hour, cancellationToken))
        {
            var intensity = known.Contains(zone.Zone)
                ? (await carbon.GetHistoryAsync(zone.Zone, from, to, cancellationToken)).DistinctBy(p => p.Time).ToDictionary(p => p.Time, p => p.IntensityGramsPerKwh)
                : [];
            hours.AddRange(zone.Points.Select(p => new ZoneHour(p.Time, p.EnergyJoules, intensity.TryGetValue(p.Time, out var g) ? g : null)));
        }

        return hours;
    }

    private static Footprint Sum(IEnumerable<ZoneHour> hours)
    {
        double energy = 0, carbonGrams = 0, unknown = 0;
        foreach (var hour in hours)
        {
            energy += hour.EnergyJoules;
            if (hour.IntensityGramsPerKwh is { } intensity)
            {
                carbonGrams += hour.EnergyJoules / 3.6e6 * intensity;
            }
            else
            {
                unknown += hour.EnergyJoules;
            }
        }

        return new Footprint(energy, carbonGrams, unknown);
    }

    private sealed record ZoneHour(DateTimeOffset Time, double EnergyJoules, double? IntensityGramsPerKwh);
}
