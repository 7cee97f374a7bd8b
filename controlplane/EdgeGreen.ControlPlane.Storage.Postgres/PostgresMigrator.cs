namespace EdgeGreen.ControlPlane.Storage.Postgres;

/// <summary>
/// Migrates the schema as the host starts: in <see cref="StartingAsync"/>, which the host runs
/// before any hosted service's <c>StartAsync</c>, so no background service meets an old schema.
/// A database that cannot be reached or migrated stops the start with the reason.
/// </summary>
internal sealed class PostgresMigrator(PostgresDatabase database) : IHostedLifecycleService
{
    public Task StartingAsync(CancellationToken cancellationToken) => database.MigrateAsync(cancellationToken);

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
