using EdgeGreen.Contracts.V1;
using EdgeGreen.ControlPlane.Storage;

namespace EdgeGreen.ControlPlane.Jobs;

/// <summary>
/// Acts on a job's final report once it is stored (the registry registers a trained model). Called
/// again when an agent repeats a completion, so a handler must be idempotent; a handler that fails
/// fails the report, which the agent then repeats.
/// </summary>
public interface IJobCompletionHandler
{
    Task OnCompletedAsync(JobRecord job, CompleteJobRequest report, CancellationToken cancellationToken);
}
