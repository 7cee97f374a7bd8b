namespace EdgeGreen.ControlPlane.Feed;

/// <summary>
/// A feed source looked at on a timer (at start, then every interval): each item whose state
/// differs from what was last published for its key is published. A failed look-up is logged and
/// tried again at the next round. Nothing runs when the feed is off, and only the cluster's leader
/// looks (each replica's feed would otherwise publish the same change).
/// </summary>
public abstract partial class ChangeFeed<T>(TelemetryFeed feed, ClusterMembership cluster, TimeSpan interval, ILogger logger) : BackgroundService
{
    private readonly Dictionary<string, object> _published = [];

    /// <summary>What the source is, for the log ("the grid intensity").</summary>
    protected abstract string What { get; }

    /// <summary>The items now, each with its key and the state whose change is worth a message.</summary>
    protected abstract Task<IEnumerable<(string Key, object State, T Item)>> ReadAsync(CancellationToken cancellationToken);

    protected abstract void Publish(TelemetryFeed feed, T item);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!feed.Enabled)
        {
            return;
        }

        using var timer = new PeriodicTimer(interval);
        do
        {
            if (!cluster.IsLeader)
            {
                // A replica that starts leading publishes everything anew.
                _published.Clear();
                continue;
            }

            try
            {
                foreach (var (key, state, item) in await ReadAsync(stoppingToken))
                {
                    if (!Equals(_published.GetValueOrDefault(key), state))
                    {
                        Publish(feed, item);
                        _published[key] = state;
                    }
                }
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
            {
                LogLookupFailed(What, ex.Message);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "The MQTT feed could not look up {What}; it tries again at the next round: {Reason}")]
    private partial void LogLookupFailed(string what, string reason);
}
