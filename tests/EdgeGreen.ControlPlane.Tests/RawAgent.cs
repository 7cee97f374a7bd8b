using EdgeGreen.Contracts.V1;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Grpc.Net.Client;

namespace EdgeGreen.ControlPlane.Tests;

/// <summary>A hand-driven gRPC client, for sending what a well-behaved agent never would.</summary>
internal sealed class RawAgent(GrpcChannel channel, string agentId, string credential) : IDisposable
{
    public string AgentId { get; } = agentId;

    public Metadata Headers { get; } = new() { { "authorization", $"Bearer {credential}" } };

    public TelemetryService.TelemetryServiceClient Telemetry { get; } = new(channel);

    public JobService.JobServiceClient Jobs { get; } = new(channel);

    public AgentService.AgentServiceClient Agents { get; } = new(channel);

    public ArtifactService.ArtifactServiceClient Artifacts { get; } = new(channel);

    public MonitoringService.MonitoringServiceClient Monitoring { get; } = new(channel);

    public static async Task<RawAgent> EnrolAsync(TestControlPlane controlPlane, string name = "raw-agent")
    {
        var channel = GrpcChannel.ForAddress(controlPlane.GrpcUrl);
        var response = await new AgentService.AgentServiceClient(channel).RegisterAsync(new RegisterRequest
        {
            EnrollmentToken = await controlPlane.MintEnrollmentTokenAsync(),
            Name = name,
            Zone = "ES",
        });
        return new RawAgent(channel, response.AgentId, response.Credential);
    }

    /// <summary>Opens a stream, sends one batch and returns the ack (or throws the server's status).</summary>
    public async Task<UploadAck> SendAsync(ReadingBatch batch, Metadata? headers = null)
    {
        using var call = Telemetry.Upload(headers ?? Headers);
        Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None));
        try
        {
            await call.RequestStream.WriteAsync(batch);
            await call.RequestStream.CompleteAsync();
        }
        catch (RpcException)
        {
            // The server may end the call while the batch is still being written; its real
            // status is the one the response stream reports below.
        }

        Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None));
        return call.ResponseStream.Current;
    }

    public static Reading Valid(ulong sequence, double energyJoules = 5) => new()
    {
        Sequence = sequence,
        Time = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddSeconds(-60 + (double)sequence)),
        Interval = Duration.FromTimeSpan(TimeSpan.FromSeconds(1)),
        SensorId = "raw",
        Domain = "cpu.package",
        EnergyJoules = energyJoules,
        Provenance = Provenance.Measured,
    };

    public static ReadingBatch Batch(params Reading[] readings)
    {
        var batch = new ReadingBatch();
        batch.Readings.Add(readings);
        return batch;
    }

    public void Dispose() => channel.Dispose();
}
