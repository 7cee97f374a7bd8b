using EdgeGreen.Contracts.V1;
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
            await foreach (var batch in requestStream.ReadAllAsync(cancellationToken))
            {
                IReadOnlyList<ReadingRecord> readings;
                try
                {
                    readings = validator.Validate(batch, timeProvider.GetUtcNow());
                }
                catch (RpcException refused)
                {
                    metrics.BatchesRejected.WithLabels(refused.StatusCode.ToString()).Inc();
                    LogRefused(agentId, refused.Status.Detail);
                    throw;
                }

                var result = readings.Count == 0
                    ? new AppendResult(durable, 0, 0)
                    : await writer.AppendAsync(new TelemetryBatch(agentId, await zone.GetAsync(cancellationToken), readings, timeProvider.GetUtcNow()), cancellationToken);
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
                }, cancellationToken);
            }
        }
        catch (StorageException ex)
        {
            // Nothing of the batch is acknowledged: the agent keeps it and resends once storage is back.
            metrics.BatchesRejected.WithLabels(Hosting.StorageFaults.GrpcStatus(ex).ToString()).Inc();
            LogStorageFailed(agentId, ex.Message);
            throw Hosting.StorageFaults.ToRpcException(ex);
        }
        catch (OperationCanceledException) when (lifetime.ApplicationStopping.IsCancellationRequested)
        {
            throw new RpcException(new Status(StatusCode.Unavailable, "The control plane is shutting down; reconnect."));
        }
        finally
        {
            metrics.OpenStreams.Dec();
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Refused a telemetry batch from agent {AgentId}: {Reason}")]
    private partial void LogRefused(string agentId, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not store telemetry of agent {AgentId}: {Reason}")]
    private partial void LogStorageFailed(string agentId, string reason);

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
