using EdgeGreen.ControlPlane.Core.Storage;
using EdgeGreen.ControlPlane.Storage;
using EdgeGreen.ControlPlane.Storage.LiteDb;
using Microsoft.Extensions.Options;

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
