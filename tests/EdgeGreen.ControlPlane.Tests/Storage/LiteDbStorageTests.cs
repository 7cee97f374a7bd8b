using EdgeGreen.ControlPlane.Core.Storage;
using EdgeGreen.ControlPlane.Core.Telemetry;
using EdgeGreen.ControlPlane.Storage;
using EdgeGreen.ControlPlane.Storage.LiteDb;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace EdgeGreen.ControlPlane.Tests.Storage;

public sealed class LiteDbStorageTests : StorageContract
{
    private readonly TempDirectory _temp = new();
    private LiteDbDatabase? _database;

    public override async Task DisposeAsync()
    {
        await CloseAsync();
        _temp.Dispose();
    }

    protected override Task<Stores> OpenAsync()
    {
        _database = new LiteDbDatabase(Options.Create(new StorageOptions { DataDirectory = _temp.Path }));
        return Task.FromResult(new Stores(
            new LiteDbTelemetryStore(_database), new LiteDbAgentStore(_database), new LiteDbAccessStore(_database), new LiteDbJobStore(_database),
            new LiteDbDatasetStore(_database), new LiteDbModelStore(_database), new LiteDbWebhookStore(_database), new LiteDbPipelineStore(_database), new LiteDbDeploymentStore(_database), new LiteDbMonitoringStore(_database),
            new LiteDbAlertStore(_database)));
    }

    protected override Task CloseAsync()
    {
        // Every collection a store used was there from the start: none may come into being while the
        // control plane runs (LiteDbDatabase.CreateCollections says why).
        Assert.Empty((_database?.Database.GetCollectionNames() ?? []).Except(LiteDbDatabase.Collections));
        _database?.Dispose();
        _database = null;
        return Task.CompletedTask;
    }

    [Fact]
    public async Task Open_AFileFromBeforeHoursWereClosed_ClosesEachAgentsHoursUpToThePresent_AndHourQueriesReadTheSame()
    {
        using var temp = new TempDirectory();
        var options = Options.Create(new StorageOptions { DataDirectory = temp.Path });
        var hour0 = TelemetryTiers.BucketIndex(T0, TelemetryTiers.Hour);
        using (var legacy = new LiteDbDatabase(options))
        {
            // As an earlier version left them: hours 0 and 1 of the 1st, whose minutes retention kept only for hour 1.
            legacy.Write(db =>
            {
                db.GetCollection("telemetry_summaries").Insert(new LiteDB.BsonDocument
                {
                    ["_id"] = "a1", ["key"] = 1L, ["durableSequence"] = 10L, ["readingCount"] = 10L, ["energyJoules"] = 300.0,
                    ["lastReadingAt"] = LiteDB.BsonValue.Null, ["latestPowerWatts"] = new LiteDB.BsonDocument(), ["lastReceivedAt"] = LiteDB.BsonValue.Null,
                });
                var hours = db.GetCollection("rollup_hour");
                hours.Insert(Rollup($"{1:x8}{hour0:x10}cpu.package", 100, 60, 6));
                hours.Insert(Rollup($"{1:x8}{hour0 + 1:x10}cpu.package", 200, 40, 4));
                var minutes = db.GetCollection("rollup_minute");
                minutes.Insert(Rollup($"{1:x8}{(hour0 + 1) * 60:x10}cpu.package", 150, 30, 3));
                minutes.Insert(Rollup($"{1:x8}{((hour0 + 1) * 60) + 1:x10}cpu.package", 50, 10, 1));
                return 0;
            });
        }

        // Opened two days later: closed up to the present's next hour.
        using var database = new LiteDbDatabase(options);
        var store = new LiteDbTelemetryStore(database, new FakeTimeProvider(T0.AddDays(2).AddMinutes(30)));

        Assert.Equal([(T0, 100.0, 6L), (T0.AddHours(1), 200.0, 4L)], await StorageContract.FirstDayHoursAsync(store));
        Assert.Equal(hour0 + 49, database.Read(() => database.Database.GetCollection("telemetry_summaries").FindById("a1"))["hc"].AsInt64);
        await store.AppendAsync([new TelemetryBatch("a1", "ES",
            [new ReadingRecord(11, T0.AddMinutes(10), TimeSpan.FromSeconds(10), "s", "cpu.package", 7, ReadingProvenance.Modelled)], T0)], CancellationToken.None);
        Assert.Equal([(T0, 107.0, 7L), (T0.AddHours(1), 200.0, 4L)], await StorageContract.FirstDayHoursAsync(store));


        static LiteDB.BsonDocument Rollup(string id, double energyJoules, double coveredSeconds, long readings) =>
            new() { ["_id"] = id, ["e"] = energyJoules, ["c"] = coveredSeconds, ["n"] = readings };
    }

    [Fact]
    public async Task Append_WritesNoHourDocumentsForAnAgentsOpenHours_AndCloseHoursFoldsExactlyTheEndedOnes()
    {
        using var temp = new TempDirectory();
        using var database = new LiteDbDatabase(Options.Create(new StorageOptions { DataDirectory = temp.Path }));
        var store = new LiteDbTelemetryStore(database);
        foreach (var agent in Enumerable.Range(0, 20).Select(i => $"agent-{i:D2}"))
        {
            // Ending 00:59:30, 01:00:00 and 01:00:30.
            await store.AppendAsync([new TelemetryBatch(agent, "ES", [.. Enumerable.Range(1, 3)
                .Select(i => new ReadingRecord(i, T0.AddSeconds(3540 + (30 * i)), TimeSpan.FromSeconds(30), "s", "cpu.package", 3, ReadingProvenance.Modelled))], T0)],
                CancellationToken.None);
        }

        Assert.Equal(0, HourDocuments());

        // 01:30: hour 0 has ended, hour 1 has not.
        Assert.Equal(20, await store.CloseHoursAsync(T0.AddMinutes(90), CancellationToken.None));
        Assert.Equal(20, HourDocuments());
        Assert.Equal(0, await store.CloseHoursAsync(T0.AddMinutes(119), CancellationToken.None));
        var hours = await store.ReadAgentAsync("agent-07", null, TelemetryTier.Hour, T0, T0.AddHours(2), CancellationToken.None).ToListAsync();
        Assert.Equal([(T0, 3.0, 1L), (T0.AddHours(1), 6.0, 2L)], hours.Select(h => (h.Time, h.EnergyJoules, h.Readings)));

        int HourDocuments() => database.Read(() => database.Database.GetCollection("rollup_hour").Count());
    }

    [Fact]
    public async Task Open_AFileWithChunksFiledByAgentAndHour_ReadsThemBesideNewOnes_RetentionEmptiesThem_AndTheNextOpenDropsTheirCollection()
    {
        using var temp = new TempDirectory();
        var options = Options.Create(new StorageOptions { DataDirectory = temp.Path });
        using (var legacy = new LiteDbDatabase(options))
        {
            // As an earlier version left them: ObjectIds, indexed on k = agent key × 2³² + hour; no fw in the summaries.
            var store = new LiteDbTelemetryStore(legacy);
            await store.AppendAsync([Batch("a1", 1, 10, 30, 50), Batch("b2", 1, 15, 3_625)], CancellationToken.None);
            legacy.Write(db =>
            {
                var old = db.GetCollection("readings");
                foreach (var chunk in db.GetCollection("raw_chunks").FindAll().ToList())
                {
                    var id = chunk["_id"];
                    db.GetCollection("raw_chunks").Delete(id);
                    var agentKey = System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(id.AsBinary.AsSpan(4));
                    chunk["k"] = ReadingChunk.LegacyKey(agentKey, ReadingChunk.WindowOfId(id) / ReadingChunk.WindowsPerHour);
                    chunk.Remove("_id");
                    old.Insert(chunk);
                }

                old.EnsureIndex("k");
                foreach (var summary in db.GetCollection("telemetry_summaries").FindAll().ToList())
                {
                    summary.Remove("fw");
                    db.GetCollection("telemetry_summaries").Update(summary);
                }

                return 0;
            });
        }

        using (var database = new LiteDbDatabase(options))
        {
            var store = new LiteDbTelemetryStore(database);
            // Before anything new is stored.
            Assert.Equal([10, 30, 50], await Seconds(store, "a1"));
            Assert.Equal([15, 3_625], await Seconds(store, "b2"));

            // Later sequences, earlier times among the old ones, and a reading in the next hour.
            await store.AppendAsync([Batch("a1", 4, 20, 40, 3_620)], CancellationToken.None);
            Assert.Equal([10, 20, 30, 40, 50, 3_620], await Seconds(store, "a1"));
            Assert.Equal([20, 30, 40], (await store.ReadAgentAsync("a1", null, TelemetryTier.Raw, T0.AddSeconds(20), T0.AddSeconds(41), CancellationToken.None).ToListAsync())
                .Select(b => (b.Time - T0).TotalSeconds));

            Assert.Equal(5 + 1, (await store.DeleteBeforeAsync(new RetentionCutoffs(T0.AddHours(1), null, null), CancellationToken.None)).RawReadings);
            Assert.Equal([3_620], await Seconds(store, "a1"));
            Assert.Equal([3_625], await Seconds(store, "b2"));
            Assert.Equal(2, (await store.DeleteBeforeAsync(new RetentionCutoffs(T0.AddHours(2), null, null), CancellationToken.None)).RawReadings);
            Assert.Contains("readings", database.Database.GetCollectionNames());
        }

        using (var reopened = new LiteDbDatabase(options))
        {
            Assert.DoesNotContain("readings", reopened.Database.GetCollectionNames());
            var store = new LiteDbTelemetryStore(reopened);
            await store.AppendAsync([Batch("b2", 3, 7_300)], CancellationToken.None);
            Assert.Equal([7_300], await Seconds(store, "b2"));
        }

        static Task<List<double>> Seconds(LiteDbTelemetryStore store, string agentId) =>
            store.ReadReadingsAsync(agentId, null, T0, T0.AddHours(3), CancellationToken.None).Select(r => (r.Time - T0).TotalSeconds).ToListAsync().AsTask();

        static TelemetryBatch Batch(string agentId, long firstSequence, params int[] seconds) => new(agentId, "ES",
            [.. seconds.Select((second, i) => new ReadingRecord(firstSequence + i, T0.AddSeconds(second), TimeSpan.FromSeconds(10), "s", "cpu.package", 1, ReadingProvenance.Modelled))], T0);
    }

    /// <summary>
    /// LiteDB 5.0.21 keeps a compiled expression for good for each distinct value given to its
    /// <c>Query.EQ</c>, <c>Query.Between</c> and the like (LiteQueries says more): a dashboard's
    /// moving time range, or a caller trying API keys, grew the control plane without end. Counted in
    /// LiteDB's own process-wide cache as the new expressions that carry no parameter (a value written
    /// into the expression): other tests running meanwhile compile their own query shapes, with
    /// parameters or constant, a handful; a leak adds one or more per query.
    /// </summary>
    [Fact]
    public async Task Queries_WithEverNewBoundsAndKeys_KeepLiteDbsCompiledExpressionsBounded()
    {
        using var temp = new TempDirectory();
        using var database = new LiteDbDatabase(Options.Create(new StorageOptions { DataDirectory = temp.Path }));
        var telemetry = new LiteDbTelemetryStore(database);
        var access = new LiteDbAccessStore(database);
        await telemetry.AppendAsync([new TelemetryBatch("a1", "ES", [.. Enumerable.Range(1, 720)
            .Select(i => new ReadingRecord(i, T0.AddSeconds(10 * i), TimeSpan.FromSeconds(10), "s", "cpu.package", 1, ReadingProvenance.Modelled))], T0)], CancellationToken.None);
        await Exercise(0);
        var before = CompiledExpressions();

        for (var i = 1; i <= 300; i++)
        {
            await Exercise(i);
        }

        Assert.InRange(CompiledExpressions().Except(before).Count(source => !source.Contains('@')), 0, 50);

        async Task Exercise(int i)
        {
            var from = T0.AddSeconds(7 * i);
            await telemetry.ReadReadingsAsync("a1", null, from, from.AddMinutes(3), CancellationToken.None).ToListAsync();
            await telemetry.ReadAgentAsync("a1", null, TelemetryTier.Minute, from, from.AddHours(1), CancellationToken.None).ToListAsync();
            await telemetry.ReadAgentAsync("a1", null, TelemetryTier.Hour, from, from.AddHours(2), CancellationToken.None).ToListAsync();
            await telemetry.ReadZonesAsync(TelemetryTier.Minute, from, from.AddHours(1), CancellationToken.None).ToListAsync();
            await access.FindApiKeyAsync($"no-such-key-{i}", CancellationToken.None);
        }

        static HashSet<string> CompiledExpressions() => [.. ((System.Collections.IDictionary)typeof(LiteDB.BsonExpression)
            .GetField("_cacheScalar", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Static)!.GetValue(null)!).Keys.Cast<string>()];
    }

    /// <summary>
    /// Retention deletes the lowest chunk ids and a read starts at the lowest: the ids must sort as
    /// (window, agent, sequence) in LiteDB's own index, in a file made under a culture whose
    /// collation sorts letters unlike their code points (Danish sorts "aa" after "z").
    /// </summary>
    [Fact]
    public void ChunkIds_SortInLiteDbsIndexByWindowThenAgentThenSequence_WhateverTheFilesCollation()
    {
        using var database = new LiteDB.LiteDatabase(new LiteDB.ConnectionString { Filename = ":memory:", Collation = new LiteDB.Collation("da-DK/IgnoreCase") });
        (long Window, long Agent, long Sequence)[] ids =
            [(0xaa, 1, 1), (0xff, 1, 1), (0x100, 0, 0), (0x1000_00aa, 0, 0), (1, 0xaa, 7), (1, 0x100, 5), (1, 0xff, long.MaxValue), (1, 1, 0xaaaa), (1, 1, 0x100), (0, 0, 0)];
        var collection = database.GetCollection("raw_chunks");
        foreach (var (window, agent, sequence) in ids.Reverse())
        {
            collection.Insert(new LiteDB.BsonDocument { ["_id"] = ReadingChunk.Id(window, agent, sequence) });
        }

        Assert.Equal(ids.Order().Select(i => i.Window), collection.FindAll().Select(d => ReadingChunk.WindowOfId(d["_id"])));
        Assert.Equal(ids.Order().Select(i => ReadingChunk.Id(i.Window, i.Agent, i.Sequence)), collection.FindAll().Select(d => d["_id"]));
    }

    [Fact]
    public void Open_NewFile_HasEveryCollectionTheStoresUse_Empty()
    {
        using var temp = new TempDirectory();
        using var database = new LiteDbDatabase(Options.Create(new StorageOptions { DataDirectory = temp.Path }));

        Assert.Equal(LiteDbDatabase.Collections.Order(StringComparer.Ordinal), database.Database.GetCollectionNames().Order(StringComparer.Ordinal));
        Assert.All(LiteDbDatabase.Collections, name => Assert.Equal(0, database.Database.GetCollection(name).Count()));
    }

    /// <summary>
    /// LiteDB builds a type's mapping on first use and publishes it before it is complete, so two
    /// requests reading agents at once just after a start failed with "Collection was modified"
    /// (seen in a CI run, on an agent's labels). Every mapping a stored document needs, the labels'
    /// dictionary included, must be complete when the file opens. LiteDB exposes no list of its
    /// mappings, so the test reads the mapper's private table.
    /// </summary>
    [Fact]
    public void Open_BuildsEveryTypeMappingTheDocumentsNeed_IncludingDictionaries_BeforeAnyRequest()
    {
        using var temp = new TempDirectory();
        using var database = new LiteDbDatabase(Options.Create(new StorageOptions { DataDirectory = temp.Path }));

        var mappings = (System.Collections.IDictionary)typeof(LiteDB.BsonMapper)
            .GetField("_entities", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Instance)!.GetValue(database.Database.Mapper)!;
        Assert.True(mappings.Contains(typeof(Dictionary<string, string>)), "The labels' dictionary is mapped.");
        Assert.True(mappings.Contains(typeof(LiteDbAgentStore.AgentDocument)));
        Assert.All(new[] { typeof(Dictionary<string, string>), typeof(LiteDbAgentStore.AgentDocument) },
            type => Assert.NotNull(((LiteDB.EntityMapper)mappings[type]!).CreateInstance));
    }
}
