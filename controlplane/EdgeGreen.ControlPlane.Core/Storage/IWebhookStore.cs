namespace EdgeGreen.ControlPlane.Core.Storage;

/// <summary>A subscriber: where to POST which events, and the key its deliveries are signed with.</summary>
public sealed record WebhookRecord(string Id, string Url, IReadOnlyList<string> Events, string Secret, DateTimeOffset CreatedAt);

public interface IWebhookStore
{
    Task AddAsync(WebhookRecord webhook, CancellationToken cancellationToken);

    Task<IReadOnlyList<WebhookRecord>> ListAsync(CancellationToken cancellationToken);

    /// <summary>False when there is no such webhook.</summary>
    Task<bool> DeleteAsync(string id, CancellationToken cancellationToken);
}
