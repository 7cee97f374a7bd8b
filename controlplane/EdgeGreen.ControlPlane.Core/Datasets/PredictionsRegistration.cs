using EdgeGreen.Shared.Jobs;
using EdgeGreen.Contracts.V1;
using EdgeGreen.ControlPlane.Core.Jobs;
using EdgeGreen.ControlPlane.Core.Storage;

namespace EdgeGreen.ControlPlane.Core.Datasets;

/// <summary>Registers a finished <c>batch-infer</c> job's predictions as a version of its <c>output</c> dataset.</summary>
public sealed partial class PredictionsRegistration(DatasetCatalog catalog, ContentStore content, ILogger<PredictionsRegistration> logger) : IJobLifecycleHandler
{
    public Task OnSubmittedAsync(JobRecord job, CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task OnCompletedAsync(JobRecord job, CompleteJobRequest? report, CancellationToken cancellationToken)
    {
        if (job.Kind != BatchInferKind.KindName || job.Status != JobStatus.Succeeded || !job.Parameters.TryGetValue("output", out var name)
            || report?.Output is not { ArtifactSha256: { Length: > 0 } sha })
        {
            return;
        }

        await using var predictions = content.OpenRead(sha)
            ?? throw new InvalidOperationException($"The predictions {sha} of job {job.Id} were not uploaded.");
        var (version, created) = await catalog.AddAsync(name, predictions, cancellationToken, maxBytes: long.MaxValue);
        if (created)
        {
            LogRegistered(version.Name, version.Version, version.Rows, job.Id);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Registered predictions as dataset {Name} version {Version} ({Rows} rows) from job {JobId}")]
    private partial void LogRegistered(string name, int version, long rows, string jobId);
}
