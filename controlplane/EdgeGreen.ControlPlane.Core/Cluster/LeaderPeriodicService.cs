using EdgeGreen.ControlPlane.Core.Storage;
using Prometheus;

namespace EdgeGreen.ControlPlane.Core.Cluster;

/// <summary>
/// A pass that only the cluster's leader runs, at once and then every <c>interval</c>: a storage
/// failure is counted in <c>failures</c> and logged, and the next tick tries again.
/// </summary>
public abstract partial class LeaderPeriodicService(TimeSpan interval, TimeProvider clock, ClusterMembership cluster, Counter failures, ILogger logger)
    : BackgroundService
{
    protected TimeProvider Clock { get; } = clock;

    /// <summary>What the pass does, for the log.</summary>
    protected abstract string What { get; }

    protected abstract Task PassAsync(CancellationToken cancellationToken);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(interval, Clock);
        do
        {
            if (!cluster.IsLeader)
            {
                continue;
            }

            try
            {
                await PassAsync(stoppingToken);
            }
            catch (StorageException ex)
            {
                failures.Inc();
                LogFailed(ex, What);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "{What} failed; it runs again at the next interval")]
    private partial void LogFailed(Exception exception, string what);
}
