using Npgsql;

namespace EdgeGreen.ControlPlane.Storage.Postgres;

public static class PostgresStorageExtensions
{
    /// <summary>The configuration key of the connection string, as operators set it.</summary>
    public const string ConnectionStringKey = "ConnectionStrings:EdgeGreen";

    /// <summary>
    /// Every store in the PostgreSQL database at <paramref name="connectionString"/>, and the
    /// migration of its schema when the host starts, before any other hosted service.
    /// </summary>
    /// <param name="services">Where the stores are registered.</param>
    /// <param name="connectionString">An Npgsql connection string.</param>
    /// <param name="timescaleDb">Whether raw readings move into a TimescaleDB hypertable where the extension is installed.</param>
    /// <exception cref="InvalidOperationException">The connection string is empty or not one Npgsql understands.</exception>
    public static IServiceCollection AddPostgresStorage(this IServiceCollection services, string connectionString, TimescaleDbUse timescaleDb = TimescaleDbUse.Auto)
    {
        if (string.IsNullOrWhiteSpace(connectionString))
        {
            throw new InvalidOperationException($"{ConnectionStringKey} must name the PostgreSQL database (Host=…;Database=…;Username=…;Password=…).");
        }

        try
        {
            _ = new NpgsqlConnectionStringBuilder(connectionString);
        }
        catch (ArgumentException ex)
        {
            // The message names the offending keyword, never a value: no password is echoed.
            throw new InvalidOperationException($"{ConnectionStringKey} is not a valid PostgreSQL connection string: {ex.Message}", ex);
        }

        services.AddSingleton(sp => new PostgresDatabase(connectionString, sp.GetService<ILogger<PostgresDatabase>>(), timescaleDb));
        // First of the hosted services, whatever the order features register in.
        services.Insert(0, ServiceDescriptor.Singleton<IHostedService, PostgresMigrator>());
        services.AddSingleton<IStorageHealth>(sp => sp.GetRequiredService<PostgresDatabase>());
        services.AddSingleton<IAgentStore, PostgresAgentStore>();
        services.AddSingleton<ITelemetryStore, PostgresTelemetryStore>();
        services.AddSingleton<IAccessStore, PostgresAccessStore>();
        services.AddSingleton<IJobStore, PostgresJobStore>();
        services.AddSingleton<IDatasetStore, PostgresDatasetStore>();
        services.AddSingleton<IModelStore, PostgresModelStore>();
        services.AddSingleton<IWebhookStore, PostgresWebhookStore>();
        services.AddSingleton<IPipelineStore, PostgresPipelineStore>();
        services.AddSingleton<IDeploymentStore, PostgresDeploymentStore>();
        services.AddSingleton<IMonitoringStore, PostgresMonitoringStore>();
        services.AddSingleton<IAlertStore, PostgresAlertStore>();
        services.AddSingleton<Core.Cluster.IClusterStore, PostgresClusterStore>();
        return services;
    }
}
