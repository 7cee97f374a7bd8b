using EdgeGreen.Agent.Outbox;
using EdgeGreen.Agent.Sensors;
using EdgeGreen.Contracts.V1;
using EdgeGreen.Shared;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Microsoft.Extensions.Options;

namespace EdgeGreen.Agent.Uplink;

/// <summary>
/// Streams the outbox to the control plane over one long-lived <c>TelemetryService.Upload</c>
/// stream. The server's first ack says what it already holds, so a new stream resumes right after
/// it; each later ack deletes what it covers from the outbox. Failures reconnect with jittered
/// exponential backoff.
/// </summary>
public sealed partial class UplinkService(
    ReadingOutbox outbox,
    AgentConnection connection,
    AgentMetrics metrics,
    IOptions<AgentOptions> options,
    LogThrottle throttle,
    ILogger<UplinkService> logger) : BackgroundService
{
    private readonly UplinkOptions _options = options.Value.Uplink;

    /// <summary>True while a stream is open and has been acknowledged by the server.</summary>
    public bool IsConnected { get; private set; }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var backoff = new ReconnectBackoff(_options.ReconnectMinDelay, _options.ReconnectMaxDelay, Random.Shared);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await StreamAsync(backoff, stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception ex)
            {
                metrics.UplinkFailures.Inc();
                HandleFailure(ex);
            }
            finally
            {
                IsConnected = false;
                metrics.UplinkConnected.Set(0);
            }

            var delay = backoff.Next();
            LogReconnecting(delay);
            try
            {
                await Task.Delay(delay, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
    }

    private async Task StreamAsync(ReconnectBackoff backoff, CancellationToken stoppingToken)
    {
        var headers = await connection.GetCallHeadersAsync(stoppingToken);
        using var streamCancellation = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        var client = await connection.GetTelemetryClientAsync(stoppingToken);
        using var call = client.Upload(headers, cancellationToken: streamCancellation.Token);

        if (!await call.ResponseStream.MoveNext(streamCancellation.Token))
        {
            throw new IOException("The control plane closed the telemetry stream before acknowledging it.");
        }

        var resumeAfter = (long)call.ResponseStream.Current.DurableSequence;
        metrics.ReadingsAcknowledged.Inc(outbox.Resume(resumeAfter));
        IsConnected = true;
        metrics.UplinkConnected.Set(1);
        backoff.Reset();
        LogConnected(connection.AgentId, resumeAfter, outbox.Depth);

        var window = new AckWindow(resumeAfter);
        var receiving = ReceiveAcksAsync(call.ResponseStream, window, streamCancellation.Token);
        var sending = SendAsync(call.RequestStream, window, streamCancellation.Token);
        var first = await Task.WhenAny(receiving, sending);
        await streamCancellation.CancelAsync();
        try
        {
            await Task.WhenAll(receiving, sending);
        }
        catch (OperationCanceledException) when (!stoppingToken.IsCancellationRequested && first.IsCompletedSuccessfully)
        {
            // The stream ended on the server's side without an error; reconnect.
        }
        catch (Exception) when (first.IsFaulted)
        {
            // Cancelling the other half fails it too; the first failure is the one to report.
            await first;
        }

        if (first == receiving && first.IsCompletedSuccessfully)
        {
            throw new IOException("The control plane ended the telemetry stream.");
        }
    }

    private async Task SendAsync(IClientStreamWriter<ReadingBatch> requests, AckWindow window, CancellationToken cancellationToken)
    {
        var maxInFlight = (long)_options.BatchSize * _options.MaxInFlightBatches;
        var sent = window.Acknowledged;
        var lingered = false;
        while (true)
        {
            var acked = window.WaitAsync(cancellationToken);
            if (sent - window.Acknowledged >= maxInFlight)
            {
                await acked;
                continue;
            }

            var readings = outbox.ReadAfter(sent, _options.BatchSize);
            if (readings.Count == 0)
            {
                await outbox.WaitForReadingsAfterAsync(sent, cancellationToken);
                continue;
            }

            // A part batch waits once for Linger, so that seconds of samples travel (and are
            // acknowledged and deleted) together: fewer wake-ups for the radio, the CPU and the disk.
            if (readings.Count < _options.BatchSize && _options.Linger > TimeSpan.Zero && !lingered)
            {
                lingered = true;
                await Task.Delay(_options.Linger, cancellationToken);
                continue;
            }

            lingered = false;
            if (!outbox.MarkSent(readings))
            {
                // The full outbox dropped some of these since they were read: send what is left.
                continue;
            }

            await requests.WriteAsync(ToBatch(readings), cancellationToken);
            sent = readings[^1].Sequence;
        }
    }

    private async Task ReceiveAcksAsync(IAsyncStreamReader<UploadAck> acks, AckWindow window, CancellationToken cancellationToken)
    {
        while (await acks.MoveNext(cancellationToken))
        {
            var durable = (long)acks.Current.DurableSequence;
            var deleted = outbox.Acknowledge(durable);
            metrics.ReadingsAcknowledged.Inc(deleted);
            window.Advance(durable);
        }
    }

    private void HandleFailure(Exception exception)
    {
        switch (exception)
        {
            case RpcException { StatusCode: StatusCode.Unauthenticated }:
                connection.Invalidate();
                break;
            case RpcException { StatusCode: StatusCode.InvalidArgument or StatusCode.ResourceExhausted } refused:
                // Acknowledged readings are already gone, so the oldest batch in the outbox is the one
                // the server refused; retrying it would block every reading behind it, so it is
                // removed and counted instead.
                var rejected = outbox.Reject(afterSequence: 0, _options.BatchSize);
                metrics.ReadingsRejected.Inc(rejected);
                LogRejected(rejected, refused.Status.Detail);
                return;
        }

        if (exception is RpcException or IOException or HttpRequestException)
        {
            if (throttle.ShouldLog("uplink", out var suppressed))
            {
                LogStreamFailed(exception.Message, suppressed);
            }
        }
        else
        {
            LogStreamError(exception);
        }
    }

    private static ReadingBatch ToBatch(IReadOnlyList<OutboxReading> readings)
    {
        var batch = new ReadingBatch();
        foreach (var reading in readings)
        {
            batch.Readings.Add(new Reading
            {
                Sequence = (ulong)reading.Sequence,
                Time = Timestamp.FromDateTimeOffset(reading.Delta.Time),
                Interval = Duration.FromTimeSpan(reading.Delta.Interval),
                SensorId = reading.SensorId,
                Domain = reading.Delta.Domain,
                EnergyJoules = reading.Delta.EnergyJoules,
                Provenance = reading.Delta.Provenance == EnergyProvenance.Measured ? Provenance.Measured : Provenance.Modelled,
            });
        }

        return batch;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Telemetry stream open for agent {AgentId}: control plane holds up to sequence {DurableSequence}, {Pending} readings pending")]
    private partial void LogConnected(string? agentId, long durableSequence, long pending);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Telemetry stream failed: {Reason} ({Suppressed} more failures since the last such line)")]
    private partial void LogStreamFailed(string reason, long suppressed);

    [LoggerMessage(Level = LogLevel.Error, Message = "Telemetry stream failed unexpectedly")]
    private partial void LogStreamError(Exception exception);

    [LoggerMessage(Level = LogLevel.Error, Message = "The control plane refused {Rejected} readings, which were removed from the outbox: {Reason}")]
    private partial void LogRejected(int rejected, string reason);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Reconnecting the telemetry stream in {Delay}")]
    private partial void LogReconnecting(TimeSpan delay);

    /// <summary>The highest acknowledged sequence of one stream, with a signal for the sender.</summary>
    private sealed class AckWindow(long acknowledged)
    {
        private readonly AsyncSignal _advanced = new();
        private long _acknowledged = acknowledged;

        public long Acknowledged => Interlocked.Read(ref _acknowledged);

        public Task WaitAsync(CancellationToken cancellationToken) => _advanced.WaitAsync(cancellationToken);

        public void Advance(long durable)
        {
            Interlocked.Exchange(ref _acknowledged, durable);
            _advanced.Notify();
        }
    }
}
