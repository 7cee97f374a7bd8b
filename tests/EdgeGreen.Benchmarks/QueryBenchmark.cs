using System.Diagnostics;
using System.Globalization;
using EdgeGreen.ControlPlane.Core.Storage;
using EdgeGreen.ControlPlane.Core.Telemetry;
using EdgeGreen.ControlPlane.Storage.LiteDb;
using EdgeGreen.ControlPlane.Storage.Postgres;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace EdgeGreen.Benchmarks;

/// <summary>
/// Queries over a large store, through the control plane's own query service: 10 agents sampled at
/// 1 Hz × 3 domains for 24 hours and 1,000 agents at one reading per domain every 17.5 minutes
/// for 30 days, about 10 million raw readings in all, spread over four zones. Measured: one dense
/// agent's last 24 hours at a one-minute step and, from its raw readings, at a ten-second step, and the fleet's 30-day energy by zone at a daily
/// step (p50 and p95 of 20 runs after one warm-up each), the GC heap after a full collection
/// before and after the queries, the time to load, and bytes on disk per stored raw reading
/// (everything the store holds, rollups and indexes included, divided by the raw readings).
/// </summary>
internal static class QueryBenchmark
{
    private const int DenseAgents = 10;
    private const int SparseAgents = 1_000;
    private static readonly string[] Domains = ["cpu.package", "dram", "gpu0"];
    private static readonly string[] Zones = ["ES", "NO", "BR", "US-CAL-CISO"];
    private static readonly TimeSpan SparseInterval = TimeSpan.FromSeconds(1050);

    public static async Task RunAsync(StorageTargets targets, double scale)
    {
        var storage = await targets.FreshAsync();
        var directory = Directory.CreateTempSubdirectory("edgegreen-queries-").FullName;
        try
        {
            await using var app = await BenchmarkHost.StartAsync(directory, storage, new Dictionary<string, string?>
            {
                // The load reaches 30 days back: keep every tier for the run.
                ["EdgeGreen:Telemetry:RawRetention"] = "",
                ["EdgeGreen:Telemetry:MinuteRetention"] = "",
            });
            var store = app.Services.GetRequiredService<ITelemetryStore>();
            var queries = app.Services.GetRequiredService<TelemetryQueries>();
            var end = new DateTimeOffset(DateTimeOffset.UtcNow.UtcTicks / TimeSpan.TicksPerHour * TimeSpan.TicksPerHour, TimeSpan.Zero);

            var clock = Stopwatch.StartNew();
            var readings = await LoadAsync(store, end, scale);
            var loadTime = clock.Elapsed;
            var bytes = await BytesOnDiskAsync(app.Services, storage, directory);

            await using var cache = new LiteDbCacheWatch(app.Services);
            var heapBefore = Heap();
            var cacheBefore = cache.Describe();
            var agentDay = await TimeAsync(() => queries.AgentAsync("dense-0", null, end.AddDays(-1), end, TimeSpan.FromMinutes(1), CancellationToken.None));
            var agentDayRaw = await TimeAsync(() => queries.AgentAsync("dense-1", null, end.AddDays(-1), end, TimeSpan.FromSeconds(10), CancellationToken.None));
            var fleetMonth = await TimeAsync(async () => (IReadOnlyList<ZonePoint>)[.. (await queries.ZonesAsync(end.AddDays(-30), end, TimeSpan.FromDays(1), CancellationToken.None)).SelectMany(z => z.Points)]);
            var heapAfter = Heap();
            var cacheAfter = cache.Describe();

            Console.WriteLine($"Queries on {storage.Name} with {readings:N0} raw readings stored (loaded in {loadTime.TotalSeconds:N0} s, {readings / loadTime.TotalSeconds:N0} readings/s through the store's group commit)");
            Console.WriteLine();
            Console.WriteLine("| store | query | points | p50 | p95 | goal |");
            Console.WriteLine("|---|---|---:|---:|---:|---|");
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {storage.Name} | one agent, 24 h at PT1M | {agentDay.Points:N0} | {agentDay.P50:N1} ms | {agentDay.P95:N1} ms | < 100 ms |"));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {storage.Name} | one agent, 24 h at PT10S (raw readings) | {agentDayRaw.Points:N0} | {agentDayRaw.P50:N1} ms | {agentDayRaw.P95:N1} ms | — |"));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {storage.Name} | fleet, 30 days by zone at P1D | {fleetMonth.Points:N0} | {fleetMonth.P50:N1} ms | {fleetMonth.P95:N1} ms | < 200 ms |"));
            Console.WriteLine();
            if (cacheBefore.Length > 0)
            {
                Console.WriteLine($"Before the queries: {cacheBefore}after them: {cacheAfter}");
            }

            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"GC heap before the queries {heapBefore:N1} MB, after {heapAfter:N1} MB ({(heapAfter / heapBefore) - 1:+0.0 %;-0.0 %}); on disk {bytes / 1048576.0:N0} MB in all ({bytes / (double)readings:N1} bytes per raw reading, rollups included: the sparse agents' readings each open a minute bucket of their own)"));
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    /// <summary>
    /// Bytes on disk per raw reading as a fleet really sends them: 100 agents at 1 Hz × 3 domains for
    /// one hour (1.08 million readings) into an empty store, everything it holds (raw rows, minute
    /// and hour rollups, zone rollups, summaries, indexes) divided by the readings.
    /// </summary>
    public static async Task FootprintAsync(StorageTargets targets)
    {
        var storage = await targets.FreshAsync();
        var directory = Directory.CreateTempSubdirectory("edgegreen-footprint-").FullName;
        try
        {
            await using var app = await BenchmarkHost.StartAsync(directory, storage);
            var store = app.Services.GetRequiredService<ITelemetryStore>();
            var end = new DateTimeOffset(DateTimeOffset.UtcNow.UtcTicks / TimeSpan.TicksPerHour * TimeSpan.TicksPerHour, TimeSpan.Zero);
            long total = 0;
            // Energies vary in every bit of the mantissa, as measured ones do: PostgreSQL compresses
            // large chunks, and round values would compress far better than real readings.
            var noise = new Random(17);
            for (var minute = 0; minute < 60; minute++)
            {
                var batches = Enumerable.Range(0, 100).Select(agent => new TelemetryBatch($"agent-{agent}", Zones[agent % Zones.Length],
                    [.. Enumerable.Range(0, 60).SelectMany(second => Domains.Select((domain, d) => new ReadingRecord(
                        (minute * 180L) + (second * 3L) + d + 1, end.AddSeconds((minute * 60) + second - 3_599), TimeSpan.FromSeconds(1), "sim", domain,
                        5 + (2 * noise.NextDouble()), ReadingProvenance.Modelled)))],
                    end)).ToList();
                await store.AppendAsync(batches, CancellationToken.None);
                total += batches.Sum(b => b.Readings.Count);
            }

            await CloseHoursAsync(store, end);
            var bytes = await BytesOnDiskAsync(app.Services, storage, directory);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {storage.Name} | {total:N0} | {bytes / 1048576.0:N1} MB | {bytes / (double)total:N1} |"));
            if (storage.PostgresConnectionString is { } connection && app.Services.GetRequiredService<PostgresDatabase>().ReadingsInHypertable)
            {
                // What TimescaleDB's compression policy does to the chunks once they are two days old, done now.
                await using var source = NpgsqlDataSource.Create(connection);
                await using (var compress = source.CreateCommand("SELECT count(compress_chunk(c)) FROM show_chunks('reading_chunks') c"))
                {
                    compress.CommandTimeout = 0;
                    await compress.ExecuteScalarAsync();
                }

                bytes = await BytesOnDiskAsync(app.Services, storage, directory);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"| {storage.Name}, chunks compressed | {total:N0} | {bytes / 1048576.0:N1} MB | {bytes / (double)total:N1} |"));
            }
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    /// <summary>The agents <see cref="LoadAsync"/> writes readings for, with their zones.</summary>
    public static IReadOnlyList<(string Id, string Zone)> AgentIds(double scale) =>
    [
        .. Enumerable.Range(0, DenseAgents).Select(agent => ($"dense-{agent}", Zones[agent % Zones.Length])),
        .. Enumerable.Range(0, SparseAgentCount(scale)).Select(agent => ($"sparse-{agent}", Zones[agent % Zones.Length])),
    ];

    public static async Task<long> LoadAsync(ITelemetryStore store, DateTimeOffset end, double scale)
    {
        long total = 0;
        var denseSeconds = (int)(86_400 * scale);
        for (var agent = 0; agent < DenseAgents; agent++)
        {
            var id = $"dense-{agent}";
            var sequence = 0L;
            for (var first = 0; first < denseSeconds; first += 3_600)
            {
                var batch = new List<ReadingRecord>(3 * 3_600);
                for (var second = first; second < Math.Min(first + 3_600, denseSeconds); second++)
                {
                    var time = end.AddSeconds(second - denseSeconds + 1);
                    foreach (var domain in Domains)
                    {
                        batch.Add(new ReadingRecord(++sequence, time, TimeSpan.FromSeconds(1), "sim", domain, 5 + (second % 17), ReadingProvenance.Modelled));
                    }
                }

                await store.AppendAsync([new TelemetryBatch(id, Zones[agent % Zones.Length], batch, end)], CancellationToken.None);
                total += batch.Count;
            }

            Console.Error.WriteLine($"loaded dense agent {agent + 1}/{DenseAgents}: {total:N0} readings");
        }

        var sparseReadings = (int)(TimeSpan.FromDays(30) / SparseInterval * scale);
        var sparseAgents = SparseAgentCount(scale);
        foreach (var group in Enumerable.Range(0, sparseAgents).Chunk(20))
        {
            var batches = group.Select(agent =>
            {
                var readings = new List<ReadingRecord>(sparseReadings * Domains.Length);
                var sequence = 0L;
                for (var i = 0; i < sparseReadings; i++)
                {
                    var time = end - (SparseInterval * (sparseReadings - 1 - i));
                    foreach (var domain in Domains)
                    {
                        readings.Add(new ReadingRecord(++sequence, time, SparseInterval, "sim", domain, 3_000 + (i % 101), ReadingProvenance.Modelled));
                    }
                }

                return new TelemetryBatch($"sparse-{agent}", Zones[agent % Zones.Length], readings, end);
            }).ToList();
            await store.AppendAsync(batches, CancellationToken.None);
            total += batches.Sum(b => b.Readings.Count);
            if (group[0] % 100 == 0)
            {
                Console.Error.WriteLine($"loaded sparse agents {group[^1] + 1}/{sparseAgents}: {total:N0} readings");
            }
        }

        await CloseHoursAsync(store, end);
        return total;
    }

    /// <summary>
    /// Folds the loaded hours into the hour tier, as the leader's hourly pass does where a store
    /// keeps open hours in minute rollups alone, so the store holds what it holds in service.
    /// </summary>
    private static async Task CloseHoursAsync(ITelemetryStore store, DateTimeOffset end)
    {
        var folding = Stopwatch.StartNew();
        var agents = await store.CloseHoursAsync(end + TimeSpan.FromHours(1), CancellationToken.None);
        if (agents > 0)
        {
            Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"closed the loaded hours of {agents:N0} agents in {folding.Elapsed.TotalSeconds:N1} s"));
        }
    }

    private static int SparseAgentCount(double scale) => (int)Math.Max(1, SparseAgents * Math.Min(1, scale * 10));

    private static async Task<(int Points, double P50, double P95)> TimeAsync<T>(Func<Task<IReadOnlyList<T>>> query)
    {
        var points = (await query()).Count;
        var times = new List<double>();
        for (var run = 0; run < 20; run++)
        {
            var clock = Stopwatch.StartNew();
            await query();
            times.Add(clock.Elapsed.TotalMilliseconds);
        }

        var sorted = times.Order().ToList();
        return (points, BenchmarkHost.Percentile(sorted, 0.5), BenchmarkHost.Percentile(sorted, 0.95));
    }

    private static async Task<long> BytesOnDiskAsync(IServiceProvider services, StorageTarget storage, string directory)
    {
        if (storage.PostgresConnectionString is { } connection)
        {
            await using var source = NpgsqlDataSource.Create(connection);
            // Every telemetry table with its partitions, indexes and TOAST; the rest of the database is
            // not telemetry. A hypertable's chunks (compressed ones too) are TimescaleDB's tables: its own size function counts them.
            await using var command = source.CreateCommand(services.GetRequiredService<PostgresDatabase>().ReadingsInHypertable
                ? """
                    SELECT (sum(pg_total_relation_size(c.oid)) + hypertable_size('reading_chunks'))::bigint FROM pg_class c
                    WHERE c.relkind = 'r' AND c.relname ~ '^(rollup_|zone_|telemetry_summaries)'
                    """
                : """
                    SELECT sum(pg_total_relation_size(c.oid))::bigint FROM pg_class c
                    WHERE c.relkind = 'r' AND c.relname ~ '^(reading_chunks|rollup_|zone_|telemetry_summaries)'
                    """);
            return (long)(await command.ExecuteScalarAsync())!;
        }

        services.GetRequiredService<LiteDbDatabase>().Database.Checkpoint();
        return Directory.EnumerateFiles(directory, "edgegreen*.db").Sum(f => new FileInfo(f).Length);
    }

    private static double Heap()
    {
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        return GC.GetTotalMemory(forceFullCollection: true) / 1048576.0;
    }
}
