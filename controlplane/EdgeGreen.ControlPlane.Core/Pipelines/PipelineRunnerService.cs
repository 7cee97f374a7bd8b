using EdgeGreen.ControlPlane.Core.Jobs;
using EdgeGreen.ControlPlane.Core.Storage;
using EdgeGreen.Contracts.V1;
using Microsoft.Extensions.Options;

namespace EdgeGreen.ControlPlane.Core.Pipelines;

/// <summary>
/// Advances the pipeline runs on the cluster's leader every <see cref="PipelineOptions.Interval"/>,
/// and at once when one of their jobs ends (see <see cref="PipelineJobWatcher"/>).
/// </summary>
public sealed class PipelineRunnerService(
    PipelineRunner runner,
    PipelineJobWatcher watcher,
    Cluster.ClusterMembership cluster,
    IOptions<PipelineOptions> options,
    TimeProvider timeProvider) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                if (cluster.IsLeader)
                {
                    await runner.AdvanceAllAsync(stoppingToken);
                }

                await watcher.WaitAsync(options.Value.Interval, timeProvider, stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping.
        }
    }
}

/// <summary>Wakes the runner when a job ends, so that the next step starts without waiting for the next round.</summary>
public sealed class PipelineJobWatcher : IJobLifecycleHandler
{
    private TaskCompletionSource _ended = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public Task OnSubmittedAsync(JobRecord job, CancellationToken cancellationToken) => Task.CompletedTask;

    public Task OnCompletedAsync(JobRecord job, CompleteJobRequest? report, CancellationToken cancellationToken)
    {
        Wake();
        return Task.CompletedTask;
    }

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
