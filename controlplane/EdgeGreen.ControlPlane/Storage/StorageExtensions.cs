using EdgeGreen.ControlPlane.Storage.LiteDb;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace EdgeGreen.ControlPlane.Storage;

public static class StorageExtensions
{
    /// <summary>The embedded LiteDB storage in <c>EdgeGreen:Storage:DataDirectory</c>.</summary>
    public static IHostApplicationBuilder AddStorage(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<StorageOptions>().BindConfiguration(StorageOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton<LiteDbDatabase>();
        builder.Services.AddSingleton<IAgentStore, LiteDbAgentStore>();
        builder.Services.AddSingleton<ITelemetryStore, LiteDbTelemetryStore>();
        builder.Services.AddSingleton<IAccessStore, LiteDbAccessStore>();
        builder.Services.AddSingleton<IJobStore, LiteDbJobStore>();
        builder.Services.AddSingleton<IDatasetStore, LiteDbDatasetStore>();
        builder.Services.AddSingleton<IModelStore, LiteDbModelStore>();
        builder.Services.AddSingleton<IWebhookStore, LiteDbWebhookStore>();
        builder.Services.AddSingleton<ContentStore>();
        return builder;
    }
}

/// <summary>Ready when the database answers a read.</summary>
public sealed class StorageHealthCheck(IAccessStore access) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            await access.AnyApiKeyAsync(cancellationToken);
            return HealthCheckResult.Healthy("Storage is open.");
        }
        catch (Exception ex) when (ex is LiteDB.LiteException or IOException or ObjectDisposedException)
        {
            return HealthCheckResult.Unhealthy("Storage is not readable.", ex);
        }
    }
}
