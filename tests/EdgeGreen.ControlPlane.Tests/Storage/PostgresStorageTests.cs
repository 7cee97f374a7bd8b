using EdgeGreen.ControlPlane.Storage.Postgres;

namespace EdgeGreen.ControlPlane.Tests.Storage;

/// <summary>The whole storage contract against PostgreSQL: a database per test on the class's own server; reopening is a new data source over it.</summary>
[RequiresProgram("initdb")]
public sealed class PostgresStorageTests(PostgresServer server) : StorageContract, IClassFixture<PostgresServer>
{
    private string? _connectionString;
    private PostgresDatabase? _database;

    public override Task DisposeAsync() => CloseAsync();

    protected override async Task<Stores> OpenAsync()
    {
        _connectionString ??= await server.CreateDatabaseAsync();
        _database = new PostgresDatabase(_connectionString);
        await _database.MigrateAsync(CancellationToken.None);
        return new Stores(
            new PostgresTelemetryStore(_database), new PostgresAgentStore(_database), new PostgresAccessStore(_database), new PostgresJobStore(_database),
            new PostgresDatasetStore(_database), new PostgresModelStore(_database), new PostgresWebhookStore(_database), new PostgresPipelineStore(_database), new PostgresDeploymentStore(_database), new PostgresMonitoringStore(_database),
            new PostgresAlertStore(_database));
    }

    protected override async Task CloseAsync()
    {
        if (_database is not null)
        {
            await _database.DisposeAsync();
            _database = null;
        }
    }
}
