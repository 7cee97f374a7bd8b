using EdgeGreen.Agent.Uplink;
using EdgeGreen.Contracts.V1;
using EdgeGreen.Shared;
using Grpc.Core;
using LiteDB;
using Microsoft.Extensions.Options;

namespace EdgeGreen.Agent.Monitoring;

/// <summary>
/// Every <see cref="MonitoringOptions.SendInterval"/>, writes the monitors' finished windows to the
/// outbox and sends what the outbox holds with <c>MonitoringService.ReportInference</c>, oldest first,
/// in batches of at most <see cref="MonitoringOptions.MaxBatchBytes"/>. A summary is deleted only once
/// the control plane took it (stored, or a duplicate of one it holds: sending again is always safe);
/// a failed send is tried again on a later tick after a jittered, growing backoff. A batch the control
/// plane refuses as invalid (or as over its message size) is sent again one summary at a time, so
/// that one bad summary is dropped (and counted) without the rest; a single summary over the control
/// plane's size limit is kept and retried, so keep <c>EdgeGreen:Ingest:MaxMessageBytes</c> above
/// <see cref="InferenceSummaryOutbox.MaxSummaryBytes"/>. Nothing here runs on a request's path.
/// </summary>
public sealed partial class InferenceSummarySender(
    InferenceMonitors monitors,
    InferenceSummaryOutbox outbox,
    AgentConnection connection,
    AgentMetrics metrics,
    IOptions<AgentOptions> options,
    TimeProvider timeProvider,
    LogThrottle throttle,
    ILogger<InferenceSummarySender> logger) : BackgroundService
{
    /// <summary>Summaries read from the outbox at a time.</summary>
    private const int ReadSize = 256;

    /// <summary>Bytes a summary adds to the request beyond its own: its field tag and length.</summary>
    private const int FieldOverhead = 6;

    private static readonly TimeSpan CallTimeout = TimeSpan.FromSeconds(30);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var uplink = options.Value.Uplink;
        var backoff = new ReconnectBackoff(uplink.ReconnectMinDelay, uplink.ReconnectMaxDelay, Random.Shared);
        var retryAt = DateTimeOffset.MinValue;
        using var timer = new PeriodicTimer(options.Value.Monitoring.SendInterval, timeProvider);
        try
        {
            do
            {
                try
                {
                    monitors.FlushDue();
                    if (timeProvider.GetUtcNow() >= retryAt)
                    {
                        var sent = await SendPendingAsync(stoppingToken);
                        if (sent)
                        {
                            backoff.Reset();
                        }

                        retryAt = sent ? DateTimeOffset.MinValue : timeProvider.GetUtcNow() + backoff.Next();
                    }
                }
                catch (Exception ex) when (ex is LiteException or IOException)
                {
                    metrics.InferenceSummarySendFailures.Inc();
                    LogOutboxFailed(ex.Message);
                }
            }
            while (await timer.WaitForNextTickAsync(stoppingToken));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping: what is pending stays in the outbox for the next start.
        }
    }

    /// <summary>Sends every pending summary.</summary>
    /// <returns>Whether the outbox was emptied; false after a failure, which leaves the rest for later.</returns>
    public async Task<bool> SendPendingAsync(CancellationToken cancellationToken)
    {
        while (outbox.Pending(ReadSize) is { Count: > 0 } pending)
        {
            foreach (var batch in Batches(pending, options.Value.Monitoring.MaxBatchBytes))
            {
                if (!await SendAsync(batch, cancellationToken))
                {
                    return false;
                }
            }
        }

        return true;
    }

    /// <summary>Consecutive runs of summaries up to <paramref name="maxBytes"/> on the wire; one larger alone is a batch of its own.</summary>
    internal static IEnumerable<IReadOnlyList<PendingSummary>> Batches(IReadOnlyList<PendingSummary> pending, int maxBytes)
    {
        var batch = new List<PendingSummary>();
        var bytes = 0L;
        foreach (var summary in pending)
        {
            if (batch.Count > 0 && bytes + summary.Bytes + FieldOverhead > maxBytes)
            {
                yield return batch;
                (batch, bytes) = ([], 0);
            }

            batch.Add(summary);
            bytes += summary.Bytes + FieldOverhead;
        }

        if (batch.Count > 0)
        {
            yield return batch;
        }
    }

    private async Task<bool> SendAsync(IReadOnlyList<PendingSummary> batch, CancellationToken cancellationToken)
    {
        try
        {
            var headers = await connection.GetCallHeadersAsync(cancellationToken);
            var client = await connection.GetMonitoringClientAsync(cancellationToken);
            var request = new ReportInferenceRequest();
            request.Summaries.Add(batch.Select(p => p.Summary));
            using var timeout = new CancellationTokenSource(CallTimeout, timeProvider);
            using var call = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
            var reply = await client.ReportInferenceAsync(request, headers, cancellationToken: call.Token);
            outbox.Remove(batch.Select(p => p.Key));
            metrics.InferenceSummariesSent.Inc(batch.Count);
            LogSent(batch.Count, reply.Accepted, reply.Duplicates);
            if (reply.Rejected > 0)
            {
                // Refused one by one in the answer (the call itself succeeded); the control plane counts them too.
                metrics.InferenceSummariesDropped.WithLabels("refused").Inc(reply.Rejected);
                if (throttle.ShouldLog("summaries-rejected", out var suppressed))
                {
                    LogRejected(reply.Rejected, reply.FirstRejection, suppressed);
                }
            }

            return true;
        }
        catch (RpcException ex) when (ex.StatusCode is StatusCode.InvalidArgument or StatusCode.ResourceExhausted && batch.Count > 1)
        {
            // One summary may be what the control plane refuses, or the message may be over its size limit: each alone settles both.
            foreach (var single in batch)
            {
                if (!await SendAsync([single], cancellationToken))
                {
                    return false;
                }
            }

            return true;
        }
        catch (RpcException ex) when (ex.StatusCode == StatusCode.InvalidArgument)
        {
            outbox.Remove([batch[0].Key]);
            metrics.InferenceSummariesDropped.WithLabels("refused").Inc();
            LogRefused(batch[0].Summary.Id, ex.Status.Detail);
            return true;
        }
        catch (RpcException ex) when (ex.StatusCode == StatusCode.Unauthenticated)
        {
            connection.Invalidate();
            metrics.InferenceSummarySendFailures.Inc();
            return false;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception ex) when (ex is RpcException or IOException or HttpRequestException or InvalidOperationException or OperationCanceledException)
        {
            metrics.InferenceSummarySendFailures.Inc();
            if (throttle.ShouldLog("inference-summaries", out var suppressed))
            {
                LogSendFailed(ex.Message, outbox.Count, suppressed);
            }

            return false;
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Sent {Count} inference summaries ({Accepted} stored, {Duplicates} already held)")]
    private partial void LogSent(int count, uint accepted, uint duplicates);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The control plane refused {Rejected} inference summaries, which are dropped; the first: {Reason} ({Suppressed} more such lines since the last)")]
    private partial void LogRejected(uint rejected, string reason, long suppressed);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The control plane refused inference summary {SummaryId}: {Reason}; it is dropped")]
    private partial void LogRefused(string summaryId, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Inference summaries not delivered yet: {Reason} ({Pending} pending; {Suppressed} more failures since the last such line)")]
    private partial void LogSendFailed(string reason, int pending, long suppressed);

    [LoggerMessage(Level = LogLevel.Error, Message = "The inference summary outbox failed: {Reason}")]
    private partial void LogOutboxFailed(string reason);
}
