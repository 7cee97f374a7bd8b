using System.Net.Http.Json;
using System.Text.Json;
using EdgeGreen.Contracts.V1;
using EdgeGreen.ControlPlane.Core.Storage;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Grpc.Net.Client;

namespace EdgeGreen.ControlPlane.Tests.Fleet;

public sealed class FleetTests : ControlPlaneTest
{
    private const int Agents = 1_000;
    private const int Batches = 3;
    private const int DomainsPerBatch = 3;

    /// <summary>
    /// A thousand agents enrol and stream at once (each with its own stream, batches of 1 Hz × 3
    /// domains), as the embedded store once could not: every reading is acknowledged after it is
    /// stored, stored once, counted in the agent's summary and in the zone's rollup; nothing is left
    /// waiting, readiness stays green and nothing is logged as an error.
    /// </summary>
    [Fact]
    public async Task ThousandAgents_StreamAtOnce_EveryReadingStoredOnceAndRolledUp()
    {
        using var handler = new SocketsHttpHandler { EnableMultipleHttp2Connections = true };
        using var channel = GrpcChannel.ForAddress(ControlPlane.GrpcUrl, new GrpcChannelOptions { HttpHandler = handler });
        var registration = new AgentService.AgentServiceClient(channel);
        var agents = new List<(string Id, Metadata Headers)>();
        foreach (var chunk in Enumerable.Range(0, Agents).Chunk(100))
        {
            agents.AddRange(await Task.WhenAll(chunk.Select(async i =>
            {
                var response = await registration.RegisterAsync(new RegisterRequest { EnrollmentToken = await ControlPlane.MintEnrollmentTokenAsync(), Name = $"sim-{i}", Zone = "ES" });
                return (response.AgentId, new Metadata { { "authorization", $"Bearer {response.Credential}" } });
            })));
        }

        var start = DateTimeOffset.UtcNow.AddMinutes(-5);
        var telemetry = new TelemetryService.TelemetryServiceClient(channel);
        var acks = await Task.WhenAll(agents.Select(agent => StreamAsync(telemetry, agent.Headers, start)));

        Assert.All(acks, ack => Assert.Equal((ulong)(Batches * DomainsPerBatch), ack));
        var store = ControlPlane.Service<ITelemetryStore>();
        var summaries = await store.ListSummariesAsync(CancellationToken.None);
        Assert.Equal(Agents, summaries.Count(s => s.DurableSequence == Batches * DomainsPerBatch && s.ReadingCount == Batches * DomainsPerBatch));
        var zones = await new Core.Telemetry.TelemetryQueries(store).ZonesAsync(start.AddMinutes(-1), start.AddMinutes(5), TimeSpan.FromMinutes(1), CancellationToken.None);
        Assert.Equal(Agents * Batches * (2.0 + 3.0 + 5.0), zones.Single(z => z.Zone == "ES").EnergyJoules, 6);

        using var http = ControlPlane.CreateClient(ControlPlane.AdminKey);
        Assert.Equal("Healthy", await http.GetStringAsync(new Uri("/readyz", UriKind.Relative)));
        var fleet = await http.GetFromJsonAsync<JsonElement>(new Uri("/api/v1/fleet/summary", UriKind.Relative));
        Assert.Equal(Agents, fleet.GetProperty("agents").GetInt32());
        Assert.True(ControlPlane.Errors.Entries.Count == 0, string.Join("\n", ControlPlane.Errors.Entries.Take(2)));
    }

    /// <summary>One agent's stream: three batches of three domains, waiting for each ack like the real uplink; returns the last durable sequence.</summary>
    private static async Task<ulong> StreamAsync(TelemetryService.TelemetryServiceClient telemetry, Metadata headers, DateTimeOffset start)
    {
        using var call = telemetry.Upload(headers);
        Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None));
        ulong durable = 0;
        for (var second = 0; second < Batches; second++)
        {
            var batch = new ReadingBatch();
            var domains = new[] { ("cpu.package", 2.0), ("dram", 3.0), ("gpu0", 5.0) };
            for (var d = 0; d < domains.Length; d++)
            {
                batch.Readings.Add(new Reading
                {
                    Sequence = (ulong)((second * DomainsPerBatch) + d + 1),
                    Time = Timestamp.FromDateTimeOffset(start.AddSeconds(second + 1)),
                    Interval = Duration.FromTimeSpan(TimeSpan.FromSeconds(1)),
                    SensorId = "sim",
                    Domain = domains[d].Item1,
                    EnergyJoules = domains[d].Item2,
                    Provenance = Provenance.Modelled,
                });
            }

            await call.RequestStream.WriteAsync(batch);
            Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None));
            durable = call.ResponseStream.Current.DurableSequence;
        }

        // Hang up as an agent does: say so, then let the server end the call.
        await call.RequestStream.CompleteAsync();
        Assert.False(await call.ResponseStream.MoveNext(CancellationToken.None));
        return durable;
    }
}
