namespace EdgeGreen.Agent.Uplink;

/// <summary>Where the control plane's gRPC endpoint is; resolved when the agent connects.</summary>
public interface IControlPlaneAddress
{
    ValueTask<Uri> ResolveAsync(CancellationToken cancellationToken);

    /// <summary>
    /// The certificate the control plane serves at that address when the host knows it (a host that
    /// embeds the agent serves it itself), trusted as is; null where the agent's TLS settings decide.
    /// Asked after <see cref="ResolveAsync"/>.
    /// </summary>
    System.Security.Cryptography.X509Certificates.X509Certificate2? KnownServerCertificate => null;
}

/// <summary>Supplies a one-time enrollment token when the agent has no credential yet.</summary>
public interface IEnrollmentTokenSource
{
    /// <returns>A token, or null when none is available.</returns>
    ValueTask<string?> GetTokenAsync(CancellationToken cancellationToken);
}

internal sealed class ConfiguredControlPlaneAddress(Microsoft.Extensions.Options.IOptions<AgentOptions> options) : IControlPlaneAddress
{
    public ValueTask<Uri> ResolveAsync(CancellationToken cancellationToken) => ValueTask.FromResult(options.Value.ControlPlaneUrl
        ?? throw new InvalidOperationException("EdgeGreen:Agent:ControlPlaneUrl is not set."));
}

internal sealed class ConfiguredEnrollmentToken(Microsoft.Extensions.Options.IOptions<AgentOptions> options) : IEnrollmentTokenSource
{
    public ValueTask<string?> GetTokenAsync(CancellationToken cancellationToken) =>
        ValueTask.FromResult(string.IsNullOrWhiteSpace(options.Value.EnrollmentToken) ? null : options.Value.EnrollmentToken);
}
