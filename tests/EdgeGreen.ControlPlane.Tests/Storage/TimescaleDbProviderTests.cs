using System.Collections.Concurrent;
using System.Globalization;
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

    /// <summary>The reading after <see cref="ThreeDays"/>: sequence 145, an hour into the 4th.</summary>
    private static readonly ReadingRecord Next = new(145, T0.AddDays(3).AddHours(1), TimeSpan.FromMinutes(30), "rapl", "dram", 7, ReadingProvenance.Measured);

    [TimescaleDbFact]
    public async Task Migrate_WithTimescaleDbInstalled_KeepsRawReadingsInAHypertable_WithACompressionPolicy_AndNoDayPartitions()
    {
        await using var hypertable = await HypertableWithThreeDaysAsync();
        var (connectionString, database, store) = hypertable;

        Assert.True(database.ReadingsInHypertable);
        Assert.Equal("1 day", await ScalarAsync<string>(connectionString,
            "SELECT time_interval::text FROM timescaledb_information.dimensions WHERE hypertable_name = 'reading_chunks' AND column_name = 'hour'"));
        Assert.Equal(["agent_id"], await ScalarAsync<string[]>(connectionString,
            "SELECT array_agg(attname::text ORDER BY segmentby_column_index) FROM timescaledb_information.compression_settings WHERE hypertable_name = 'reading_chunks' AND segmentby_column_index IS NOT NULL"));
        Assert.Equal("2 days", await ScalarAsync<string>(connectionString,
            "SELECT (config->>'compress_after') FROM timescaledb_information.jobs WHERE hypertable_name = 'reading_chunks' AND proc_name = 'policy_compression'"));
        // Three days and the first reading of a fourth: four chunks, none a native partition.
        Assert.Equal(4L, await ChunksAsync(connectionString));
        Assert.Equal(0L, await ScalarAsync<long>(connectionString, "SELECT count(*) FROM pg_class WHERE relname ~ '^reading_chunks_p[0-9]{8}$'"));
        Assert.Equal(ThreeDays, await store.ReadReadingsAsync("a1", null, T0, T0.AddDays(4), CancellationToken.None).ToListAsync());

        // A second start finds the hypertable and changes nothing: the same chunks, one policy, one guard.
        await using var again = new PostgresDatabase(connectionString);
        await again.MigrateAsync(CancellationToken.None);
        Assert.True(again.ReadingsInHypertable);
        Assert.Equal(4L, await ChunksAsync(connectionString));
        Assert.Equal(1L, await ScalarAsync<long>(connectionString,
            "SELECT count(*) FROM timescaledb_information.jobs WHERE hypertable_name = 'reading_chunks' AND proc_name = 'policy_compression'"));
        Assert.Equal(1L, await ScalarAsync<long>(connectionString,
            "SELECT count(*) FROM pg_trigger WHERE tgrelid = 'reading_chunks'::regclass AND tgname = 'reading_chunks_in_chunks_only'"));
        Assert.Equal(ThreeDays, await new PostgresTelemetryStore(again).ReadReadingsAsync("a1", null, T0, T0.AddDays(4), CancellationToken.None).ToListAsync());
    }

    [TimescaleDbFact]
    public async Task Migrate_WithTimescaleDbOff_KeepsDayPartitions_EvenWhereTheExtensionIsInstalled()
    {
        var connectionString = await server.CreateDatabaseAsync();
        await TimescaleDbServer.InstallAsync(connectionString);
        await using var database = new PostgresDatabase(connectionString, timescaleDb: TimescaleDbUse.Off);

        await new PostgresTelemetryStore(database).AppendAsync([new TelemetryBatch("a1", "ES", ThreeDays, T0)], CancellationToken.None);

        Assert.False(database.ReadingsInHypertable);
        Assert.Equal(5L, await ScalarAsync<long>(connectionString, "SELECT count(*) FROM pg_inherits WHERE inhparent = 'reading_chunks'::regclass"));
        Assert.Equal(0L, await ScalarAsync<long>(connectionString, "SELECT count(*) FROM timescaledb_information.hypertables"));
    }

    [TimescaleDbFact]
    public async Task AReplicaStartedBeforeAnotherMovedTheReadings_WritesNewDaysAndRunsRetentionOnTheHypertable()
    {
        var connectionString = await server.CreateDatabaseAsync();
        await using var early = new PostgresDatabase(connectionString);
        var earlyStore = new PostgresTelemetryStore(early);
        await earlyStore.AppendAsync([new TelemetryBatch("a1", "ES", ThreeDays[..47], T0)], CancellationToken.None);
        Assert.False(early.ReadingsInHypertable);

        await TimescaleDbServer.InstallAsync(connectionString);
        await using var late = new PostgresDatabase(connectionString);
        await late.MigrateAsync(CancellationToken.None);
        Assert.True(late.ReadingsInHypertable);

        // The early replica has not seen the 2nd to the 4th: it would make their partitions, and finds the hypertable instead.
        var rest = ThreeDays[47..];
        Assert.Equal(new AppendResult(144, rest.Count, 0), (await earlyStore.AppendAsync([new TelemetryBatch("a1", "ES", rest, T0)], CancellationToken.None)).Single());
        Assert.True(early.ReadingsInHypertable);
        Assert.Equal(0L, await ScalarAsync<long>(connectionString, "SELECT count(*) FROM pg_class WHERE relname ~ '^reading_chunks_p[0-9]{8}$'"));
        Assert.Equal(ThreeDays, await earlyStore.ReadReadingsAsync("a1", null, T0, T0.AddDays(4), CancellationToken.None).ToListAsync());

        var result = await earlyStore.DeleteBeforeAsync(new RetentionCutoffs(T0.AddDays(1), null, null), CancellationToken.None);
        Assert.Equal(ThreeDays.Count(r => r.Time < T0.AddDays(1)), result.RawReadings);
        Assert.Equal(3L, await ChunksAsync(connectionString));
    }

    [TimescaleDbFact]
    public async Task ACommitWaitingWhileAnotherReplicaMovesTheReadings_IsStoredInAChunkOrRefused_NeverInTheRootTable()
    {
        var connectionString = await server.CreateDatabaseAsync();
        await using var early = new PostgresDatabase(connectionString);
        var store = new PostgresTelemetryStore(early);
        await store.AppendAsync([new TelemetryBatch("a1", "ES", ThreeDays[..47], T0)], CancellationToken.None);
        await TimescaleDbServer.InstallAsync(connectionString);

        // The move, held open in a transaction while the early replica commits the 2nd's first reading
        // (a day whose partition it already made, so it goes straight to the COPY, and waits).
        await using var dataSource = NpgsqlDataSource.Create(connectionString);
        await using var connection = await dataSource.OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        await using (var hold = new NpgsqlCommand("LOCK TABLE reading_chunks IN ACCESS EXCLUSIVE MODE", connection, transaction))
        {
            await hold.ExecuteNonQueryAsync();
        }

        var commit = store.AppendAsync([new TelemetryBatch("a1", "ES", ThreeDays[47..48], T0)], CancellationToken.None);
        await Eventually.WaitUntilAsync(async () => await ScalarAsync<long>(connectionString,
            "SELECT count(*) FROM pg_locks WHERE relation = 'reading_chunks'::regclass AND NOT granted") > 0,
            TimeSpan.FromSeconds(30), "the commit waiting for the lock on reading_chunks");
        await using (var move = new NpgsqlCommand(ReadingHypertable.AdoptSql, connection, transaction))
        {
            await move.ExecuteNonQueryAsync();
        }

        await transaction.CommitAsync();

        try
        {
            Assert.Equal(new AppendResult(48, 1, 0), (await commit).Single());
        }
        catch (StorageException refused)
        {
            // Nothing of it stored: the agent sends it again, and it goes to the hypertable.
            Assert.Contains("root table", refused.Message, StringComparison.Ordinal);
            Assert.Equal(new AppendResult(48, 1, 0), (await store.AppendAsync([new TelemetryBatch("a1", "ES", ThreeDays[47..48], T0)], CancellationToken.None)).Single());
        }

        Assert.Equal(0L, await ScalarAsync<long>(connectionString, "SELECT count(*) FROM ONLY reading_chunks"));
        Assert.Equal(ThreeDays[..48], await store.ReadReadingsAsync("a1", null, T0, T0.AddDays(4), CancellationToken.None).ToListAsync());
    }

    [TimescaleDbFact]
    public async Task Retention_WhileCommitsWriteLateReadingsIntoTheDaysItDrops_CountsEveryReadingOnce()
    {
        var connectionString = await server.CreateDatabaseAsync();
        await TimescaleDbServer.InstallAsync(connectionString);
        await using var database = new PostgresDatabase(connectionString);
        var ingest = new PostgresTelemetryStore(database);
        var retention = new PostgresTelemetryStore(database);
        const int Agents = 6;
        const int Passes = 8;
        foreach (var agent in Enumerable.Range(0, Agents))
        {
            await ingest.AppendAsync([new TelemetryBatch($"a{agent}", "ES", ThreeDays, T0)], CancellationToken.None);
        }

        // The 1st and the 2nd compressed, as the policy would have them by now.
        Assert.Equal(2L, await CompressDaysBeforeAsync(connectionString, T0.AddDays(2)));

        // Each agent sends late readings for the 1st and the 2nd (one a batch, one day or the other;
        // every fifth batch both, across the two days) from before the first retention pass until
        // after the last, while the passes move their cutoff through the 1st and into the 2nd.
        long stored = Agents * ThreeDays.Count;
        var failures = new ConcurrentBag<string>();
        using var started = new Barrier(Agents + 1);
        var retentionDone = false;
        var writers = Enumerable.Range(0, Agents).Select(agent => Task.Run(async () =>
        {
            started.SignalAndWait();
            var (accepted, sequence) = (0L, 144L);
            for (var batch = 0; !Volatile.Read(ref retentionDone); batch++)
            {
                List<ReadingRecord> late = [new ReadingRecord(++sequence, T0.AddHours(batch % 2 == 0 ? 5 : 29).AddSeconds(batch), TimeSpan.FromSeconds(1),
                    "rapl", "dram", 1, ReadingProvenance.Measured)];
                if (batch % 5 == 0)
                {
                    late.Add(late[0] with { Sequence = ++sequence, Time = late[0].Time.AddHours(batch % 2 == 0 ? 24 : -24) });
                }

                // A commit that meets a chunk being dropped may fail or lose a deadlock; nothing of it
                // is stored, and the agent sends it again, as here.
                for (var attempt = 1; ; attempt++)
                {
                    try
                    {
                        accepted += (await ingest.AppendAsync([new TelemetryBatch($"a{agent}", "ES", late, T0)], CancellationToken.None)).Single().Accepted;
                        break;
                    }
                    catch (StorageException ex) when (attempt < 5)
                    {
                        failures.Add(ex.Message);
                    }
                }
            }

            return (Accepted: accepted, Sequence: sequence);
        })).ToList();
        started.SignalAndWait();
        long deleted = 0;
        for (var pass = 0; pass < Passes; pass++)
        {
            deleted += (await retention.DeleteBeforeAsync(new RetentionCutoffs(T0.AddHours(6 + (4 * pass)), null, null), CancellationToken.None)).RawReadings;
        }

        Volatile.Write(ref retentionDone, true);
        var written = await Task.WhenAll(writers);
        stored += written.Sum(w => w.Accepted);
        deleted += (await retention.DeleteBeforeAsync(new RetentionCutoffs(T0.AddHours(34), null, null), CancellationToken.None)).RawReadings;
        Assert.DoesNotContain(failures, f => f.Contains("root table", StringComparison.Ordinal));

        long kept = 0;
        foreach (var agent in Enumerable.Range(0, Agents))
        {
            kept += await ingest.ReadReadingsAsync($"a{agent}", null, T0, T0.AddDays(5), CancellationToken.None).CountAsync();
            Assert.Equal(written[agent].Sequence, await ingest.GetDurableSequenceAsync($"a{agent}", CancellationToken.None));
        }

        Assert.Equal(stored, deleted + kept);
        Assert.Equal(Agents * ThreeDays.Count(r => r.Time >= T0.AddHours(34)), kept);
    }

    [TimescaleDbFact]
    public async Task AServerThatStopsPreloadingTimescaleDb_FailsStartsAndCommits_NamingTheSetting_AndNothingIsLost()
    {
        await using var hypertable = await HypertableWithThreeDaysAsync();
        var (connectionString, _, store) = hypertable;

        await server.RestartAsync(preload: false);
        try
        {
            await using var starting = new PostgresDatabase(connectionString);
            var start = await Assert.ThrowsAsync<StorageException>(() => starting.MigrateAsync(CancellationToken.None));
            Assert.Contains("shared_preload_libraries", start.Message, StringComparison.Ordinal);

            // A replica that started before: its commit reaches the root table, and is refused (its
            // first tries may meet pooled connections the restart cut).
            StorageException? commit = null;
            for (var attempt = 0; attempt < 3 && commit?.Message.Contains("shared_preload_libraries", StringComparison.Ordinal) != true; attempt++)
            {
                commit = await Assert.ThrowsAsync<StorageException>(() => store.AppendAsync([new TelemetryBatch("a1", "ES", [Next], T0)], CancellationToken.None));
            }

            Assert.Equal(StorageFault.Unavailable, commit!.Fault);
            Assert.Contains("shared_preload_libraries", commit.Message, StringComparison.Ordinal);

            // Its reads fail with the cause too, where they would have come back without the compressed days.
            var read = await Assert.ThrowsAsync<StorageException>(() => store.ReadReadingsAsync("a1", null, T0, T0.AddDays(4), CancellationToken.None).ToListAsync().AsTask());
            Assert.Contains("shared_preload_libraries", read.Message, StringComparison.Ordinal);
        }
        finally
        {
            await server.RestartAsync(preload: true);
        }

        // Checked through a new pool: the running one's connections were cut by the restart.
        await using var after = new PostgresDatabase(connectionString);
        var restarted = new PostgresTelemetryStore(after);
        Assert.Equal(144, await restarted.GetDurableSequenceAsync("a1", CancellationToken.None));
        Assert.Equal(0L, await ScalarAsync<long>(connectionString, "SELECT count(*) FROM ONLY reading_chunks"));
        Assert.Equal(new AppendResult(145, 1, 0), (await restarted.AppendAsync([new TelemetryBatch("a1", "ES", [Next], T0)], CancellationToken.None)).Single());
        Assert.Equal([.. ThreeDays, Next], await restarted.ReadReadingsAsync("a1", null, T0, T0.AddDays(4), CancellationToken.None).ToListAsync());
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
            // A day a retention pass detached and did not drop: moved too, for the next pass to count and drop.
            await PostgresServer.ExecuteAsync(connectionString, "ALTER TABLE reading_chunks DETACH PARTITION reading_chunks_p20261101");
            // And one a DETACH CONCURRENTLY left halfway (interrupted after its first transaction): scans of the parent skip it.
            await PostgresServer.ExecuteAsync(connectionString, "UPDATE pg_inherits SET inhdetachpending = true WHERE inhrelid = 'reading_chunks_p20261102'::regclass");
        }

        await TimescaleDbServer.InstallAsync(connectionString);
        await using var database = new PostgresDatabase(connectionString);
        await database.MigrateAsync(CancellationToken.None);
        var moved = new PostgresTelemetryStore(database);

        Assert.True(database.ReadingsInHypertable);
        Assert.Equal(0L, await ScalarAsync<long>(connectionString, "SELECT count(*) FROM pg_class WHERE relname ~ '^reading_chunks_(p[0-9]{8}|native)'"));
        // Every reading moved, to the tick, the detached 1st's and the half-detached 2nd's too.
        Assert.Equal(ThreeDays, await moved.ReadReadingsAsync("a1", null, T0, T0.AddDays(4), CancellationToken.None).ToListAsync());
        Assert.Equal(a2, await moved.ReadReadingsAsync("a2", null, T0, T0.AddDays(4), CancellationToken.None).ToListAsync());
        Assert.Equal(hoursBefore, await moved.ReadAgentAsync("a1", null, TelemetryTier.Hour, T0, T0.AddDays(4), CancellationToken.None).ToListAsync());

        // Ingest goes on after the durable sequence, into the hypertable: the resent 144 is a duplicate.
        Assert.Equal(new AppendResult(145, 1, 1), (await moved.AppendAsync([new TelemetryBatch("a1", "ES", [ThreeDays[^1], Next], T0)], CancellationToken.None)).Single());
        Assert.Equal(Next, (await moved.ReadReadingsAsync("a1", null, T0.AddDays(3), T0.AddDays(4), CancellationToken.None).ToListAsync())[^1]);
    }

    [TimescaleDbFact]
    public async Task CompressedChunks_ReadBackTheSame_TakeALateReading_AndRetentionCountsEveryReadingItDrops()
    {
        await using var hypertable = await HypertableWithThreeDaysAsync();
        var (connectionString, _, store) = hypertable;

        // What the compression policy does to chunks older than two days, done now.
        Assert.Equal(4L, await CompressDaysBeforeAsync(connectionString, T0.AddDays(4)));
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
        Assert.Equal(3L, await ChunksAsync(connectionString));
        Assert.Equal(all.Where(r => r.Time >= T0.AddDays(1).AddHours(6)), await store.ReadReadingsAsync("a1", null, T0, T0.AddDays(4), CancellationToken.None).ToListAsync());
        // The rollups are tables of their own: the hours of the dropped day still answer.
        Assert.Equal(all.Where(r => r.Time < T0.AddDays(1)).Sum(r => r.EnergyJoules),
            (await store.ReadAgentAsync("a1", null, TelemetryTier.Hour, T0, T0.AddDays(1), CancellationToken.None).ToListAsync()).Sum(b => b.EnergyJoules), 9);
    }

    [TimescaleDbFact]
    public async Task Backup_WithPgDumpAndPgRestore_AsTheStorageDocsSay_RestoresCompressedChunksRollupsAndSequences()
    {
        await using var hypertable = await HypertableWithThreeDaysAsync();
        var connectionString = hypertable.ConnectionString;

        // The 1st and the 2nd compressed, the 3rd and the 4th not.
        Assert.Equal(2L, await CompressDaysBeforeAsync(connectionString, T0.AddDays(2)));

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
        Assert.Equal(new AppendResult(145, 1, 1), (await after.AppendAsync([new TelemetryBatch("a1", "ES", [ThreeDays[^1], Next], T0)], CancellationToken.None)).Single());
    }

    /// <summary>A new database with TimescaleDB installed and <see cref="ThreeDays"/> of agent a1 stored (in four daily chunks).</summary>
    private async Task<Hypertable> HypertableWithThreeDaysAsync()
    {
        var connectionString = await server.CreateDatabaseAsync();
        await TimescaleDbServer.InstallAsync(connectionString);
        var database = new PostgresDatabase(connectionString);
        var store = new PostgresTelemetryStore(database);
        await store.AppendAsync([new TelemetryBatch("a1", "ES", ThreeDays, T0)], CancellationToken.None);
        return new Hypertable(connectionString, database, store);
    }

    /// <summary>Compresses the chunks wholly before <paramref name="before"/>, as the compression policy would once they are old enough.</summary>
    /// <returns>How many it compressed.</returns>
    private static Task<long> CompressDaysBeforeAsync(string connectionString, DateTimeOffset before) => ScalarAsync<long>(connectionString,
        string.Create(CultureInfo.InvariantCulture, $"SELECT count(compress_chunk(c)) FROM show_chunks('reading_chunks', older_than => timestamptz '{before.UtcDateTime:O}') c"));

    private static Task<long> ChunksAsync(string connectionString) => ScalarAsync<long>(connectionString, "SELECT count(*) FROM show_chunks('reading_chunks')");

    private static async Task<T> ScalarAsync<T>(string connectionString, string sql)
    {
        await using var dataSource = NpgsqlDataSource.Create(connectionString);
        await using var command = dataSource.CreateCommand(sql);
        return (T)(await command.ExecuteScalarAsync())!;
    }

    private sealed record Hypertable(string ConnectionString, PostgresDatabase Database, PostgresTelemetryStore Store) : IAsyncDisposable
    {
        public ValueTask DisposeAsync() => Database.DisposeAsync();
    }
}
