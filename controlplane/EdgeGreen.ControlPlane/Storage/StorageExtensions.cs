using EdgeGreen.ControlPlane.Storage.LiteDb;
using EdgeGreen.ControlPlane.Storage.Postgres;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace EdgeGreen.ControlPlane.Storage;

public static class StorageExtensions
{
    /// <summary>
    /// The storage provider named by <c>EdgeGreen:Storage:Provider</c> and the content store in the
    /// data directory. PostgreSQL takes its connection string from <c>ConnectionStrings:EdgeGreen</c>
    /// and migrates its schema as the host starts.
    /// </summary>
    public static IHostApplicationBuilder AddStorage(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<StorageOptions>().BindConfiguration(StorageOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        var provider = builder.Configuration.GetValue($"{StorageOptions.SectionName}:{nameof(StorageOptions.Provider)}", StorageProvider.LiteDb);
        switch (provider)
        {
            case StorageProvider.LiteDb:
                builder.Services.AddLiteDbStorage();
                break;
            case StorageProvider.Postgres:
                var connectionString = builder.Configuration.GetConnectionString("EdgeGreen");
                if (string.IsNullOrWhiteSpace(connectionString))
                {
                    throw new InvalidOperationException(
                        $"{StorageOptions.SectionName}:Provider is Postgres, so {PostgresStorageExtensions.ConnectionStringKey} must name the database " +
                        "(e.g. Host=db;Database=edgegreen;Username=edgegreen;Password=…).");
                }

                builder.Services.AddPostgresStorage(connectionString,
                    builder.Configuration.GetValue($"{StorageOptions.SectionName}:{nameof(StorageOptions.TimescaleDb)}", TimescaleDbUse.Auto));
                break;
            default:
                throw new InvalidOperationException($"{StorageOptions.SectionName}:Provider '{provider}' is not built into this control plane.");
        }

        builder.Services.AddSingleton<ContentStore>();
        return builder;
    }

    /// <summary>
    /// Puts <typeparamref name="TDecorator"/> (which takes the provider's store in its constructor)
    /// in front of the provider's <typeparamref name="TStore"/>, registered as itself too.
    /// </summary>
    public static IServiceCollection DecorateStore<TStore, TDecorator>(this IServiceCollection services)
        where TStore : class
        where TDecorator : class, TStore
    {
        var stored = services.Single(d => d.ServiceType == typeof(TStore));
        var storedType = stored.ImplementationType ?? throw new InvalidOperationException($"The storage provider must register {typeof(TStore).Name} by its type.");
        services.Remove(stored);
        services.AddSingleton(sp => ActivatorUtilities.CreateInstance<TDecorator>(sp, (TStore)ActivatorUtilities.CreateInstance(sp, storedType)));
        services.AddSingleton<TStore>(sp => sp.GetRequiredService<TDecorator>());
        return services;
    }
}

/// <summary>Ready when the storage provider can read and write.</summary>
public sealed class StorageHealthCheck(IStorageHealth storage) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        await storage.GetProblemAsync(cancellationToken) is { } problem
            ? HealthCheckResult.Unhealthy(problem)
            : HealthCheckResult.Healthy("Storage is open.");
}
