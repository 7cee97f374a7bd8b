namespace EdgeGreen.ControlPlane.Core.Storage;

/// <summary>
/// Whether the storage provider can take writes now: readiness (<c>/readyz</c>) reports it, so a
/// full disk or an unreachable database turns the control plane unready with the reason, and ready
/// again when it clears.
/// </summary>
public interface IStorageHealth
{
    /// <summary>Null when reads and writes work; otherwise what is wrong, in words an operator can act on.</summary>
    Task<string?> GetProblemAsync(CancellationToken cancellationToken);
}
