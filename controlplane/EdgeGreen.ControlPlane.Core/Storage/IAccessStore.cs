namespace EdgeGreen.ControlPlane.Core.Storage;

/// <summary>Secrets that grant access: API keys and enrollment tokens, both stored as hashes only.</summary>
public interface IAccessStore
{
    Task<bool> AnyApiKeyAsync(CancellationToken cancellationToken);

    Task AddApiKeyAsync(ApiKeyRecord apiKey, CancellationToken cancellationToken);

    Task<ApiKeyRecord?> FindApiKeyAsync(string keyHash, CancellationToken cancellationToken);

    Task AddEnrollmentTokenAsync(EnrollmentTokenRecord token, CancellationToken cancellationToken);

    /// <summary>Consumes a token once: true only for the first use of an unexpired token.</summary>
    Task<bool> TryConsumeEnrollmentTokenAsync(string tokenHash, DateTimeOffset now, CancellationToken cancellationToken);
}
