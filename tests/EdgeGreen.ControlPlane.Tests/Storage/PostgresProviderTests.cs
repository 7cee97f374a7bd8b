using EdgeGreen.ControlPlane.Core.Cluster;
using EdgeGreen.ControlPlane.Core.Storage;
using EdgeGreen.ControlPlane.Core.Telemetry;
using EdgeGreen.ControlPlane.Storage;
using EdgeGreen.ControlPlane.Storage.Postgres;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Npgsql;
using Prometheus;

namespace EdgeGreen.ControlPlane.Tests.Storage;

/// <summary>What only the PostgreSQL provider has: migrations, day partitions, replicas sharing one database, and its wiring into the host.</summary>
public sealed class PostgresProviderTests(PostgresServer server) : IClassFixture<PostgresServer>
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 1, 0, 0, 0, TimeSpan.Zero);

    [RequiresProgramFact("initdb")]
    public async Task MigrateAsync_TwoReplicasAtOnceOnAnEmptyDatabase_BothSucceed_AndTheSchemaIsTheLatest()
    {
        var connectionString = await server.CreateDatabaseAsync();
        await using var first = new PostgresDatabase(connectionString);
        await using var second = new PostgresDatabase(connectionString);

        await Task.WhenAll(Task.Run(() => first.MigrateAsync(CancellationToken.None)), Task.Run(() => second.MigrateAsync(CancellationToken.None)));
        await first.MigrateAsync(CancellationToken.None);

        Assert.Equal(PostgresMigrations.Scripts.Select(s => s.Version), await AppliedVersionsAsync(connectionString));
        Assert.Equal(PostgresMigrations.LatestVersion, (await AppliedVersionsAsync(connectionString)).Max());
        Assert.Null(await second.GetProblemAsync(CancellationToken.None));
    }

    [RequiresProgramFact("initdb")]
    public async Task Retention_DropsWholeDayPartitions_AndAReplicaThatRememberedADayMakesItAgain()
    {
        var connectionString = await server.CreateDatabaseAsync();
        await using var database = new PostgresDatabase(connectionString);
        var ingest = new PostgresTelemetryStore(database);
        var retention = new PostgresTelemetryStore(database);
        // Two readings an hour, so that every chunk packs two and counting chunks would count half.
        var readings = Enumerable.Range(1, 144).Select(i => new ReadingRecord(i, T0.AddMinutes(30 * (i + 1)), TimeSpan.FromMinutes(1), "s", "dram", 6,
            ReadingProvenance.Measured)).ToList();
        await ingest.AppendAsync([new TelemetryBatch("a1", "ES", readings, T0)], CancellationToken.None);
        Assert.Equal(["reading_chunks_p20261101", "reading_chunks_p20261102", "reading_chunks_p20261103", "reading_chunks_p20261104", "reading_chunks_p20261105"],
            await PartitionsAsync(connectionString));

        var result = await retention.DeleteBeforeAsync(new RetentionCutoffs(T0.AddDays(2), null, null), CancellationToken.None);

        // The 1st and the 2nd dropped whole: 46 readings from 01:00 to 23:30, then 48.
        Assert.Equal(94, result.RawReadings);
        Assert.Equal(readings.Count(r => r.Time < T0.AddDays(2)), result.RawReadings);
        Assert.Equal(["reading_chunks_p20261103", "reading_chunks_p20261104", "reading_chunks_p20261105"], await PartitionsAsync(connectionString));

        // The ingesting store still believes the 1st exists: its commit fails over to making it again.
        var late = await ingest.AppendAsync([new TelemetryBatch("a1", "ES", [readings[0] with { Sequence = 145 }], T0)], CancellationToken.None);
        Assert.Equal(new AppendResult(145, 1, 0), late.Single());
        Assert.Equal([145L], await ingest.ReadReadingsAsync("a1", null, T0, T0.AddDays(1), CancellationToken.None).Select(r => r.Sequence).ToListAsync());
    }

    [RequiresProgramFact("initdb")]
    public async Task Backup_WithPgDumpAndPgRestore_AsTheStorageDocsSay_RestoresReadingsRollupsAndSequences()
    {
        var connectionString = await server.CreateDatabaseAsync();
        await using (var database = new PostgresDatabase(connectionString))
        {
            await new PostgresTelemetryStore(database).AppendAsync([new TelemetryBatch("a1", "ES", TimescaleDbProviderTests.ThreeDays, T0)], CancellationToken.None);
        }

        await TimescaleDbProviderTests.AssertBackupRestoresAsync(server, connectionString, timescaleDb: false);
    }

    [RequiresProgramFact("initdb")]
    public async Task Migration7_PacksTheReadingsOfVersion1sTable_AndTheyReadBackExactly_ThenRetentionCountsThem()
    {
        var connectionString = await server.CreateDatabaseAsync();
        await using var dataSource = NpgsqlDataSource.Create(connectionString);
        await using (var connection = await dataSource.OpenConnectionAsync())
        {
            foreach (var (_, sql) in PostgresMigrations.Scripts.Where(s => s.Version < 7))
            {
                await using var script = new NpgsqlCommand(sql, connection);
                await script.ExecuteNonQueryAsync();
            }

            await using var legacyDays = new NpgsqlCommand("""
                CREATE TABLE schema_migrations (version int PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now());
                INSERT INTO schema_migrations (version) SELECT generate_series(1, 6);
                CREATE TABLE readings_p20261101 PARTITION OF readings FOR VALUES FROM ('2026-11-01 00:00:00+00') TO ('2026-11-02 00:00:00+00');
                CREATE TABLE readings_p20261102 PARTITION OF readings FOR VALUES FROM ('2026-11-02 00:00:00+00') TO ('2026-11-03 00:00:00+00');
                CREATE TABLE readings_p20261020 (LIKE readings);
                """, connection);
            await legacyDays.ExecuteNonQueryAsync();
        }

        // Two agents, two sensors and domains, times to the tick, across hours and a day boundary.
        List<ReadingRecord> a1 = [.. Enumerable.Range(1, 50).Select(i => new ReadingRecord(i, T0.AddHours(22).AddMinutes(3 * i).AddTicks(i % 10),
            TimeSpan.FromSeconds(i), i % 2 == 0 ? "rapl" : "model", i % 3 == 0 ? "dram" : "cpu.package", i * 1.25, (ReadingProvenance)(i % 2)))];
        List<ReadingRecord> a2 = [.. Enumerable.Range(7, 5).Select(i => new ReadingRecord(i, T0.AddHours(1).AddSeconds(i), TimeSpan.FromSeconds(1), "s", "gpu0", 0.5,
            ReadingProvenance.Measured))];
        await using (var connection = await dataSource.OpenConnectionAsync())
        await using (var insert = new NpgsqlBatch(connection))
        {
            foreach (var (agent, reading) in a1.Select(r => ("a1", r)).Concat(a2.Select(r => ("a2", r))))
            {
                var ticks = reading.Time.UtcTicks;
                insert.BatchCommands.Add(new NpgsqlBatchCommand(
                    "INSERT INTO readings VALUES (@agent, @seq, @time, @extra, @interval, @sensor, @domain, @energy, @provenance)")
                {
                    Parameters =
                    {
                        new NpgsqlParameter("agent", agent), new NpgsqlParameter("seq", reading.Sequence),
                        new NpgsqlParameter("time", new DateTime(ticks - (ticks % 10), DateTimeKind.Utc)), new NpgsqlParameter("extra", (short)(ticks % 10)),
                        new NpgsqlParameter("interval", reading.Interval.Ticks), new NpgsqlParameter("sensor", reading.SensorId),
                        new NpgsqlParameter("domain", reading.Domain), new NpgsqlParameter("energy", reading.EnergyJoules),
                        new NpgsqlParameter("provenance", (short)reading.Provenance),
                    },
                });
            }

            await insert.ExecuteNonQueryAsync();
        }

        await using var database = new PostgresDatabase(connectionString);
        await database.MigrateAsync(CancellationToken.None);
        var store = new PostgresTelemetryStore(database);

        Assert.Equal(a1, await store.ReadReadingsAsync("a1", null, T0, T0.AddDays(2), CancellationToken.None).ToListAsync());
        Assert.Equal(a2, await store.ReadReadingsAsync("a2", null, T0, T0.AddDays(2), CancellationToken.None).ToListAsync());
        Assert.Equal(a1.Where(r => r.Domain == "dram"), await store.ReadReadingsAsync("a1", "dram", T0, T0.AddDays(2), CancellationToken.None).ToListAsync());
        Assert.Equal(["reading_chunks_p20261101", "reading_chunks_p20261102"], await PartitionsAsync(connectionString));
        await using (var legacy = dataSource.CreateCommand(
            "SELECT count(*) FROM pg_class WHERE relname = 'readings' OR relname LIKE 'readings\\_p%'"))
        {
            Assert.Equal(0L, await legacy.ExecuteScalarAsync());
        }

        // Retention counts readings, not chunks: the hours before 23:00 on the 1st hold a2's five and a1's first nineteen.
        var result = await store.DeleteBeforeAsync(new RetentionCutoffs(T0.AddHours(23), null, null), CancellationToken.None);
        Assert.Equal(5 + a1.Count(r => r.Time < T0.AddHours(23)), result.RawReadings);
        Assert.Equal(a1.Where(r => r.Time >= T0.AddHours(23)), await store.ReadReadingsAsync("a1", null, T0, T0.AddDays(2), CancellationToken.None).ToListAsync());
    }

    [RequiresProgramFact("initdb")]
    public async Task Migration8_HourRowsOfVersion7_ReadTheSame_AndLateReadingsForThoseHoursAddToThem()
    {
        var connectionString = await server.CreateDatabaseAsync();
        await using var dataSource = NpgsqlDataSource.Create(connectionString);
        await using (var connection = await dataSource.OpenConnectionAsync())
        await using (var transaction = await connection.BeginTransactionAsync())
        {
            foreach (var (_, sql) in PostgresMigrations.Scripts.Where(s => s.Version < 8))
            {
                await using var script = new NpgsqlCommand(sql, connection);
                await script.ExecuteNonQueryAsync();
            }

            // As version 7 left them: a1's hours 0 and 1 of the 1st, whose minutes retention kept
            // only for hour 1; a2 with an hour ahead of the present (a clock running fast).
            var hour0 = TelemetryTiers.BucketIndex(T0, TelemetryTiers.Hour);
            await using var legacy = new NpgsqlCommand($"""
                CREATE TABLE schema_migrations (version int PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now());
                INSERT INTO schema_migrations (version) SELECT generate_series(1, 7);
                INSERT INTO telemetry_summaries (agent_id, durable_sequence) VALUES ('a1', 10), ('a2', 1), ('a3', 0);
                INSERT INTO rollup_hour VALUES ('a1', 'cpu.package', {hour0}, 100, 60, 6), ('a1', 'cpu.package', {hour0 + 1}, 200, 40, 4),
                    ('a2', 'gpu0', floor(extract(epoch FROM now()) / 3600)::bigint + 3, 5, 1, 1);
                INSERT INTO rollup_minute VALUES ('a1', 'cpu.package', {(hour0 + 1) * 60}, 150, 30, 3), ('a1', 'cpu.package', {((hour0 + 1) * 60) + 1}, 50, 10, 1);
                """, connection);
            await legacy.ExecuteNonQueryAsync();
            await transaction.CommitAsync();
        }

        await using var database = new PostgresDatabase(connectionString);
        await database.MigrateAsync(CancellationToken.None);
        var store = new PostgresTelemetryStore(database);

        Assert.Equal([(T0, 100.0, 6L), (T0.AddHours(1), 200.0, 4L)], await StorageContract.FirstDayHoursAsync(store));
        await using (var marks = dataSource.CreateCommand(
            "SELECT agent_id, hours_closed_until - (floor(extract(epoch FROM now()) / 3600)::bigint + 1) FROM telemetry_summaries ORDER BY agent_id"))
        await using (var reader = await marks.ExecuteReaderAsync())
        {
            var offsets = new List<(string, long)>();
            while (await reader.ReadAsync())
            {
                offsets.Add((reader.GetString(0), reader.GetInt64(1)));
            }

            // Closed up to the present's next hour (or the one the migration ran in, if an hour turned since), a2 past its own.
            Assert.Equal(["a1", "a2", "a3"], offsets.Select(o => o.Item1));
            Assert.Contains(offsets[0].Item2, new long[] { 0, -1 });
            Assert.Contains(offsets[1].Item2, new long[] { 3, 2 });
        }

        await store.AppendAsync([new TelemetryBatch("a1", "ES",
            [new ReadingRecord(11, T0.AddMinutes(10), TimeSpan.FromSeconds(10), "s", "cpu.package", 7, ReadingProvenance.Modelled)], T0)], CancellationToken.None);
        Assert.Equal([(T0, 107.0, 7L), (T0.AddHours(1), 200.0, 4L)], await StorageContract.FirstDayHoursAsync(store));

    }

    [RequiresProgramFact("initdb")]
    public async Task Append_WritesNoHourRowsForAnAgentsOpenHours_AndTheRetentionPassFoldsExactlyTheEndedOnes()
    {
        var connectionString = await server.CreateDatabaseAsync();
        await using var database = new PostgresDatabase(connectionString);
        await database.MigrateAsync(CancellationToken.None);
        var store = new PostgresTelemetryStore(database);
        foreach (var agent in Enumerable.Range(0, 600).Select(i => $"agent-{i:D3}"))
        {
            // Ending 00:59:30, 01:00:00 and 01:00:30.
            await store.AppendAsync([new TelemetryBatch(agent, "ES", [.. Enumerable.Range(1, 3)
                .Select(i => new ReadingRecord(i, T0.AddSeconds(3540 + (30 * i)), TimeSpan.FromSeconds(30), "s", "cpu.package", 3, ReadingProvenance.Modelled))], T0)],
                CancellationToken.None);
        }

        Assert.Equal(0L, await CountAsync("SELECT count(*) FROM rollup_hour_closed"));

        // The leader's retention pass at 01:30: hour 0 has ended, hour 1 has not. More agents than one transaction takes.
        var clock = new FakeTimeProvider(T0.AddMinutes(90));
        var retention = new TelemetryRetention(store, Options.Create(new TelemetryOptions()), clock, Metrics.WithCustomRegistry(Metrics.NewCustomRegistry()),
            new ClusterMembership(new PostgresClusterStore(database), Options.Create(new ClusterOptions()), clock, NullLogger<ClusterMembership>.Instance),
            NullLogger<TelemetryRetention>.Instance);
        Assert.Equal(new RetentionResult(0, 0, 0), await retention.RunOnceAsync(CancellationToken.None));
        Assert.Equal(600L, await CountAsync("SELECT count(*) FROM rollup_hour_closed"));
        Assert.Equal(600L, await CountAsync($"SELECT count(*) FROM telemetry_summaries WHERE hours_closed_until = {TelemetryTiers.BucketIndex(T0, TelemetryTiers.Hour) + 1}"));
        Assert.Equal(0, await store.CloseHoursAsync(T0.AddMinutes(119), CancellationToken.None));
        var hours = await store.ReadAgentAsync("agent-123", null, TelemetryTier.Hour, T0, T0.AddHours(2), CancellationToken.None).ToListAsync();
        Assert.Equal([(T0, 3.0, 1L), (T0.AddHours(1), 6.0, 2L)], hours.Select(h => (h.Time, h.EnergyJoules, h.Readings)));

        async Task<long> CountAsync(string sql)
        {
            await using var dataSource = NpgsqlDataSource.Create(connectionString);
            await using var command = dataSource.CreateCommand(sql);
            return (long)(await command.ExecuteScalarAsync())!;
        }
    }

    [RequiresProgramFact("initdb")]
    public async Task CloseHours_WhileCommitsAddToTheSameAgentsHours_LosesAndDoublesNothing()
    {
        await using var database = new PostgresDatabase(await server.CreateDatabaseAsync());
        await database.MigrateAsync(CancellationToken.None);
        var store = new PostgresTelemetryStore(database);
        List<string> agents = [.. Enumerable.Range(0, 8).Select(i => $"agent-{i}")];

        // Each agent: 240 readings, one a minute over four hours, in batches of 10, while beside them
        // the hours before the newest committed reading's are closed again and again: the agents
        // behind are still committing to the hours being folded.
        long newestMinute = 0;
        var firstFold = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var appends = Task.WhenAll(agents.Select(agent => Task.Run(async () =>
        {
            for (var batch = 0; batch < 24; batch++)
            {
                if (batch == 6)
                {
                    // Hour 0 is folded while the agents go on: at least one fold overlaps their commits.
                    await firstFold.Task.WaitAsync(TimeSpan.FromSeconds(60));
                }

                List<ReadingRecord> readings = [.. Enumerable.Range((batch * 10) + 1, 10)
                    .Select(i => new ReadingRecord(i, T0.AddMinutes(i), TimeSpan.FromMinutes(1), "s", "cpu.package", 1, ReadingProvenance.Modelled))];
                await store.AppendAsync([new TelemetryBatch(agent, "ES", readings, T0)], CancellationToken.None);
                for (long seen = Interlocked.Read(ref newestMinute); seen < (batch + 1) * 10; seen = Interlocked.Read(ref newestMinute))
                {
                    Interlocked.CompareExchange(ref newestMinute, (batch + 1) * 10, seen);
                }
            }
        })));
        long foldedWhileAppending = 0;
        while (!appends.IsCompleted)
        {
            var newest = Interlocked.Read(ref newestMinute);
            var folded = await store.CloseHoursAsync(T0.AddMinutes(newest), CancellationToken.None);
            // Only a fold that closed hour 0, which has readings, counts (before that, a fold only
            // moves new agents' marks up to hour 0).
            if (folded > 0 && newest >= 60)
            {
                foldedWhileAppending += folded;
                firstFold.TrySetResult();
            }

            // Paced, not spun: tests of other classes share the cores.
            await Task.Delay(TimeSpan.FromMilliseconds(5));
        }

        await appends;
        await store.CloseHoursAsync(T0.AddHours(3), CancellationToken.None);
        foreach (var agent in agents)
        {
            var hours = await store.ReadAgentAsync(agent, null, TelemetryTier.Hour, T0, T0.AddHours(5), CancellationToken.None).ToListAsync();
            // Minutes 1 to 59 end in hour 0; 60 to 119 in hour 1; and so on; minute 240 in hour 4.
            Assert.Equal([59L, 60, 60, 60, 1], hours.Select(h => h.Readings));
            Assert.Equal([59.0, 60, 60, 60, 1], hours.Select(h => h.EnergyJoules));
        }

        Assert.True(foldedWhileAppending > 0, "no hour was folded while the agents committed");
    }

    [RequiresProgramFact("initdb")]
    public async Task ReadReadings_AChunkThatDoesNotDecode_IsACorruptStoreNamingTheAgentAndHour()
    {
        var connectionString = await server.CreateDatabaseAsync();
        await using var database = new PostgresDatabase(connectionString);
        var store = new PostgresTelemetryStore(database);
        await store.AppendAsync([new TelemetryBatch("a1", "ES", [new ReadingRecord(1, T0.AddMinutes(5), TimeSpan.FromMinutes(1), "s", "dram", 6,
            ReadingProvenance.Measured)], T0)], CancellationToken.None);
        await using (var dataSource = NpgsqlDataSource.Create(connectionString))
        await using (var damage = dataSource.CreateCommand("UPDATE reading_chunks SET data = substring(data FROM 1 FOR 30)"))
        {
            Assert.Equal(1, await damage.ExecuteNonQueryAsync());
        }

        var failure = await Assert.ThrowsAsync<StorageException>(async () =>
            await store.ReadReadingsAsync("a1", null, T0, T0.AddHours(1), CancellationToken.None).ToListAsync());

        Assert.Equal(StorageFault.Corrupt, failure.Fault);
        Assert.Contains("agent a1 at 2026-11-01T00:00:00", failure.Message);
    }

    [RequiresProgramFact("initdb")]
    public async Task ConcurrentCommits_FortyAgentsThroughFourLanes_StoreEveryReadingOnceInOrder_AndTheZoneRollupsCountThemAll()
    {
        await using var database = new PostgresDatabase(await server.CreateDatabaseAsync());
        var store = new PostgresTelemetryStore(database);
        using var writer = new TelemetryWriter(store, Options.Create(new TelemetryOptions()), Metrics.WithCustomRegistry(Metrics.NewCustomRegistry()),
            NullLogger<TelemetryWriter>.Instance);
        Assert.Equal(4, writer.Lanes);
        List<string> agents = [.. Enumerable.Range(0, 40).Select(i => $"agent-{i:D2}")];
        Assert.Equal(4, agents.Select(writer.LaneOf).Distinct().Count());
        await writer.StartAsync(CancellationToken.None);
        try
        {
            // Every agent's 25 batches are queued at once, as a draining outbox sends them; all
            // agents share the two zones' rollup rows, which the lanes' transactions take in turn.
            await Task.WhenAll(agents.Select(async (agent, i) =>
            {
                var chain = new BatchChain();
                var pending = new List<Task<AppendResult>>();
                for (var batch = 0; batch < 25; batch++)
                {
                    List<ReadingRecord> readings = [.. Enumerable.Range((batch * 4) + 1, 4)
                        .Select(seq => new ReadingRecord(seq, T0.AddSeconds(seq), TimeSpan.FromSeconds(1), "s", "cpu.package", 2, ReadingProvenance.Modelled))];
                    pending.Add(await writer.SubmitAsync(new TelemetryBatch(agent, i % 2 == 0 ? "ES" : "NO", readings, T0), chain, CancellationToken.None));
                }

                var results = await Task.WhenAll(pending).WaitAsync(TimeSpan.FromSeconds(60));
                Assert.Equal(Enumerable.Range(1, 25).Select(b => b * 4L), results.Select(r => r.DurableSequence));
                Assert.All(results, r => Assert.Equal((4, 0), (r.Accepted, r.Duplicates)));
            }));
        }
        finally
        {
            await writer.StopAsync(CancellationToken.None);
        }

        foreach (var agent in agents)
        {
            var summary = await store.GetSummaryAsync(agent, CancellationToken.None);
            Assert.Equal((100L, 100L, 200.0), (summary!.DurableSequence, summary.ReadingCount, summary.EnergyJoules));
            Assert.Equal(Enumerable.Range(1, 100).Select(i => (long)i),
                (await store.ReadReadingsAsync(agent, null, T0, T0.AddHours(1), CancellationToken.None).ToListAsync()).Select(r => r.Sequence));
        }

        var zones = await store.ReadZonesAsync(TelemetryTier.Hour, T0, T0.AddHours(1), CancellationToken.None).ToListAsync();
        Assert.Equal([("ES", 2000L, 4000.0), ("NO", 2000L, 4000.0)], zones.Select(z => (z.Zone, z.Readings, z.EnergyJoules)));
        Assert.Equal(4000, (await store.ReadZonesAsync(TelemetryTier.Minute, T0, T0.AddHours(1), CancellationToken.None).ToListAsync()).Sum(z => z.Readings));
    }

    [RequiresProgramFact("initdb")]
    public async Task Constructor_PreparesStatementsUsedAgainOnTheServer_UnlessTheConnectionStringSaysOtherwise()
    {
        var connectionString = await server.CreateDatabaseAsync();
        await using var unset = new PostgresDatabase(connectionString);
        await using var off = new PostgresDatabase(connectionString + ";Max Auto Prepare=0");
        await unset.MigrateAsync(CancellationToken.None);

        Assert.Equal(1, await PreparedAfterTenUsesAsync(unset));
        Assert.Equal(0, await PreparedAfterTenUsesAsync(off));

        // One connection: the statements a connection prepared are its own.
        static Task<long> PreparedAfterTenUsesAsync(PostgresDatabase database) => database.ReadAsync(async (connection, token) =>
        {
            for (var i = 0; i < 10; i++)
            {
                await using var command = new NpgsqlCommand("SELECT count(*) FROM telemetry_summaries WHERE agent_id = @agent", connection);
                command.Parameters.AddWithValue("agent", $"a{i}");
                await command.ExecuteScalarAsync(token);
            }

            await using var prepared = new NpgsqlCommand("SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE '%telemetry_summaries WHERE agent_id%'", connection);
            return (long)(await prepared.ExecuteScalarAsync(token))!;
        }, CancellationToken.None);
    }

    [Fact]
    public async Task Constructor_KeepsIdleConnectionsAnHourUnlessTheConnectionStringSaysOtherwise()
    {
        await using var unset = new PostgresDatabase("Host=127.0.0.1;Username=edgegreen;Database=edgegreen");
        await using var given = new PostgresDatabase("Host=127.0.0.1;Username=edgegreen;Database=edgegreen;Connection Idle Lifetime=30");
        await using var alias = new PostgresDatabase("Host=127.0.0.1;Username=edgegreen;Database=edgegreen;connectionidlelifetime=45");

        Assert.Equal(TimeSpan.FromHours(1), unset.ConnectionIdleLifetime);
        Assert.Equal(TimeSpan.FromSeconds(30), given.ConnectionIdleLifetime);
        Assert.Equal(TimeSpan.FromSeconds(45), alias.ConnectionIdleLifetime);
    }

    [Fact]
    public async Task Failures_OfAnUnreachableServer_AreStorageExceptions_AndReadinessSaysWhere()
    {
        // Nothing listens on a port just released.
        var port = LoopbackPorts.Free();
        await using var database = new PostgresDatabase($"Host=127.0.0.1;Port={port};Username=edgegreen;Database=edgegreen;Timeout=5");

        var failure = await Assert.ThrowsAsync<StorageException>(() =>
            new PostgresTelemetryStore(database).AppendAsync([new TelemetryBatch("a1", "ES", [], T0)], CancellationToken.None));
        var problem = await database.GetProblemAsync(CancellationToken.None);

        Assert.Equal(StorageFault.Unavailable, failure.Fault);
        Assert.Contains($"127.0.0.1:{port}", problem);
        await Assert.ThrowsAsync<StorageException>(() => new PostgresAgentStore(database).GetAsync("a1", CancellationToken.None));
    }

    [Fact]
    public void Translate_ServerNetworkAndDataFailures_BecomeTheCoresFaults_AndTheCallersOwnErrorsPass()
    {
        static StorageFault? Fault(Exception exception) => PostgresDatabase.Translate(exception)?.Fault;

        Assert.Equal(StorageFault.Full, Fault(new PostgresException("could not extend file", "ERROR", "ERROR", PostgresErrorCodes.DiskFull)));
        Assert.Equal(StorageFault.Corrupt, Fault(new PostgresException("invalid page in block 7", "ERROR", "ERROR", PostgresErrorCodes.DataCorrupted)));
        Assert.Equal(StorageFault.Corrupt, Fault(new PostgresException("index is corrupted", "ERROR", "ERROR", PostgresErrorCodes.IndexCorrupted)));
        Assert.Equal(StorageFault.Unavailable, Fault(new PostgresException("terminating connection", "FATAL", "FATAL", PostgresErrorCodes.AdminShutdown)));
        Assert.Equal(StorageFault.Unavailable, Fault(new NpgsqlException("Failed to connect to 127.0.0.1:5432")));
        Assert.Equal(StorageFault.Unavailable, Fault(new System.Net.Sockets.SocketException(111)));
        Assert.Null(Fault(new ArgumentException("the caller's own mistake")));
        Assert.Null(Fault(new OperationCanceledException()));
    }

    [Fact]
    public void AddStorage_PostgresWithoutAConnectionString_FailsNamingTheKey()
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["EdgeGreen:Storage:Provider"] = "Postgres" });

        var failure = Assert.Throws<InvalidOperationException>(() => builder.AddStorage());

        Assert.Contains("ConnectionStrings:EdgeGreen", failure.Message);
    }

    [RequiresProgramFact("initdb")]
    public async Task HostStart_WithPostgres_MigratesBeforeAnyHostedServiceStarts()
    {
        var connectionString = await server.CreateDatabaseAsync();
        using var data = new TempDirectory();
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["EdgeGreen:Storage:Provider"] = "Postgres",
            ["EdgeGreen:Storage:DataDirectory"] = data.Path,
            ["ConnectionStrings:EdgeGreen"] = connectionString,
        });
        // Registered before storage, and reading the schema without any store: it sees what migrated before it started.
        var probe = new SchemaProbe(connectionString);
        builder.Services.AddSingleton<IHostedService>(probe);
        builder.AddStorage();

        using var host = builder.Build();
        await host.StartAsync();
        await host.StopAsync();

        Assert.Equal(PostgresMigrations.LatestVersion, probe.VersionAtStart);
        Assert.IsType<PostgresTelemetryStore>(host.Services.GetRequiredService<ITelemetryStore>());
    }

    [RequiresProgramFact("initdb")]
    public async Task ControlPlane_OnPostgres_StoresAnAgentsStreamExactlyOnce_AndIsReady()
    {
        using var temp = new TempDirectory();
        await using var controlPlane = await TestControlPlane.StartAsync(temp.Sub("cp"), settings: new Dictionary<string, string?>
        {
            ["EdgeGreen:Storage:Provider"] = "Postgres",
            ["ConnectionStrings:EdgeGreen"] = await server.CreateDatabaseAsync(),
        });
        await using var agent = await TestAgent.StartAsync(controlPlane.GrpcUrl, await controlPlane.MintEnrollmentTokenAsync(), temp.Sub("agent"));

        for (var chunk = 0; chunk < 10; chunk++)
        {
            agent.Produce(100);
        }

        await Eventually.WaitUntilAsync(() => agent.Outbox.Depth == 0, TimeSpan.FromSeconds(60), "the outbox is fully acknowledged");
        var telemetry = controlPlane.Service<ITelemetryStore>();
        var agentId = agent.Connection.AgentId!;
        var stored = await telemetry.ReadReadingsAsync(agentId, null, DateTimeOffset.MinValue, DateTimeOffset.MaxValue, CancellationToken.None).ToListAsync();
        using var http = controlPlane.CreateClient();
        using var ready = await http.GetAsync(new Uri("/readyz", UriKind.Relative));

        Assert.IsType<PostgresTelemetryStore>(telemetry);
        Assert.Equal(Enumerable.Range(1, 1000).Select(i => (long)i), stored.Select(r => r.Sequence).Order());
        Assert.Equal(1000, (await telemetry.GetSummaryAsync(agentId, CancellationToken.None))!.ReadingCount);
        Assert.NotNull(await controlPlane.Service<IAgentStore>().GetAsync(agentId, CancellationToken.None));
        Assert.Equal(System.Net.HttpStatusCode.OK, ready.StatusCode);
        Assert.Empty(controlPlane.Errors.Entries);
        Assert.Empty(agent.Errors.Entries);
    }

    private static async Task<List<int>> AppliedVersionsAsync(string connectionString)
    {
        await using var dataSource = NpgsqlDataSource.Create(connectionString);
        await using var command = dataSource.CreateCommand("SELECT version FROM schema_migrations ORDER BY version");
        await using var reader = await command.ExecuteReaderAsync();
        var versions = new List<int>();
        while (await reader.ReadAsync())
        {
            versions.Add(reader.GetInt32(0));
        }

        return versions;
    }

    private static async Task<List<string>> PartitionsAsync(string connectionString)
    {
        await using var dataSource = NpgsqlDataSource.Create(connectionString);
        await using var command = dataSource.CreateCommand(
            "SELECT c.relname::text FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'reading_chunks'::regclass ORDER BY 1");
        await using var reader = await command.ExecuteReaderAsync();
        var names = new List<string>();
        while (await reader.ReadAsync())
        {
            names.Add(reader.GetString(0));
        }

        return names;
    }

    private sealed class SchemaProbe(string connectionString) : IHostedService
    {
        public int? VersionAtStart { get; private set; }

        public async Task StartAsync(CancellationToken cancellationToken)
        {
            await using var dataSource = NpgsqlDataSource.Create(connectionString);
            await using var command = dataSource.CreateCommand("SELECT max(version) FROM schema_migrations");
            try
            {
                VersionAtStart = await command.ExecuteScalarAsync(cancellationToken) as int?;
            }
            catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.UndefinedTable)
            {
                VersionAtStart = null;
            }
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
