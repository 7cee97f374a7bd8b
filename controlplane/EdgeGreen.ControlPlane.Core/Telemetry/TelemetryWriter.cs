using System.Threading.Channels;
using EdgeGreen.ControlPlane.Core.Storage;
using Microsoft.Extensions.Options;
using Prometheus;

namespace EdgeGreen.ControlPlane.Core.Telemetry;

/// <summary>
/// Group commit for telemetry: batches from every agent's stream queue here, and a writer stores
/// whatever has gathered in a single transaction, then completes each caller with its own
/// result. A thousand agents sending one batch a second cost a few transactions a second instead
/// of a thousand. Where the store takes several commits at once
/// (<see cref="ITelemetryStore.ConcurrentCommits"/>), agents are spread over that many lanes, each
/// with its own queue and writer: an agent's batches always go through the same lane, so they
/// commit one after another in the order submitted. A caller is answered only after the commit,
/// so an acknowledgement still means durable. A full queue makes callers wait (their agents'
/// outboxes hold the readings), nothing is dropped.
/// </summary>
public sealed partial class TelemetryWriter : BackgroundService
{
    private readonly ITelemetryStore _store;
    private readonly ILogger<TelemetryWriter> _logger;
    private readonly Channel<Pending>[] _lanes;
    private readonly int _maxBatchesPerCommit;
    private readonly Histogram _commitBatches;
    private readonly Counter _commitFailures;

    public TelemetryWriter(ITelemetryStore store, IOptions<TelemetryOptions> options, IMetricFactory metrics, ILogger<TelemetryWriter> logger)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        (_store, _logger) = (store, logger);
        var lanes = Math.Max(1, options.Value.ConcurrentCommits ?? store.ConcurrentCommits);
        _maxBatchesPerCommit = Math.Max(1, options.Value.MaxBatchesPerCommit ?? store.MaxBatchesPerCommit);
        _lanes = [.. Enumerable.Range(0, lanes).Select(_ => Channel.CreateBounded<Pending>(new BoundedChannelOptions(Math.Max(1, options.Value.QueueCapacity / lanes))
        {
            SingleReader = true,
            FullMode = BoundedChannelFullMode.Wait,
        }))];
        _commitBatches = metrics.CreateHistogram("edgegreen_telemetry_commit_batches", "Agent batches stored per telemetry transaction (group commit).",
            new HistogramConfiguration { Buckets = Histogram.ExponentialBuckets(1, 2, 14) });
        _commitFailures = metrics.CreateCounter("edgegreen_telemetry_commit_failures_total", "Telemetry transactions that failed (their batches were not acknowledged).");
    }

    /// <summary>How many commits run at once (lanes).</summary>
    internal int Lanes => _lanes.Length;

    /// <summary>
    /// Queues the batch behind those already submitted and returns, once it is queued, the task
    /// that completes when it is durable, so that a stream can read its next batch while this one
    /// commits. Batches are committed in the order submitted; once one batch of
    /// <paramref name="chain"/> fails, the chain's later batches fail with it without being
    /// stored, so an agent's readings never become durable past a batch that was not.
    /// </summary>
    public async ValueTask<Task<AppendResult>> SubmitAsync(TelemetryBatch batch, BatchChain chain, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(chain);
        var pending = new Pending(batch, chain, new TaskCompletionSource<AppendResult>(TaskCreationOptions.RunContinuationsAsynchronously));
        await _lanes[LaneOf(batch.AgentId)].Writer.WriteAsync(pending, cancellationToken);
        return pending.Result.Task;
    }

    protected override Task ExecuteAsync(CancellationToken stoppingToken) => Task.WhenAll(_lanes.Select(lane => RunLaneAsync(lane, stoppingToken)));

    /// <summary>The lane of an agent: the same for all its batches and streams while the process runs.</summary>
    internal int LaneOf(string agentId) => _lanes.Length == 1 ? 0 : (int)((uint)StringComparer.Ordinal.GetHashCode(agentId) % (uint)_lanes.Length);

    private async Task RunLaneAsync(Channel<Pending> queue, CancellationToken stoppingToken)
    {
        var group = new List<Pending>();
        try
        {
            while (await queue.Reader.WaitToReadAsync(stoppingToken))
            {
                group.Clear();
                while (group.Count < _maxBatchesPerCommit && queue.Reader.TryRead(out var pending))
                {
                    group.Add(pending);
                }

                await CommitAsync(group);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            queue.Writer.TryComplete();
            var stopping = new StorageException(StorageFault.Unavailable, "The control plane is shutting down.");
            while (queue.Reader.TryRead(out var pending))
            {
                pending.Result.TrySetException(stopping);
            }
        }
    }

    private async Task CommitAsync(List<Pending> group)
    {
        // Behind a failed batch of the same stream: storing these would make the agent's durable
        // sequence pass readings that are not stored (and would then be taken for resends).
        foreach (var pending in group.Where(p => p.Chain.Failure is not null))
        {
            pending.Result.TrySetException(pending.Chain.Failure!);
        }

        group.RemoveAll(pending => pending.Chain.Failure is not null);
        if (group.Count == 0)
        {
            return;
        }

        try
        {
            // Not cancelled by shutdown: a started commit finishes, so its callers get their answer.
            var results = await _store.AppendAsync([.. group.Select(p => p.Batch)], CancellationToken.None);
            for (var i = 0; i < group.Count; i++)
            {
                group[i].Result.TrySetResult(results[i]);
            }

            _commitBatches.Observe(group.Count);
        }
        catch (Exception ex)
        {
            // Every caller waits on this commit: whatever went wrong is theirs to report (gRPC
            // Unavailable / ResourceExhausted for a StorageException), never swallowed here.
            _commitFailures.Inc();
            LogCommitFailed(ex, group.Count);
            foreach (var pending in group)
            {
                pending.Chain.Failure ??= ex;
                pending.Result.TrySetException(ex);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "A telemetry commit of {Batches} batches failed; the agents keep the readings and resend")]
    private partial void LogCommitFailed(Exception exception, int batches);

    private sealed record Pending(TelemetryBatch Batch, BatchChain Chain, TaskCompletionSource<AppendResult> Result);
}

/// <summary>
/// The batches of one stream, in order: see <see cref="TelemetryWriter.SubmitAsync"/>. Only the
/// commit loop of the agent's lane reads and sets <see cref="Failure"/>.
/// </summary>
public sealed class BatchChain
{
    /// <summary>Why the first failed batch of the chain failed; null while none has.</summary>
    internal Exception? Failure { get; set; }
}
