using EdgeGreen.ControlPlane.Core.Storage;
using Microsoft.Extensions.Options;
using Prometheus;

namespace EdgeGreen.ControlPlane.Core.Telemetry;

/// <summary>
/// Deletes telemetry each tier keeps no longer (<see cref="TelemetryOptions"/>: raw readings 7
/// days, minute rollups 90 days, hourly rollups kept), every <c>RetentionInterval</c>. What is
/// deleted is counted (<c>edgegreen_telemetry_retention_deleted_total</c>). Each pass first lets
/// the store fold the hours that have ended into its hour tier (<see cref="ITelemetryStore.CloseHoursAsync"/>).
/// Only the cluster's leader runs it.
/// </summary>
public sealed partial class TelemetryRetention(
    ITelemetryStore store,
    IOptions<TelemetryOptions> options,
    TimeProvider clock,
    IMetricFactory metrics,
    Cluster.ClusterMembership cluster,
    ILogger<TelemetryRetention> logger)
    : Cluster.LeaderPeriodicService(options.Value.RetentionInterval, clock, cluster,
        metrics.CreateCounter("edgegreen_telemetry_retention_failures_total", "Retention passes that failed (retried at the next interval)."), logger)
{
    private readonly Counter _deleted = metrics.CreateCounter("edgegreen_telemetry_retention_deleted_total",
        "Telemetry deleted by retention: raw readings, and minute and hour rollup buckets.", ["tier"]).WithSeries("raw", "minute", "hour");

    protected override string What => "Telemetry retention";

    /// <summary>One retention pass at the clock's present.</summary>
    public async Task<RetentionResult> RunOnceAsync(CancellationToken cancellationToken)
    {
        var now = Clock.GetUtcNow();
        var settings = options.Value;
        // First, so that no minute that is still an open hour's only count is deleted before it is folded.
        var closed = await store.CloseHoursAsync(now, cancellationToken);
        LogClosed(closed);
        var result = await store.DeleteBeforeAsync(new RetentionCutoffs(now - settings.RawRetention, now - settings.MinuteRetention, now - settings.HourRetention), cancellationToken);
        _deleted.WithLabels("raw").Inc(result.RawReadings);
        _deleted.WithLabels("minute").Inc(result.MinuteBuckets);
        _deleted.WithLabels("hour").Inc(result.HourBuckets);
        return result;
    }

    protected override async Task PassAsync(CancellationToken cancellationToken)
    {
        var result = await RunOnceAsync(cancellationToken);
        LogPass(result.RawReadings, result.MinuteBuckets, result.HourBuckets);
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Telemetry retention closed the ended hours of {Agents} agents")]
    private partial void LogClosed(long agents);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Telemetry retention deleted {Raw} raw readings, {Minute} minute and {Hour} hour buckets")]
    private partial void LogPass(long raw, long minute, long hour);
}
