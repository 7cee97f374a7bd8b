using EdgeGreen.ControlPlane.Core.Storage;
using EdgeGreen.ControlPlane.Core.Telemetry;
using EdgeGreen.ControlPlane.Storage.Postgres;
using Npgsql;

namespace EdgeGreen.ControlPlane.Tests.Storage;

/// <summary>
/// What the PostgreSQL provider does where TimescaleDB is installed: raw readings in a hypertable
/// with a compression policy, a native database's readings moved into one when the extension
/// arrives, and compressed chunks read, written and dropped by retention like any others.
/// </summary>
public sealed class TimescaleDbProviderTests(TimescaleDbServer server) : IClassFixture<TimescaleDbServer>
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 1, 0, 0, 0, TimeSpan.Zero);

    /// <summary>Two readings an hour for three days, in two domains, times to the tick.</summary>
    internal static readonly List<ReadingRecord> ThreeDays = [.. Enumerable.Range(1, 144).Select(i => new ReadingRecord(i,
        T0.AddMinutes(30 * i).AddTicks(i % 7), TimeSpan.FromMinutes(30), i % 2 == 0 ? "rapl" : "model", i % 3 == 0 ? "dram" : "cpu.package", i * 0.5,
        (ReadingProvenance)(i % 2)))];

    [TimescaleDbFact]
    public async Task Migrate_WithTimescaleDbInstalled_KeepsRawReadingsInAHypertable_WithACompressionPolicy_AndNoDayPartitions()
    {
        var connectionString = await server.CreateDatabaseAsync();
        await TimescaleDbServer.InstallAsync(connectionString);
        await using var database = new PostgresDatabase(connectionString);

        await database.MigrateAsync(CancellationToken.None);
        var store = new PostgresTelemetryStore(database);
        await store.AppendAsync([new TelemetryBatch("a1", "ES", ThreeDays, T0)], CancellationToken.None);

        Assert.True(database.ReadingsInHypertable);
        Assert.Equal("1 day", await ScalarAsync<string>(connectionString,
            "SELECT time_interval::text FROM timescaledb_information.dimensions WHERE hypertable_name = 'reading_chunks' AND column_name = 'hour'"));
        Assert.Equal(["agent_id"], await ScalarAsync<string[]>(connectionString,
            "SELECT array_agg(attname::text ORDER BY segmentby_column_index) FROM timescaledb_information.compression_settings WHERE hypertable_name = 'reading_chunks' AND segmentby_column_index IS NOT NULL"));
        Assert.Equal("2 days", await ScalarAsync<string>(connectionString,
            "SELECT (config->>'compress_after') FROM timescaledb_information.jobs WHERE hypertable_name = 'reading_chunks' AND proc_name = 'policy_compression'"));
        // Three days and the first reading of a fourth: four chunks, none a native partition.
        Assert.Equal(4L, await ScalarAsync<long>(connectionString, "SELECT count(*) FROM show_chunks('reading_chunks')"));
        Assert.Equal(0L, await ScalarAsync<long>(connectionString, "SELECT count(*) FROM pg_class WHERE relname ~ '^reading_chunks_p[0-9]{8}$'"));
        Assert.Equal(ThreeDays, await store.ReadReadingsAsync("a1", null, T0, T0.AddDays(4), CancellationToken.None).ToListAsync());

        // A second start finds the hypertable and changes nothing.
        await using var again = new PostgresDatabase(connectionString);
        await again.MigrateAsync(CancellationToken.None);
        Assert.True(again.ReadingsInHypertable);
        Assert.Equal(ThreeDays, await new PostgresTelemetryStore(again).ReadReadingsAsync("a1", null, T0, T0.AddDays(4), CancellationToken.None).ToListAsync());
    }

    [TimescaleDbFact]
    public async Task Migrate_OnceTimescaleDbIsInstalled_MovesTheDayPartitionsReadingsIntoAHypertable_AndTheyReadBackTheSame()
    {
        var connectionString = await server.CreateDatabaseAsync();
        List<ReadingRecord> a2 = [.. ThreeDays.Take(30).Select(r => r with { EnergyJoules = r.EnergyJoules + 100 })];
        List<EnergyBucket> hoursBefore;
        await using (var native = new PostgresDatabase(connectionString))
        {
            await native.MigrateAsync(CancellationToken.None);
            Assert.False(native.ReadingsInHypertable);
            var store = new PostgresTelemetryStore(native);
            await store.AppendAsync([new TelemetryBatch("a1", "ES", ThreeDays, T0), new TelemetryBatch("a2", "FR", a2, T0)], CancellationToken.None);
            hoursBefore = await store.ReadAgentAsync("a1", null, TelemetryTier.Hour, T0, T0.AddDays(4), CancellationToken.None).ToListAsync();
            // A day a retention pass detached and did not drop: it goes with the native table.
            await PostgresServer.ExecuteAsync(connectionString, "ALTER TABLE reading_chunks DETACH PARTITION reading_chunks_p20261101");
        }

        await TimescaleDbServer.InstallAsync(connectionString);
        await using var database = new PostgresDatabase(connectionString);
        await database.MigrateAsync(CancellationToken.None);
        var moved = new PostgresTelemetryStore(database);

        Assert.True(database.ReadingsInHypertable);
        Assert.Equal(0L, await ScalarAsync<long>(connectionString, "SELECT count(*) FROM pg_class WHERE relname ~ '^reading_chunks_(p[0-9]{8}|native)'"));
        // The detached 1st went with the native table; the rest moved, to the tick.
        Assert.Equal(ThreeDays.Where(r => r.Time >= T0.AddDays(1)), await moved.ReadReadingsAsync("a1", null, T0, T0.AddDays(4), CancellationToken.None).ToListAsync());
        Assert.Equal(a2.Where(r => r.Time >= T0.AddDays(1)), await moved.ReadReadingsAsync("a2", null, T0, T0.AddDays(4), CancellationToken.None).ToListAsync());
        Assert.Equal(hoursBefore, await moved.ReadAgentAsync("a1", null, TelemetryTier.Hour, T0, T0.AddDays(4), CancellationToken.None).ToListAsync());

        // Ingest goes on after the durable sequence, into the hypertable: the resent 144 is a duplicate.
        var next = new ReadingRecord(145, T0.AddDays(3).AddHours(1), TimeSpan.FromMinutes(30), "rapl", "dram", 7, ReadingProvenance.Measured);
        Assert.Equal(new AppendResult(145, 1, 1), (await moved.AppendAsync([new TelemetryBatch("a1", "ES", [ThreeDays[^1], next], T0)], CancellationToken.None)).Single());
        Assert.Equal(next, (await moved.ReadReadingsAsync("a1", null, T0.AddDays(3), T0.AddDays(4), CancellationToken.None).ToListAsync())[^1]);
    }

    [TimescaleDbFact]
    public async Task CompressedChunks_ReadBackTheSame_TakeALateReading_AndRetentionCountsEveryReadingItDrops()
    {
        var connectionString = await server.CreateDatabaseAsync();
        await TimescaleDbServer.InstallAsync(connectionString);
        await using var database = new PostgresDatabase(connectionString);
        var store = new PostgresTelemetryStore(database);
        await store.AppendAsync([new TelemetryBatch("a1", "ES", ThreeDays, T0)], CancellationToken.None);

        // What the compression policy does to chunks older than two days, done now.
        Assert.Equal(4L, await ScalarAsync<long>(connectionString, "SELECT count(compress_chunk(c)) FROM show_chunks('reading_chunks') c"));
        Assert.Equal(4L, await ScalarAsync<long>(connectionString,
            "SELECT count(*) FROM timescaledb_information.chunks WHERE hypertable_name = 'reading_chunks' AND is_compressed"));
        Assert.Equal(ThreeDays, await store.ReadReadingsAsync("a1", null, T0, T0.AddDays(4), CancellationToken.None).ToListAsync());
        Assert.Equal(ThreeDays.Where(r => r.Domain == "dram"), await store.ReadReadingsAsync("a1", "dram", T0, T0.AddDays(4), CancellationToken.None).ToListAsync());

        // A reading sent late, for the compressed 2nd.
        var late = new ReadingRecord(145, T0.AddDays(1).AddHours(5).AddMinutes(1), TimeSpan.FromSeconds(10), "rapl", "cpu.package", 3, ReadingProvenance.Measured);
        await store.AppendAsync([new TelemetryBatch("a1", "ES", [late], T0)], CancellationToken.None);
        List<ReadingRecord> all = [.. ThreeDays.Append(late).OrderBy(r => r.Time)];
        Assert.Equal(all.Where(r => r.Time.Date == T0.AddDays(1).Date), await store.ReadReadingsAsync("a1", null, T0.AddDays(1), T0.AddDays(2), CancellationToken.None).ToListAsync());

        // Retention at 06:00 on the 2nd: the 1st dropped whole (a compressed chunk), the 2nd's first six hours deleted.
        var result = await store.DeleteBeforeAsync(new RetentionCutoffs(T0.AddDays(1).AddHours(6), null, null), CancellationToken.None);

        Assert.Equal(all.Count(r => r.Time < T0.AddDays(1).AddHours(6)), result.RawReadings);
        Assert.Equal(3L, await ScalarAsync<long>(connectionString, "SELECT count(*) FROM show_chunks('reading_chunks')"));
        Assert.Equal(all.Where(r => r.Time >= T0.AddDays(1).AddHours(6)), await store.ReadReadingsAsync("a1", null, T0, T0.AddDays(4), CancellationToken.None).ToListAsync());
        // The rollups are tables of their own: the hours of the dropped day still answer.
        Assert.Equal(all.Where(r => r.Time < T0.AddDays(1)).Sum(r => r.EnergyJoules),
            (await store.ReadAgentAsync("a1", null, TelemetryTier.Hour, T0, T0.AddDays(1), CancellationToken.None).ToListAsync()).Sum(b => b.EnergyJoules), 9);
    }

    [TimescaleDbFact]
    public async Task Backup_WithPgDumpAndPgRestore_AsTheStorageDocsSay_RestoresCompressedChunksRollupsAndSequences()
    {
        var connectionString = await server.CreateDatabaseAsync();
        await TimescaleDbServer.InstallAsync(connectionString);
        await using (var database = new PostgresDatabase(connectionString))
        {
            await new PostgresTelemetryStore(database).AppendAsync([new TelemetryBatch("a1", "ES", ThreeDays, T0)], CancellationToken.None);
        }

        // The 1st and the 2nd compressed, the 3rd and the 4th not.
        Assert.Equal(2L, await ScalarAsync<long>(connectionString,
            "SELECT count(compress_chunk(c)) FROM show_chunks('reading_chunks', older_than => timestamptz '2026-11-03 00:00:00+00') c"));

        await AssertBackupRestoresAsync(server, connectionString, timescaleDb: true);
    }

    /// <summary>
    /// Backs up a database holding <see cref="ThreeDays"/> for agent a1 and restores it into a new
    /// one, then checks on the restored one: the same raw readings, hour rollups and summary, raw
    /// readings kept as before (hypertable or day partitions), and ingest going on after a1's sequence.
    /// </summary>
    internal static async Task AssertBackupRestoresAsync(PostgresServer server, string connectionString, bool timescaleDb)
    {
        var restored = await server.DumpAndRestoreAsync(connectionString, timescaleDb);

        await using var original = new PostgresDatabase(connectionString);
        await using var copy = new PostgresDatabase(restored);
        await copy.MigrateAsync(CancellationToken.None);
        var before = new PostgresTelemetryStore(original);
        var after = new PostgresTelemetryStore(copy);
        Assert.Equal(timescaleDb, copy.ReadingsInHypertable);
        Assert.Equal(ThreeDays, await after.ReadReadingsAsync("a1", null, T0, T0.AddDays(4), CancellationToken.None).ToListAsync());
        Assert.Equal(await before.ReadAgentAsync("a1", null, TelemetryTier.Hour, T0, T0.AddDays(4), CancellationToken.None).ToListAsync(),
            await after.ReadAgentAsync("a1", null, TelemetryTier.Hour, T0, T0.AddDays(4), CancellationToken.None).ToListAsync());
        Assert.Equivalent(await before.GetSummaryAsync("a1", CancellationToken.None), await after.GetSummaryAsync("a1", CancellationToken.None), strict: true);
        var next = new ReadingRecord(145, T0.AddDays(3).AddHours(1), TimeSpan.FromMinutes(30), "rapl", "dram", 7, ReadingProvenance.Measured);
        Assert.Equal(new AppendResult(145, 1, 1), (await after.AppendAsync([new TelemetryBatch("a1", "ES", [ThreeDays[^1], next], T0)], CancellationToken.None)).Single());
    }

    private static async Task<T> ScalarAsync<T>(string connectionString, string sql)
    {
        await using var dataSource = NpgsqlDataSource.Create(connectionString);
        await using var command = dataSource.CreateCommand(sql);
        return (T)(await command.ExecuteScalarAsync())!;
    }
}
