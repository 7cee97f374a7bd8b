namespace EdgeGreen.ControlPlane.Storage.LiteDb;

public static class LiteDbStorageExtensions
{
    /// <summary>Every store in one LiteDB file, <c>edgegreen.db</c> in the data directory.</summary>
    public static IServiceCollection AddLiteDbStorage(this IServiceCollection services)
    {
        services.AddSingleton<LiteDbDatabase>();
        services.AddSingleton<IStorageHealth>(sp => sp.GetRequiredService<LiteDbDatabase>());
        services.AddSingleton<IAgentStore, LiteDbAgentStore>();
        services.AddSingleton<ITelemetryStore, LiteDbTelemetryStore>();
        services.AddSingleton<IAccessStore, LiteDbAccessStore>();
        services.AddSingleton<IJobStore, LiteDbJobStore>();
        services.AddSingleton<IDatasetStore, LiteDbDatasetStore>();
        services.AddSingleton<IModelStore, LiteDbModelStore>();
        services.AddSingleton<IWebhookStore, LiteDbWebhookStore>();
        services.AddSingleton<IPipelineStore, LiteDbPipelineStore>();
        services.AddSingleton<IDeploymentStore, LiteDbDeploymentStore>();
        services.AddSingleton<IMonitoringStore, LiteDbMonitoringStore>();
        services.AddSingleton<IAlertStore, LiteDbAlertStore>();
        services.AddSingleton<Core.Cluster.IClusterStore, LiteDbClusterStore>();
        return services;
    }
}
