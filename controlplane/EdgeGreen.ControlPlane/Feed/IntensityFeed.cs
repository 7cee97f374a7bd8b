using EdgeGreen.ControlPlane.Carbon;
using Microsoft.Extensions.Options;

namespace EdgeGreen.ControlPlane.Feed;

/// <summary>
/// Looks up every zone's current grid intensity at start and then every
/// <see cref="FeedOptions.IntensityInterval"/>, and publishes the zones whose latest point changed.
/// A source that fails is logged and asked again at the next round.
/// </summary>
public sealed partial class IntensityFeed(TelemetryFeed feed, CarbonIntensity carbon, IOptions<FeedOptions> options, ILogger<IntensityFeed> logger) : BackgroundService
{
    private readonly Dictionary<string, IntensityPoint> _published = [];

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!feed.Enabled)
        {
            return;
        }

        using var timer = new PeriodicTimer(options.Value.IntensityInterval);
        do
        {
            try
            {
                foreach (var zone in await carbon.GetZonesAsync(stoppingToken))
                {
                    if (await carbon.GetCurrentAsync(zone, stoppingToken) is { } point && _published.GetValueOrDefault(zone) != point)
                    {
                        feed.PublishIntensity(zone, point);
                        _published[zone] = point;
                    }
                }
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
            {
                LogLookupFailed(ex.Message);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "The MQTT feed could not look up the grid intensity; it tries again at the next round: {Reason}")]
    private partial void LogLookupFailed(string reason);
}
