using System.Diagnostics;
using EdgeGreen.ControlPlane.Hosting;
using EdgeGreen.ControlPlane.Core.Security;
using EdgeGreen.ControlPlane.Security;
using EdgeGreen.Contracts.V1;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Grpc.Net.Client;
using LiteDB;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace EdgeGreen.Benchmarks;

/// <summary>
/// Telemetry ingest end to end: N simulated agents stream batches of 500 readings over loopback
/// gRPC (eight batches in flight, as the agent's uplink does) into a control plane storing to
/// LiteDB, until every reading is acknowledged as durable. The baseline is the same documents
/// bulk-inserted straight into a fresh LiteDB file in the same run; the ratio is the figure,
/// since this machine's absolute speed varies.
/// </summary>
internal static class IngestBenchmark
{
    private const int BatchSize = 500;
    private const int InFlightBatches = 8;

    public static async Task RunAsync(int[] agentCounts, int readingsPerAgentTotal, int repetitions)
    {
        Console.WriteLine($"Telemetry ingest: {readingsPerAgentTotal:N0} readings in total per run, batches of {BatchSize}, median of {repetitions} runs");
        Console.WriteLine();
        Console.WriteLine("| agents | readings | end to end (gRPC → LiteDB), readings/s | direct LiteDB bulk insert, readings/s | end to end ÷ direct |");
        Console.WriteLine("|---:|---:|---:|---:|---:|");
        var output = Console.Out;
        foreach (var agents in agentCounts)
        {
            // The control plane prints its banner and first admin key; keep the table clean.
            Console.SetOut(TextWriter.Null);
            var perAgent = readingsPerAgentTotal / agents;
            var endToEnd = new List<double>();
            var direct = new List<double>();
            for (var run = 0; run < repetitions; run++)
            {
                Console.Error.WriteLine($"{agents} agents, run {run + 1}/{repetitions}: direct insert");
                direct.Add(await MeasureDirectAsync(agents, perAgent));
                Console.Error.WriteLine($"{agents} agents, run {run + 1}/{repetitions}: end to end");
                endToEnd.Add(await MeasureEndToEndAsync(agents, perAgent));
            }

            var e2e = Median(endToEnd);
            Console.SetOut(output);
            var baseline = Median(direct);
            Console.WriteLine($"| {agents} | {agents * perAgent:N0} | {e2e:N0} | {baseline:N0} | {e2e / baseline:P0} |");
        }
    }

    private static async Task<double> MeasureEndToEndAsync(int agentCount, int perAgent)
    {
        var directory = Directory.CreateTempSubdirectory("edgegreen-bench-").FullName;
        try
        {
            var builder = WebApplication.CreateBuilder(new WebApplicationOptions { ContentRootPath = directory, EnvironmentName = Environments.Production });
            builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["Kestrel:Endpoints:Http:Url"] = "http://127.0.0.1:0",
                ["Kestrel:Endpoints:Grpc:Url"] = "http://127.0.0.1:0",
                ["EdgeGreen:Storage:DataDirectory"] = directory,
                ["EdgeGreen:LocalAgent:Enabled"] = "false",
            });
            builder.Logging.ClearProviders();
            builder.AddControlPlane();
            await using var app = builder.Build();
            app.MapControlPlane();
            await app.StartAsync();
            var grpc = app.Services.GetRequiredService<KestrelEndpoints>().Grpc;
            var tokens = app.Services.GetRequiredService<EnrollmentTokens>();

            using var channel = GrpcChannel.ForAddress(grpc, new GrpcChannelOptions { HttpHandler = new SocketsHttpHandler { EnableMultipleHttp2Connections = true } });
            var agents = new List<(string Credential, List<ReadingBatch> Batches)>();
            for (var i = 0; i < agentCount; i++)
            {
                var registered = await new AgentService.AgentServiceClient(channel).RegisterAsync(new RegisterRequest
                {
                    EnrollmentToken = (await tokens.MintAsync(CancellationToken.None)).Token,
                    Name = $"bench-{i}",
                });
                agents.Add((registered.Credential, Batches(perAgent)));
            }

            var stopwatch = Stopwatch.StartNew();
            await Task.WhenAll(agents.Select(a => StreamAsync(new TelemetryService.TelemetryServiceClient(channel), a.Credential, a.Batches, perAgent)));
            stopwatch.Stop();
            await app.StopAsync();
            return agentCount * perAgent / stopwatch.Elapsed.TotalSeconds;
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    private static async Task StreamAsync(TelemetryService.TelemetryServiceClient client, string credential, List<ReadingBatch> batches, int expected)
    {
        using var call = client.Upload(new Metadata { { "authorization", $"Bearer {credential}" } });
        await call.ResponseStream.MoveNext(CancellationToken.None);
        using var slots = new SemaphoreSlim(InFlightBatches);
        var acks = Task.Run(async () =>
        {
            while (await call.ResponseStream.MoveNext(CancellationToken.None))
            {
                slots.Release();
                if ((long)call.ResponseStream.Current.DurableSequence == expected)
                {
                    return;
                }
            }

            throw new InvalidOperationException("The stream ended before every reading was acknowledged.");
        });
        foreach (var batch in batches)
        {
            // A stream the server ended (or refused) must fail the run, not leave the writer waiting.
            if (await Task.WhenAny(slots.WaitAsync(), acks) == acks)
            {
                await acks;
                break;
            }

            await call.RequestStream.WriteAsync(batch);
        }

        await acks;
        await call.RequestStream.CompleteAsync();
    }

    private static Task<double> MeasureDirectAsync(int agentCount, int perAgent)
    {
        var directory = Directory.CreateTempSubdirectory("edgegreen-bench-").FullName;
        try
        {
            var documents = Enumerable.Range(0, agentCount).Select(_ => Documents(perAgent)).ToList();
            var stopwatch = Stopwatch.StartNew();
            using (var database = new LiteDatabase(new ConnectionString { Filename = Path.Combine(directory, "direct.db"), Connection = ConnectionType.Direct }))
            {
                for (var i = 0; i < agentCount; i++)
                {
                    var collection = database.GetCollection($"readings_{i}");
                    collection.EnsureIndex("t");
                    collection.InsertBulk(documents[i], batchSize: 10_000);
                }
            }

            stopwatch.Stop();
            return Task.FromResult(agentCount * perAgent / stopwatch.Elapsed.TotalSeconds);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    private static List<ReadingBatch> Batches(int count)
    {
        var start = DateTimeOffset.UtcNow.AddDays(-3);
        var batches = new List<ReadingBatch>();
        for (var first = 1; first <= count; first += BatchSize)
        {
            var batch = new ReadingBatch();
            for (var sequence = first; sequence < first + BatchSize && sequence <= count; sequence++)
            {
                batch.Readings.Add(new Reading
                {
                    Sequence = (ulong)sequence,
                    Time = Timestamp.FromDateTimeOffset(start.AddSeconds(sequence)),
                    Interval = Duration.FromTimeSpan(TimeSpan.FromSeconds(1)),
                    SensorId = "cpu-model",
                    Domain = "cpu.package",
                    EnergyJoules = 10 + (sequence % 13),
                    Provenance = Provenance.Modelled,
                });
            }

            batches.Add(batch);
        }

        return batches;
    }

    /// <summary>The documents the telemetry store writes for the same readings.</summary>
    private static List<BsonDocument> Documents(int count)
    {
        var start = DateTimeOffset.UtcNow.AddDays(-3);
        return [.. Enumerable.Range(1, count).Select(sequence => new BsonDocument
        {
            ["_id"] = (long)sequence,
            ["t"] = start.AddSeconds(sequence).UtcTicks,
            ["i"] = TimeSpan.FromSeconds(1).Ticks,
            ["s"] = "cpu-model",
            ["d"] = "cpu.package",
            ["e"] = 10.0 + (sequence % 13),
            ["p"] = 1,
        })];
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[(sorted.Count / 2) - 1] + sorted[sorted.Count / 2]) / 2;
    }
}
