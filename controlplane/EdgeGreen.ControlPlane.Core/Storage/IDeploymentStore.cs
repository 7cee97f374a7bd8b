using EdgeGreen.ControlPlane.Core.Deployments;

namespace EdgeGreen.ControlPlane.Core.Storage;

public interface IDeploymentStore
{
    /// <summary>Stores a new deployment (revision 0); false when one of that name exists.</summary>
    Task<bool> AddAsync(DeploymentRecord deployment, CancellationToken cancellationToken);

    /// <summary>Replaces the deployment when its stored revision is the given one's minus one; false otherwise (nothing changed).</summary>
    Task<bool> UpdateAsync(DeploymentRecord deployment, CancellationToken cancellationToken);

    Task<DeploymentRecord?> GetAsync(string name, CancellationToken cancellationToken);

    /// <summary>Every deployment, by name.</summary>
    Task<IReadOnlyList<DeploymentRecord>> ListAsync(CancellationToken cancellationToken);

    /// <summary>Removes the deployment; false when there is none of that name.</summary>
    Task<bool> DeleteAsync(string name, CancellationToken cancellationToken);
}
