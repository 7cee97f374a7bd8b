using EdgeGreen.Shared;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Options;
using Prometheus;

namespace EdgeGreen.ControlPlane.Core.Carbon;

/// <summary>
/// The configured sources in order (<c>EdgeGreen:Carbon:Sources</c>): each request goes to the
/// first source that serves the zone and answers; a source that fails (network, timeout after
/// its retries, bad response) is logged, counted and skipped. Answers are cached for
/// <see cref="CarbonOptions.CacheDuration"/>, so a dashboard or the scheduler asking often does
/// not hammer a paid API.
/// </summary>
public sealed partial class FallbackCarbonSource(
    IReadOnlyList<ICarbonIntensitySource> sources,
    IMemoryCache cache,
    IOptions<CarbonOptions> options,
    IMetricFactory metrics,
    LogThrottle throttle,
    ILogger<FallbackCarbonSource> logger) : ICarbonIntensitySource
{
    private static readonly TimeSpan Hour = TimeSpan.FromHours(1);

    private readonly Counter _failures = metrics.CreateCounter("edgegreen_carbon_source_failures_total",
        "Requests to a carbon-intensity source that failed and fell through to the next source.", ["source"]);

    public string Name => string.Join(", ", sources.Select(s => s.Name));

    public IReadOnlyList<ICarbonIntensitySource> Sources => sources;

    public async Task<IReadOnlyList<string>> GetZonesAsync(CancellationToken cancellationToken)
    {
        var zones = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var source in sources)
        {
            zones.UnionWith(await ZonesOfAsync(source, cancellationToken) ?? []);
        }

        return [.. zones];
    }

    public async Task<IReadOnlyList<IntensityPoint>> GetHistoryAsync(string zone, DateTimeOffset from, DateTimeOffset to, DateTimeOffset now, CancellationToken cancellationToken)
    {
        // Whole hours, so that repeated asks for "the last day" share one cache entry per hour.
        var start = HistoryRanges.FloorToHour(from);
        var end = HistoryRanges.FloorToHour(to < now ? to : now) + Hour;
        var points = await FirstAnswerAsync(zone, $"history|{start.UtcTicks}|{end.UtcTicks}",
            source => source.GetHistoryAsync(zone, start, end, now, cancellationToken), cancellationToken);
        return [.. points.Where(p => p.Time + p.Duration > from && p.Time < to && p.Time < now)];
    }

    /// <summary>The first published forecast from a source that serves the zone, or null when none has one.</summary>
    public async Task<(IReadOnlyList<IntensityPoint> Points, string Source)?> GetPublishedForecastAsync(
        string zone, DateTimeOffset now, TimeSpan horizon, CancellationToken cancellationToken)
    {
        foreach (var source in sources)
        {
            if (source is not IIntensityForecastSource forecasting || !await ServesAsync(source, zone, cancellationToken))
            {
                continue;
            }

            var key = $"{source.Name}|{zone}|forecast|{HistoryRanges.FloorToHour(now).UtcTicks}|{horizon.Ticks}";
            if (cache.TryGetValue(key, out IReadOnlyList<IntensityPoint>? cached) && cached is not null)
            {
                return (cached, source.Name);
            }

            try
            {
                var points = await forecasting.GetForecastAsync(zone, now, horizon, cancellationToken);
                cache.Set(key, points, options.Value.CacheDuration);
                return (points, source.Name);
            }
            catch (UnknownZoneException)
            {
                // Listed but refused: try the next source.
            }
            catch (Exception ex) when (IsSourceFailure(ex, cancellationToken))
            {
                Failed(source, ex);
            }
        }

        return null;
    }

    private async Task<IReadOnlyList<IntensityPoint>> FirstAnswerAsync(
        string zone, string request, Func<ICarbonIntensitySource, Task<IReadOnlyList<IntensityPoint>>> ask, CancellationToken cancellationToken)
    {
        Exception? lastFailure = null;
        foreach (var source in sources)
        {
            if (!await ServesAsync(source, zone, cancellationToken))
            {
                continue;
            }

            var key = $"{source.Name}|{zone}|{request}";
            if (cache.TryGetValue(key, out IReadOnlyList<IntensityPoint>? cached) && cached is not null)
            {
                return cached;
            }

            try
            {
                var points = await ask(source);
                cache.Set(key, points, options.Value.CacheDuration);
                return points;
            }
            catch (UnknownZoneException)
            {
                // Listed but refused: the source does not really serve the zone; not a failure.
            }
            catch (Exception ex) when (IsSourceFailure(ex, cancellationToken))
            {
                Failed(source, ex);
                lastFailure = ex;
            }
        }

        throw lastFailure is null
            ? new UnknownZoneException(zone, Name)
            : new CarbonSourceUnavailableException(zone, Name, lastFailure);
    }

    private async Task<bool> ServesAsync(ICarbonIntensitySource source, string zone, CancellationToken cancellationToken) =>
        (await ZonesOfAsync(source, cancellationToken))?.Contains(zone, StringComparer.OrdinalIgnoreCase) ?? false;

    /// <summary>A source's zones, cached for an hour; null when the source cannot say.</summary>
    private async Task<IReadOnlyList<string>?> ZonesOfAsync(ICarbonIntensitySource source, CancellationToken cancellationToken)
    {
        var key = $"{source.Name}|zones";
        if (cache.TryGetValue(key, out IReadOnlyList<string>? zones))
        {
            return zones;
        }

        try
        {
            zones = await source.GetZonesAsync(cancellationToken);
            cache.Set(key, zones, Hour);
            return zones;
        }
        catch (Exception ex) when (IsSourceFailure(ex, cancellationToken))
        {
            Failed(source, ex);
            return null;
        }
    }

    private void Failed(ICarbonIntensitySource source, Exception exception)
    {
        _failures.WithLabels(source.Name).Inc();
        if (throttle.ShouldLog(source.Name, out var suppressed))
        {
            LogSourceFailed(source.Name, exception.Message, suppressed);
        }
    }

    /// <summary>Anything but the caller giving up counts as the source failing.</summary>
    private static bool IsSourceFailure(Exception exception, CancellationToken cancellationToken) =>
        !(exception is OperationCanceledException && cancellationToken.IsCancellationRequested);


    [LoggerMessage(Level = LogLevel.Warning, Message = "Carbon-intensity source {Source} failed, trying the next: {Reason} ({Suppressed} more failures since the last such line)")]
    private partial void LogSourceFailed(string source, string reason, long suppressed);
}

/// <summary>Every source that serves the zone failed.</summary>
public sealed class CarbonSourceUnavailableException(string zone, string sources, Exception lastFailure)
    : Exception($"No carbon-intensity source could answer for zone '{zone}' (tried: {sources}).", lastFailure);
