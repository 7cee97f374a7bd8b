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
