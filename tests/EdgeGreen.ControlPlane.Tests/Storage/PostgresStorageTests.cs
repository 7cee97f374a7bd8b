using EdgeGreen.ControlPlane.Storage.Postgres;

namespace EdgeGreen.ControlPlane.Tests.Storage;

/// <summary>The whole storage contract against PostgreSQL: a database per test on the class's own server; reopening is a new data source over it.</summary>
[RequiresProgram("initdb")]
public sealed class PostgresStorageTests(PostgresServer server) : PostgresContract(server, timescaleDb: false), IClassFixture<PostgresServer>;

/// <summary>
/// The whole storage contract against PostgreSQL with TimescaleDB installed in each test's
/// database, so that raw readings live in a hypertable (see <see cref="ReadingHypertable"/>).
/// </summary>
[RequiresProgram("initdb")]
[RequiresTimescaleDb]
public sealed class TimescaleDbStorageTests(TimescaleDbServer server) : PostgresContract(server, timescaleDb: true), IClassFixture<TimescaleDbServer>;

/// <summary>The storage contract on a database of the class's server, TimescaleDB installed in it or not.</summary>
public abstract class PostgresContract(PostgresServer server, bool timescaleDb) : StorageContract
{
    private string? _connectionString;
    private PostgresDatabase? _database;

    public override Task DisposeAsync() => CloseAsync();

    protected override async Task<Stores> OpenAsync()
    {
        if (_connectionString is null)
        {
            _connectionString = await server.CreateDatabaseAsync();
            if (timescaleDb)
            {
                await TimescaleDbServer.InstallAsync(_connectionString);
            }
        }

        _database = new PostgresDatabase(_connectionString);
        await _database.MigrateAsync(CancellationToken.None);
        Assert.Equal(timescaleDb, _database.ReadingsInHypertable);
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
