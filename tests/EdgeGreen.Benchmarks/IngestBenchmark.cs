using System.Diagnostics;
using EdgeGreen.ControlPlane.Hosting;
using EdgeGreen.ControlPlane.Core.Storage;
using EdgeGreen.ControlPlane.Storage.LiteDb;
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
/// gRPC (32 batches in flight, as the agent's uplink does) into a control plane, until every
/// reading is acknowledged as durable: validation, group commit, packed raw rows, rollups and
/// summaries. The baseline is the raw ceiling of the same store in the same run: the same
/// readings written straight into it with nothing else: for PostgreSQL binary COPY of a row per
/// reading, for LiteDB one document per reading into one indexed collection (what plain rows
/// cost); a second column gives the store's own packed chunks written alone (its storage format's
/// write cost, far below a row per reading). The ratios are the figures, since this machine's
/// absolute speed varies.
/// </summary>
internal static class IngestBenchmark
{
    private const int BatchSize = 500;
    private const int InFlightBatches = 32;

    public static async Task RunAsync(StorageTargets storage, int[] agentCounts, int readingsPerAgentTotal, int repetitions)
    {
        Console.WriteLine($"Telemetry ingest into {storage.Name}: {readingsPerAgentTotal:N0} readings in total per run, batches of {BatchSize}, median of {repetitions} runs");
        Console.WriteLine();
        var liteDb = storage.Name == StorageTarget.LiteDb.Name;
        Console.WriteLine($"| store | agents | readings | end to end (gRPC → {storage.Name}), readings/s | raw ceiling ({(liteDb ? "a document per reading" : "binary COPY, a row per reading")}), readings/s | end to end ÷ ceiling |"
            + " packed chunks alone, readings/s | end to end ÷ packed |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|");
        // One unmeasured round first, so that neither side pays for the JIT.
        await MeasureCeilingAsync(await storage.FreshAsync(), 2, 5_000);
        await MeasureEndToEndAsync(await storage.FreshAsync(), 2, 5_000);
        foreach (var agents in agentCounts)
        {
            var perAgent = readingsPerAgentTotal / agents;
            var endToEnd = new List<double>();
            var direct = new List<double>();
            var packed = new List<double>();
            for (var run = 0; run < repetitions; run++)
            {
                Console.Error.WriteLine($"{agents} agents, run {run + 1}/{repetitions}: raw ceiling");
                direct.Add(await MeasureCeilingAsync(await storage.FreshAsync(), agents, perAgent));
                packed.Add((await storage.FreshAsync()).PostgresConnectionString is { } connection
                    ? await PostgresCeiling.CopyPackedAsync(connection, Rows(agents, perAgent))
                    : LiteDbCeiling(Rows(agents, perAgent), packed: true));

                Console.Error.WriteLine($"{agents} agents, run {run + 1}/{repetitions}: end to end");
                endToEnd.Add(await MeasureEndToEndAsync(await storage.FreshAsync(), agents, perAgent));
            }

            // Each ratio is of a run's two measurements, taken back to back: the machine's speed drifts
            // between runs more than within one.
            var ratio = BenchmarkHost.Median([.. endToEnd.Zip(direct, (e, d) => e / d)]);
            Console.WriteLine($"| {storage.Name} | {agents} | {agents * perAgent:N0} | {BenchmarkHost.Median(endToEnd):N0} | {BenchmarkHost.Median(direct):N0} | {ratio:P0} |"
                + $" {BenchmarkHost.Median(packed):N0} | {BenchmarkHost.Median([.. endToEnd.Zip(packed, (e, p) => e / p)]):P0} |");
        }
    }

    private static async Task<double> MeasureEndToEndAsync(StorageTarget storage, int agentCount, int perAgent)
    {
        var directory = Directory.CreateTempSubdirectory("edgegreen-bench-").FullName;
        try
        {
            await using var app = await BenchmarkHost.StartAsync(directory, storage);
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

            // Each agent's first batch is stored before the clock starts: the connections, the day's
            // partition and the JIT are warm, as in a control plane that has been running.
            await Task.WhenAll(agents.Select(a => StreamAsync(new TelemetryService.TelemetryServiceClient(channel), a.Credential, a.Batches[..1], BatchSize)));
            var stopwatch = Stopwatch.StartNew();
            await Task.WhenAll(agents.Select(a => StreamAsync(new TelemetryService.TelemetryServiceClient(channel), a.Credential, a.Batches[1..], perAgent)));
            stopwatch.Stop();
            await app.StopAsync();
            return agentCount * (perAgent - BatchSize) / stopwatch.Elapsed.TotalSeconds;
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

    private static async Task<double> MeasureCeilingAsync(StorageTarget storage, int agentCount, int perAgent)
    {
        var rows = Rows(agentCount, perAgent);
        return storage.PostgresConnectionString is { } connection
            ? await PostgresCeiling.CopyAsync(connection, rows)
            : LiteDbCeiling(rows, packed: false);
    }

    private static List<List<ReadingRecord>> Rows(int agentCount, int perAgent) => [.. Enumerable.Range(0, agentCount).Select(_ => Records(perAgent))];

    private static double LiteDbCeiling(List<List<ReadingRecord>> rows, bool packed)
    {
        var directory = Directory.CreateTempSubdirectory("edgegreen-bench-").FullName;
        try
        {
            var stopwatch = Stopwatch.StartNew();
            using (var database = new LiteDatabase(new ConnectionString { Filename = Path.Combine(directory, "direct.db"), Connection = ConnectionType.Direct }))
            {
                // A document per reading indexed by agent and hour; or the store's own chunks, whose id is their only index.
                var collection = database.GetCollection(packed ? "raw_chunks" : "readings");
                if (!packed)
                {
                    collection.EnsureIndex("k");
                }

                for (var i = 0; i < rows.Count; i++)
                {
                    var key = i + 1L;
                    collection.InsertBulk(packed ? ReadingChunk.Split(key, rows[i]) : rows[i].Select(r => Document(key, r)), batchSize: 10_000);
                }
            }

            stopwatch.Stop();
            return rows.Sum(r => r.Count) / stopwatch.Elapsed.TotalSeconds;
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

    private static BsonDocument Document(long agentKey, ReadingRecord reading) => new()
    {
        ["k"] = (agentKey << 32) | (reading.Time.UtcTicks / TimeSpan.TicksPerHour),
        ["q"] = reading.Sequence,
        ["t"] = reading.Time.UtcTicks,
        ["i"] = reading.Interval.Ticks,
        ["s"] = reading.SensorId,
        ["d"] = reading.Domain,
        ["e"] = reading.EnergyJoules,
        ["p"] = (int)reading.Provenance,
    };

    /// <summary>The readings the batches carry, as the store receives them.</summary>
    private static List<ReadingRecord> Records(int count)
    {
        var start = DateTimeOffset.UtcNow.AddDays(-3);
        return [.. Enumerable.Range(1, count).Select(sequence => new ReadingRecord(
            sequence, start.AddSeconds(sequence), TimeSpan.FromSeconds(1), "cpu-model", "cpu.package", 10.0 + (sequence % 13), ReadingProvenance.Modelled))];
    }
}
