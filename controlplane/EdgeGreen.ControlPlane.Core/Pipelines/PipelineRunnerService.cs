using EdgeGreen.ControlPlane.Core.Jobs;
using Microsoft.Extensions.Options;

namespace EdgeGreen.ControlPlane.Core.Pipelines;

/// <summary>
/// Advances the pipeline runs on the cluster's leader every <see cref="PipelineOptions.Interval"/>,
/// and at once when one of their jobs ends (see <see cref="PipelineJobWatcher"/>).
/// </summary>
public sealed partial class PipelineRunnerService(
    PipelineRunner runner,
    PipelineJobWatcher watcher,
    Cluster.ClusterMembership cluster,
    IOptions<PipelineOptions> options,
    TimeProvider timeProvider,
    ILogger<PipelineRunnerService> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                if (cluster.IsLeader)
                {
                    try
                    {
                        await runner.AdvanceAllAsync(stoppingToken);
                    }
                    catch (Exception ex) when (ex is not OperationCanceledException)
                    {
                        // The store unreachable, say: logged, and the next round tries again.
                        LogRoundFailed(ex);
                    }
                }

                await watcher.WaitAsync(options.Value.Interval, timeProvider, stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping.
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "A round of advancing pipeline runs failed; the next round tries again")]
    private partial void LogRoundFailed(Exception exception);
}

/// <summary>
/// Wakes the runner when a job ends (after the scheduler stored it), so that the next step starts
/// without waiting for the next round.
/// </summary>
public sealed class PipelineJobWatcher
{
    private TaskCompletionSource _ended = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public PipelineJobWatcher(JobScheduler scheduler) => scheduler.JobsEnded += Wake;

    public void Wake() => Volatile.Read(ref _ended).TrySetResult();

    /// <summary>Waits for the interval or for a job to end, whichever comes first.</summary>
    public async Task WaitAsync(TimeSpan interval, TimeProvider timeProvider, CancellationToken cancellationToken)
    {
        var ended = Volatile.Read(ref _ended).Task;
        await Task.WhenAny(ended, Task.Delay(interval, timeProvider, cancellationToken));
        cancellationToken.ThrowIfCancellationRequested();
        if (ended.IsCompleted)
        {
            Interlocked.Exchange(ref _ended, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        }
    }
}
