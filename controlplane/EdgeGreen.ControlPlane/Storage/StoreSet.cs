namespace EdgeGreen.ControlPlane.Storage;

/// <summary>One provider's stores over one database: what <see cref="StorageCopy"/> reads from and writes to.</summary>
public sealed record StoreSet(
    IAgentStore Agents,
    ITelemetryStore Telemetry,
    IAccessStore Access,
    IJobStore Jobs,
    IDatasetStore Datasets,
    IModelStore Models,
    IWebhookStore Webhooks,
    IPipelineStore Pipelines,
    IDeploymentStore Deployments,
    IAlertStore Alerts);
