namespace EdgeGreen.ControlPlane.Core.Storage;

/// <summary>Secrets that grant access: API keys and enrollment tokens, both stored as hashes only.</summary>
public interface IAccessStore
{
    Task<bool> AnyApiKeyAsync(CancellationToken cancellationToken);

    Task AddApiKeyAsync(ApiKeyRecord apiKey, CancellationToken cancellationToken);

    Task<ApiKeyRecord?> FindApiKeyAsync(string keyHash, CancellationToken cancellationToken);

    /// <summary>Every API key (its hash, never the key), oldest first: for copying the store, not for requests.</summary>
    Task<IReadOnlyList<ApiKeyRecord>> ListApiKeysAsync(CancellationToken cancellationToken);

    Task AddEnrollmentTokenAsync(EnrollmentTokenRecord token, CancellationToken cancellationToken);

    /// <summary>Consumes a token once: true only for the first use of an unexpired token.</summary>
    Task<bool> TryConsumeEnrollmentTokenAsync(string tokenHash, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>Every token not yet consumed or swept (expired ones included), oldest first: for copying the store.</summary>
    Task<IReadOnlyList<EnrollmentTokenRecord>> ListEnrollmentTokensAsync(CancellationToken cancellationToken);
}
