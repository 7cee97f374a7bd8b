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
}
