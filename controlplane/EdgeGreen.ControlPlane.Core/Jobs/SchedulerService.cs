using Microsoft.Extensions.Options;

namespace EdgeGreen.ControlPlane.Core.Jobs;

/// <summary>
/// Drives the scheduler every <see cref="SchedulingOptions.DispatchInterval"/> on the cluster's
/// leader only (other replicas forward job changes to it); a failed step is logged and counted and
/// the next one runs.
/// </summary>
public sealed partial class SchedulerService(
    JobScheduler scheduler,
    Cluster.ClusterMembership cluster,
    JobDispatcher dispatcher,
    JobMetrics metrics,
    IOptions<SchedulingOptions> options,
    TimeProvider timeProvider,
    ILogger<SchedulerService> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.DispatchInterval, timeProvider);
        // A new leader plans at once with what the store holds.
        cluster.LeadershipAcquired += scheduler.TakeOver;
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                if (!cluster.IsLeader)
                {
                    continue;
                }

                try
                {
                    await scheduler.TickAsync(stoppingToken);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    metrics.TickErrors.Inc();
                    LogTickFailed(ex);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping.
        }
        finally
        {
            dispatcher.DisconnectAll();
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "A scheduler step failed")]
    private partial void LogTickFailed(Exception exception);
}
