namespace EdgeGreen.ControlPlane.Core.Carbon;

public sealed record IntensityForecast(string Zone, DateTimeOffset GeneratedAt, string Method, IReadOnlyList<IntensityPoint> Points);

/// <summary>
/// Intensity for the rest of the control plane: the configured sources (with fallback and
/// caching), and EdgeGreen's forecaster wherever no source publishes a forecast for the zone.
/// </summary>
public sealed class CarbonIntensity(FallbackCarbonSource source, SeasonalForecaster forecaster, TimeProvider timeProvider)
{
    private static readonly TimeSpan Hour = TimeSpan.FromHours(1);

    public string SourceName => source.Name;

    public Task<IReadOnlyList<string>> GetZonesAsync(CancellationToken cancellationToken) => source.GetZonesAsync(cancellationToken);

    public Task<IReadOnlyList<IntensityPoint>> GetHistoryAsync(string zone, DateTimeOffset from, DateTimeOffset to, CancellationToken cancellationToken) =>
        source.GetHistoryAsync(zone, from, to, timeProvider.GetUtcNow(), cancellationToken);

    /// <summary>The latest observed point, or null when the source has none yet.</summary>
    public async Task<IntensityPoint?> GetCurrentAsync(string zone, CancellationToken cancellationToken)
    {
        var now = timeProvider.GetUtcNow();
        var recent = await source.GetHistoryAsync(zone, now - TimeSpan.FromHours(2), now, now, cancellationToken);
        return recent.Count > 0 ? recent[^1] : null;
    }

    /// <summary>
    /// Hourly points for the <paramref name="hours"/> hours after the current one; with
    /// <paramref name="requestedAt"/>, the forecast that would have been made then (from the
    /// history available at that time only).
    /// </summary>
    public async Task<IntensityForecast> GetForecastAsync(string zone, int hours, DateTimeOffset? requestedAt, CancellationToken cancellationToken)
    {
        var now = requestedAt is { } past && past < timeProvider.GetUtcNow() ? past : timeProvider.GetUtcNow();
        if (await source.GetPublishedForecastAsync(zone, now, TimeSpan.FromHours(hours), cancellationToken) is { } published)
        {
            return new IntensityForecast(zone, now, published.Source, published.Points);
        }

        var history = await source.GetHistoryAsync(zone, now - (Hour * SeasonalForecaster.HistoryHours), now, now, cancellationToken);
        if (history.Count == 0)
        {
            return new IntensityForecast(zone, now, SeasonalForecaster.Method, []);
        }

        var values = new double[hours];
        forecaster.Forecast([.. history.Select(p => p.IntensityGramsPerKwh)], values);
        var currentHour = history[^1].Time;
        return new IntensityForecast(zone, now, SeasonalForecaster.Method,
            [.. values.Select((value, k) => new IntensityPoint(currentHour + (Hour * (k + 1)), Hour, value))]);
    }
}
