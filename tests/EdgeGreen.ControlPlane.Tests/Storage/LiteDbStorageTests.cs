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
        _database?.Dispose();
        _database = null;
        return Task.CompletedTask;
    }
}
