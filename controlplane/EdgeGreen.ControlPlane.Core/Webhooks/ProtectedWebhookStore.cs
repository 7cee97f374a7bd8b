using System.Security.Cryptography;
using EdgeGreen.ControlPlane.Core.Storage;
using Microsoft.AspNetCore.DataProtection;

namespace EdgeGreen.ControlPlane.Core.Webhooks;

/// <summary>
/// Keeps webhook signing secrets encrypted at rest, above the storage provider: each is stored as
/// <c>dp1:</c> and its ASP.NET Core Data Protection payload, under the key ring that
/// <c>EdgeGreen:Security:KeyDirectory</c> holds apart from the database. Secrets stored in clear
/// by an earlier version (without the prefix) are encrypted as the host starts, and read as they
/// are until then.
/// </summary>
public sealed partial class ProtectedWebhookStore(IWebhookStore stored, IDataProtectionProvider protection, ILogger<ProtectedWebhookStore> logger)
    : IWebhookStore, IHostedService
{
    internal const string Prefix = "dp1:";

    private readonly IDataProtector _protector = protection.CreateProtector("EdgeGreen.Webhooks.Secret.v1");

    public Task AddAsync(WebhookRecord webhook, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(webhook);
        return stored.AddAsync(webhook with { Secret = Protect(webhook.Secret) }, cancellationToken);
    }

    /// <summary>
    /// The webhooks with their secrets readable; a secret that cannot be decrypted (the key ring
    /// was lost or is not this one) is logged and given as empty, and such a webhook is not delivered to.
    /// </summary>
    public async Task<IReadOnlyList<WebhookRecord>> ListAsync(CancellationToken cancellationToken) =>
        [.. (await stored.ListAsync(cancellationToken)).Select(w => w with { Secret = Reveal(w) })];

    public Task<bool> DeleteAsync(string id, CancellationToken cancellationToken) => stored.DeleteAsync(id, cancellationToken);

    public async Task<bool> ReplaceSecretAsync(string id, string expected, string secret, CancellationToken cancellationToken) =>
        (await stored.ListAsync(cancellationToken)).FirstOrDefault(w => w.Id == id) is { } webhook && Reveal(webhook) == expected
        && await stored.ReplaceSecretAsync(id, webhook.Secret, Protect(secret), cancellationToken);

    /// <summary>Encrypts the secrets that an earlier version stored in clear.</summary>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var encrypted = 0;
        foreach (var webhook in (await stored.ListAsync(cancellationToken)).Where(w => !w.Secret.StartsWith(Prefix, StringComparison.Ordinal)))
        {
            // Compared with what was read, so that a replica doing the same at once changes nothing twice.
            if (await stored.ReplaceSecretAsync(webhook.Id, webhook.Secret, Protect(webhook.Secret), cancellationToken))
            {
                encrypted++;
            }
        }

        if (encrypted > 0)
        {
            LogSecretsEncrypted(encrypted);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private string Protect(string secret) => Prefix + _protector.Protect(secret);

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

    [LoggerMessage(Level = LogLevel.Information, Message = "Encrypted {Count} webhook signing secrets that an earlier version stored in clear.")]
    private partial void LogSecretsEncrypted(int count);
}
