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

/// <summary>
/// One overview for every open page: a page reloads within a second of new readings, so many open
/// overviews would otherwise each read the month's rollups every second. The overview is read at
/// most once per <see cref="MaxAge"/> and shared (a singleton), whatever the number of pages.
/// </summary>
public sealed class OverviewData(AgentViews agents, TelemetryQueries telemetry, CarbonIntensity carbon, IJobStore jobs, IAlertStore alerts, TimeProvider time)
    : IDisposable
{
    public static readonly TimeSpan MaxAge = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan Hour = TimeSpan.FromHours(1);
    private readonly SemaphoreSlim _gate = new(1, 1);
    private FleetOverview? _last;

    public async Task<FleetOverview> LoadAsync(CancellationToken cancellationToken)
    {
        if (Fresh() is { } shared)
        {
            return shared;
        }

        await _gate.WaitAsync(cancellationToken);
        try
        {
            // Another page may have read it while this one waited.
            return Fresh() ?? (_last = await ReadAsync(CancellationToken.None));
        }
        finally
        {
            _gate.Release();
        }
    }

    public void Dispose() => _gate.Dispose();

    private FleetOverview? Fresh() => Volatile.Read(ref _last) is { } last && time.GetUtcNow() - last.At < MaxAge ? last : null;

    private async Task<FleetOverview> ReadAsync(CancellationToken cancellationToken)
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
        catch (Exception ex) when (ex is CarbonSourceUnavailableException or UnknownZoneException)
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
            var intensity = known.Contains(zone.Zone) ? await HourlyIntensityAsync(zone.Zone, from, to, cancellationToken) : [];
            hours.AddRange(zone.Points.Select(p => new ZoneHour(p.Time, p.EnergyJoules, intensity.TryGetValue(p.Time, out var g) ? g : null)));
        }

        return hours;
    }

    /// <summary>
    /// Each hour's intensity, the mean of the source's points in it weighted by how long each holds
    /// (half-hourly and five-minute sources included); empty when the zone's source cannot answer,
    /// so that its energy is counted as without intensity rather than the whole overview failing.
    /// </summary>
    private async Task<Dictionary<DateTimeOffset, double>> HourlyIntensityAsync(string zone, DateTimeOffset from, DateTimeOffset to, CancellationToken cancellationToken)
    {
        IReadOnlyList<IntensityPoint> points;
        try
        {
            points = await carbon.GetHistoryAsync(zone, from, to, cancellationToken);
        }
        catch (Exception ex) when (ex is CarbonSourceUnavailableException or UnknownZoneException)
        {
            return [];
        }

        return points
            .GroupBy(p => new DateTimeOffset(p.Time.UtcTicks - (p.Time.UtcTicks % TimeSpan.TicksPerHour), TimeSpan.Zero))
            .ToDictionary(hour => hour.Key, hour => hour.Sum(p => p.IntensityGramsPerKwh * p.Duration.TotalSeconds) / Math.Max(1e-9, hour.Sum(p => p.Duration.TotalSeconds)));
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
