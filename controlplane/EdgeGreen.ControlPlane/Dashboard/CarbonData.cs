using EdgeGreen.ControlPlane.Api;

namespace EdgeGreen.ControlPlane.Dashboard;

/// <summary>A zone's intensity now (null with the reason when its sources fail) and how many agents are in it.</summary>
public sealed record ZoneNow(string Zone, IntensityPoint? Now, string? Problem, int Agents);

/// <summary>The selected zone: its last 48 hours, its forecast for the next 24, and the forecast's error over the last week.</summary>
public sealed record ZoneDetail(
    string Zone,
    IReadOnlyList<IntensityPoint> History,
    IntensityForecast? Forecast,
    ForecastError? Error,
    DateTimeOffset ErrorFrom,
    DateTimeOffset ErrorTo,
    string? Problem);

public sealed record CarbonView(DateTimeOffset At, string Source, IReadOnlyList<ZoneNow> Zones, ZoneDetail? Selected);

public sealed class CarbonData(CarbonIntensity carbon, AgentViews agents, TimeProvider time)
{
    public static readonly TimeSpan HistorySpan = TimeSpan.FromHours(48);
    public const int ForecastHours = 24;

    /// <summary>Forecasts made at 00:00 UTC of each of this many past days are checked against what followed.</summary>
    public const int BacktestDays = 7;

    public async Task<CarbonView> LoadAsync(string? zone, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var agentsPerZone = (await agents.ListAsync(cancellationToken)).CountBy(a => a.Zone).ToDictionary(StringComparer.Ordinal);
        var zones = new List<ZoneNow>();
        foreach (var name in await carbon.GetZonesAsync(cancellationToken))
        {
            try
            {
                zones.Add(new ZoneNow(name, await carbon.GetCurrentAsync(name, cancellationToken), null, agentsPerZone.GetValueOrDefault(name)));
            }
            catch (CarbonSourceUnavailableException ex)
            {
                zones.Add(new ZoneNow(name, null, ex.Message, agentsPerZone.GetValueOrDefault(name)));
            }
        }

        // The asked-for zone when it is one of ours, else the first with agents, else the first.
        var selected = zones.FirstOrDefault(z => z.Zone == zone) ?? zones.FirstOrDefault(z => z.Agents > 0) ?? zones.FirstOrDefault();
        return new CarbonView(now, carbon.SourceName, zones, selected is null ? null : await DetailAsync(selected.Zone, now, cancellationToken));
    }

    private async Task<ZoneDetail> DetailAsync(string zone, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var today = new DateTimeOffset(now.UtcDateTime.Date, TimeSpan.Zero);
        var errorFrom = today.AddDays(-BacktestDays);
        try
        {
            var history = await carbon.GetHistoryAsync(zone, now - HistorySpan, now, cancellationToken);
            var forecast = await carbon.GetForecastAsync(zone, ForecastHours, null, cancellationToken);

            // Each past midnight's forecast sees only the history before it (requestedAt); what followed is read once.
            var past = new List<IntensityForecast>();
            for (var day = errorFrom; day < today; day = day.AddDays(1))
            {
                // Only EdgeGreen's own forecaster can say what it would have forecast then: a source's
                // published forecast is today's (or already the actuals), not a past one, so it is not scored.
                if (await carbon.GetForecastAsync(zone, ForecastHours, day, cancellationToken) is { Method: SeasonalForecaster.Method } own)
                {
                    past.Add(own);
                }
            }

            var observed = await carbon.GetHistoryAsync(zone, errorFrom, now, cancellationToken);
            return new ZoneDetail(zone, history, forecast, ForecastError.Compare(past, observed), errorFrom, today, null);
        }
        catch (Exception ex) when (ex is CarbonSourceUnavailableException or UnknownZoneException)
        {
            return new ZoneDetail(zone, [], null, null, errorFrom, today, ex.Message);
        }
    }
}
