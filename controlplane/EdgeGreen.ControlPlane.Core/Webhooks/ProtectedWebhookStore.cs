using System.Security.Cryptography;
using EdgeGreen.ControlPlane.Core.Storage;
using Microsoft.AspNetCore.DataProtection;

namespace EdgeGreen.ControlPlane.Core.Webhooks;

/// <summary>
/// Keeps webhook signing secrets encrypted at rest, above the storage provider: each is stored as
/// <c>dp1:</c> and its ASP.NET Core Data Protection payload, under the key ring that
/// <c>EdgeGreen:Security:KeyDirectory</c> holds apart from the database. A secret stored in clear
/// by an earlier version (without the prefix) is still read as it is.
/// </summary>
public sealed partial class ProtectedWebhookStore(IWebhookStore stored, IDataProtectionProvider protection, ILogger<ProtectedWebhookStore> logger)
    : IWebhookStore
{
    internal const string Prefix = "dp1:";

    private readonly IDataProtector _protector = protection.CreateProtector("EdgeGreen.Webhooks.Secret.v1");

    public Task AddAsync(WebhookRecord webhook, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(webhook);
        return stored.AddAsync(webhook with { Secret = Prefix + _protector.Protect(webhook.Secret) }, cancellationToken);
    }

    /// <summary>
    /// The webhooks with their secrets readable; a secret that cannot be decrypted (the key ring
    /// was lost or is not this one) is logged and given as empty, and such a webhook is not delivered to.
    /// </summary>
    public async Task<IReadOnlyList<WebhookRecord>> ListAsync(CancellationToken cancellationToken) =>
        [.. (await stored.ListAsync(cancellationToken)).Select(w => w with { Secret = Reveal(w) })];

    public Task<bool> DeleteAsync(string id, CancellationToken cancellationToken) => stored.DeleteAsync(id, cancellationToken);

    private string Reveal(WebhookRecord webhook)
    {
        if (!webhook.Secret.StartsWith(Prefix, StringComparison.Ordinal))
        {
            return webhook.Secret;
        }

        try
        {
            return _protector.Unprotect(webhook.Secret[Prefix.Length..]);
        }
        catch (CryptographicException ex)
        {
            LogSecretUnreadable(webhook.Id, ex.Message);
            return "";
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "The signing secret of webhook {WebhookId} cannot be decrypted ({Reason}): the key ring in " +
        "EdgeGreen:Security:KeyDirectory is not the one it was stored under. Restore that key ring, or delete the webhook and create it again.")]
    private partial void LogSecretUnreadable(string webhookId, string reason);
}
