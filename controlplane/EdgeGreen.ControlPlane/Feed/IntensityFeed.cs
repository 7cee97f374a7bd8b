using Microsoft.Extensions.Options;

namespace EdgeGreen.ControlPlane.Feed;

/// <summary>Each zone's current grid intensity, published when its latest point changes (every <see cref="FeedOptions.IntensityInterval"/>).</summary>
public sealed class IntensityFeed(TelemetryFeed feed, ClusterMembership cluster, CarbonIntensity carbon, IOptions<FeedOptions> options, ILogger<IntensityFeed> logger)
    : ChangeFeed<(string Zone, IntensityPoint Point)>(feed, cluster, options.Value.IntensityInterval, logger)
{
    protected override string What => "the grid intensity";

    protected override async Task<IEnumerable<(string Key, object State, (string Zone, IntensityPoint Point) Item)>> ReadAsync(CancellationToken cancellationToken)
    {
        var points = new List<(string, object, (string, IntensityPoint))>();
        foreach (var zone in await carbon.GetZonesAsync(cancellationToken))
        {
            if (await carbon.GetCurrentAsync(zone, cancellationToken) is { } point)
            {
                points.Add((zone, point, (zone, point)));
            }
        }

        return points;
    }

    protected override void Publish(TelemetryFeed feed, (string Zone, IntensityPoint Point) item) => feed.PublishIntensity(item.Zone, item.Point);
}
