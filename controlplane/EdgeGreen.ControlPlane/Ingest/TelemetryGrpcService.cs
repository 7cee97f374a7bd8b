using EdgeGreen.Contracts.V1;
using System.Runtime.ExceptionServices;
using System.Threading.Channels;
using EdgeGreen.Shared;
using Grpc.Core;
using Microsoft.AspNetCore.Authorization;

namespace EdgeGreen.ControlPlane.Ingest;

[Authorize(Policy = Security.Policies.Agent)]
public sealed partial class TelemetryGrpcService(
    ITelemetryStore telemetry,
    TelemetryWriter writer,
    IAgentStore agents,
    ReadingValidator validator,
    IngestMetrics metrics,
    Feed.TelemetryFeed feed,
    TimeProvider timeProvider,
    IHostApplicationLifetime lifetime,
    LogThrottle throttle,
    ILogger<TelemetryGrpcService> logger) : TelemetryService.TelemetryServiceBase
{
    public override async Task Upload(IAsyncStreamReader<ReadingBatch> requestStream, IServerStreamWriter<UploadAck> responseStream, ServerCallContext context)
    {
        var agentId = context.AgentId();
        // Streams are long-lived; without this a graceful shutdown would wait for every agent to
        // hang up. Ending them tells agents to reconnect (to this instance or its successor).
        using var stream = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken, lifetime.ApplicationStopping);
        var cancellationToken = stream.Token;
        metrics.OpenStreams.Inc();
        try
        {
            var durable = await telemetry.GetDurableSequenceAsync(agentId, cancellationToken);
            var zone = new AgentZone(agents, agentId, timeProvider);
            await responseStream.WriteAsync(new UploadAck { DurableSequence = (ulong)durable }, cancellationToken);

            // The next batches are read and queued while earlier ones commit (as many as the agent
            // keeps in flight), so one agent's batches share a commit; acknowledgements go out in order.
            using var pipeline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var inFlight = Channel.CreateBounded<InFlight>(new BoundedChannelOptions(BatchesInFlight) { SingleReader = true, SingleWriter = true });
            var acknowledging = AcknowledgeAsync(agentId, durable, inFlight.Reader, responseStream, pipeline);
            ExceptionDispatchInfo? failure = null;
            try
            {
                var chain = new BatchChain();
                var highest = durable;
                await foreach (var batch in requestStream.ReadAllAsync(pipeline.Token))
                {
                    IReadOnlyList<ReadingRecord> readings;
                    try
                    {
                        readings = validator.Validate(batch, highest, timeProvider.GetUtcNow());
                    }
                    catch (RpcException refused)
                    {
                        // Batches before the refused one are still stored and acknowledged.
                        metrics.BatchesRejected.WithLabels(refused.StatusCode.ToString()).Inc();
                        if (throttle.ShouldLog($"refused:{agentId}", out var suppressed))
                        {
                            LogRefused(agentId, refused.Status.Detail, suppressed);
                        }
                        failure = ExceptionDispatchInfo.Capture(refused);
                        break;
                    }

                    highest = readings.Count == 0 ? highest : Math.Max(highest, readings[^1].Sequence);
                    var stored = readings.Count == 0
                        ? null
                        : await writer.SubmitAsync(new TelemetryBatch(agentId, await zone.GetAsync(pipeline.Token), readings, timeProvider.GetUtcNow()), chain, pipeline.Token);
                    await inFlight.Writer.WriteAsync(new InFlight(readings, stored), pipeline.Token);
                }
            }
            catch (OperationCanceledException) when (pipeline.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
            {
                // The acknowledgements stopped (a commit failed): their failure is the stream's answer.
            }
            catch (Exception ex)
            {
                // The agent hung up, the control plane is stopping, or the zone could not be read:
                // no acknowledgement can or need go out.
                failure = ExceptionDispatchInfo.Capture(ex);
                await pipeline.CancelAsync();
            }
            finally
            {
                inFlight.Writer.TryComplete();
            }

            try
            {
                await acknowledging;
            }
            catch (Exception) when (failure is not null && pipeline.IsCancellationRequested)
            {
                // Stopped because of the failure below, which is what the agent is told.
            }

            failure?.Throw();
        }
        catch (StorageException ex)
        {
            // Nothing of the batch is acknowledged: the agent keeps it and resends once storage is back.
            metrics.BatchesRejected.WithLabels(Hosting.StorageFaults.GrpcStatus(ex).ToString()).Inc();
            if (throttle.ShouldLog("storage", out var suppressed))
            {
                LogStorageFailed(agentId, ex.Message, suppressed);
            }
            throw Hosting.StorageFaults.ToRpcException(ex);
        }
        catch (OperationCanceledException) when (lifetime.ApplicationStopping.IsCancellationRequested)
        {
            throw new RpcException(new Status(StatusCode.Unavailable, "The control plane is shutting down; reconnect."));
        }
        catch (IOException ex)
        {
            // The agent's connection went away mid-stream (a network drop, the agent stopping): no
            // answer can reach it. What was committed stays; the agent resumes from its durable
            // sequence when it reconnects. Routine for a fleet, so not an error.
            LogHungUp(agentId, ex.Message);
        }
        finally
        {
            metrics.OpenStreams.Dec();
        }
    }

    /// <summary>
    /// Answers the stream's batches in order as each becomes durable. A failed commit cancels the
    /// reading side and ends the stream with its cause; the batches behind it are not stored (see
    /// <see cref="BatchChain"/>) and the agent resends them.
    /// </summary>
    private async Task AcknowledgeAsync(string agentId, long durable, ChannelReader<InFlight> inFlight, IServerStreamWriter<UploadAck> responseStream,
        CancellationTokenSource pipeline)
    {
        try
        {
            await foreach (var (readings, stored) in inFlight.ReadAllAsync(pipeline.Token))
            {
                var result = stored is null ? new AppendResult(durable, 0, 0) : await stored.WaitAsync(pipeline.Token);
                if (result.Accepted > 0)
                {
                    // The store keeps what lies past the durable sequence; the rest were resends.
                    var previous = durable;
                    feed.PublishReadings(agentId, [.. readings.Where(r => r.Sequence > previous)]);
                }

                durable = result.DurableSequence;
                metrics.ReadingsStored.Inc(result.Accepted);
                metrics.ReadingsDuplicate.Inc(result.Duplicates);
                await responseStream.WriteAsync(new UploadAck
                {
                    DurableSequence = (ulong)result.DurableSequence,
                    Accepted = (uint)result.Accepted,
                    Duplicates = (uint)result.Duplicates,
                }, pipeline.Token);
            }
        }
        catch
        {
            await pipeline.CancelAsync();
            throw;
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "The telemetry stream of agent {AgentId} ended with its connection: {Reason}")]
    private partial void LogHungUp(string agentId, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Refused a telemetry batch from agent {AgentId}: {Reason} ({Suppressed} more refusals of this agent since the last such line)")]
    private partial void LogRefused(string agentId, string reason, long suppressed);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not store telemetry of agent {AgentId}: {Reason} ({Suppressed} more such failures, of any agent, since the last such line)")]
    private partial void LogStorageFailed(string agentId, string reason, long suppressed);

    /// <summary>
    /// The most batches of one stream queued for commits at once: the agent's default window
    /// (<c>Uplink:MaxInFlightBatches</c>), so that an agent draining its outbox fills whole group commits.
    /// </summary>
    private const int BatchesInFlight = 32;

    private sealed record InFlight(IReadOnlyList<ReadingRecord> Readings, Task<AppendResult>? Stored);

    /// <summary>The zone a stream's readings count in, looked up again every minute so that an operator's override takes effect.</summary>
    private sealed class AgentZone(IAgentStore agents, string agentId, TimeProvider clock)
    {
        private static readonly TimeSpan Refresh = TimeSpan.FromMinutes(1);
        private (string Zone, DateTimeOffset At)? _known;

        public async Task<string> GetAsync(CancellationToken cancellationToken)
        {
            var now = clock.GetUtcNow();
            if (_known is not { } known || now - known.At >= Refresh)
            {
                var agent = await agents.GetAsync(agentId, cancellationToken);
                _known = known = (agent?.EffectiveZone ?? "", now);
            }

            return known.Zone;
        }
    }
}
