using EdgeGreen.Contracts.V1;
using EdgeGreen.ControlPlane.Core.Storage;

namespace EdgeGreen.ControlPlane.Core.Jobs;

/// <summary>
/// Acts on a job as it is accepted and as it ends (the registry shows a pending model version,
/// then registers the trained model). Both calls run inside the scheduler, before the job's new
/// state is visible. <see cref="OnCompletedAsync"/> runs again when an agent repeats a completion,
/// so a handler must be idempotent; a handler that fails fails the report, which the agent then
/// repeats.
/// </summary>
public interface IJobLifecycleHandler
{
    /// <summary>The job was accepted and stored (not called for a submission refused outright).</summary>
    Task OnSubmittedAsync(JobRecord job, CancellationToken cancellationToken);

    /// <summary>
    /// The job ended: with the agent's final report, or with <paramref name="report"/> null when
    /// the control plane ended it (cancelled or rejected before it ran, given up after lost leases).
    /// </summary>
    Task OnCompletedAsync(JobRecord job, CompleteJobRequest? report, CancellationToken cancellationToken);
}
