using EdgeGreen.ControlPlane.Core.Storage;
using Microsoft.Extensions.Options;
using Prometheus;

namespace EdgeGreen.ControlPlane.Core.Monitoring;

/// <summary>
/// Deletes monitoring data older than <see cref="MonitoringOptions"/> keeps it, every
/// <c>RetentionInterval</c>, on the cluster's leader; what it deletes is counted
/// (<c>edgegreen_monitoring_retention_deleted_total</c>).
/// </summary>
public sealed partial class MonitoringRetention(
    IMonitoringStore store,
    IOptions<MonitoringOptions> options,
    TimeProvider clock,
    IMetricFactory metrics,
    Cluster.ClusterMembership cluster,
    ILogger<MonitoringRetention> logger)
    : Cluster.LeaderPeriodicService(options.Value.RetentionInterval, clock, cluster,
        metrics.CreateCounter("edgegreen_monitoring_retention_failures_total", "Monitoring retention passes that failed (retried at the next interval)."), logger)
{
    private readonly Counter _deleted = metrics.CreateCounter("edgegreen_monitoring_retention_deleted_total",
        "Monitoring rows deleted by retention: hourly sums, predictions, samples and seen summary ids.");

    protected override string What => "Monitoring retention";

    /// <summary>One pass at the clock's present; the rows deleted.</summary>
    public async Task<long> RunOnceAsync(CancellationToken cancellationToken)
    {
        var now = Clock.GetUtcNow();
        var deleted = await store.DeleteBeforeAsync(now - options.Value.HourRetention, now - options.Value.DetailRetention, cancellationToken);
        _deleted.Inc(deleted);
        return deleted;
    }

    protected override async Task PassAsync(CancellationToken cancellationToken) => LogPass(await RunOnceAsync(cancellationToken));

    [LoggerMessage(Level = LogLevel.Debug, Message = "Monitoring retention deleted {Rows} rows")]
    private partial void LogPass(long rows);
}
