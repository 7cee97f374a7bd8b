namespace EdgeGreen.ControlPlane.Core.Storage;

/// <summary>A subscriber: where to POST which events, and the key its deliveries are signed with.</summary>
public sealed record WebhookRecord(string Id, string Url, IReadOnlyList<string> Events, string Secret, DateTimeOffset CreatedAt);

public interface IWebhookStore
{
    Task AddAsync(WebhookRecord webhook, CancellationToken cancellationToken);

    Task<IReadOnlyList<WebhookRecord>> ListAsync(CancellationToken cancellationToken);

    /// <summary>False when there is no such webhook.</summary>
    Task<bool> DeleteAsync(string id, CancellationToken cancellationToken);

    /// <summary>
    /// Stores <paramref name="secret"/> as the webhook's secret if its secret is still
    /// <paramref name="expected"/>; false when there is no such webhook or its secret changed.
    /// </summary>
    Task<bool> ReplaceSecretAsync(string id, string expected, string secret, CancellationToken cancellationToken);
}
