using System.Security.Cryptography;
using EdgeGreen.ControlPlane.Core.Storage;
using Microsoft.AspNetCore.DataProtection;

namespace EdgeGreen.ControlPlane.Core.Alerts;

/// <summary>
/// Keeps the secrets of alert rules' notification targets encrypted at rest, above the storage
/// provider, as webhook secrets are: webhook signing secrets, PagerDuty routing keys and Slack
/// webhook URLs (which carry Slack's token) are stored as <c>dp1:</c> and their Data Protection
/// payload under the key ring of <c>EdgeGreen:Security:KeyDirectory</c>. A secret that cannot be
/// decrypted is logged and read as empty, and nothing is sent to that target.
/// </summary>
public sealed partial class ProtectedAlertStore(IAlertStore stored, IDataProtectionProvider protection, ILogger<ProtectedAlertStore> logger) : IAlertStore
{
    private const string Prefix = "dp1:";

    private readonly IDataProtector _protector = protection.CreateProtector("EdgeGreen.Alerts.Secret.v1");

    public Task<bool> AddRuleAsync(AlertRule rule, CancellationToken cancellationToken) => stored.AddRuleAsync(Protect(rule), cancellationToken);

    public Task<bool> ReplaceRuleAsync(AlertRule rule, CancellationToken cancellationToken) => stored.ReplaceRuleAsync(Protect(rule), cancellationToken);

    public async Task<AlertRule?> GetRuleAsync(string name, CancellationToken cancellationToken) =>
        await stored.GetRuleAsync(name, cancellationToken) is { } rule ? Reveal(rule) : null;

    public async Task<IReadOnlyList<AlertRule>> ListRulesAsync(CancellationToken cancellationToken) =>
        [.. (await stored.ListRulesAsync(cancellationToken)).Select(Reveal)];

    public Task<bool> DeleteRuleAsync(string name, CancellationToken cancellationToken) => stored.DeleteRuleAsync(name, cancellationToken);

    public Task SaveAlertAsync(AlertRecord alert, CancellationToken cancellationToken) => stored.SaveAlertAsync(alert, cancellationToken);

    public Task<IReadOnlyList<AlertRecord>> ListAlertsAsync(CancellationToken cancellationToken) => stored.ListAlertsAsync(cancellationToken);

    public Task<bool> DeleteAlertAsync(string rule, string key, CancellationToken cancellationToken) => stored.DeleteAlertAsync(rule, key, cancellationToken);

    private AlertRule Protect(AlertRule rule)
    {
        ArgumentNullException.ThrowIfNull(rule);
        return Map(rule, secret => Prefix + _protector.Protect(secret));
    }

    private AlertRule Reveal(AlertRule rule) => Map(rule, secret =>
    {
        if (!secret.StartsWith(Prefix, StringComparison.Ordinal))
        {
            return secret;
        }

        try
        {
            return _protector.Unprotect(secret[Prefix.Length..]);
        }
        catch (CryptographicException ex)
        {
            LogSecretUnreadable(rule.Name, ex.Message);
            return "";
        }
    });

    private static AlertRule Map(AlertRule rule, Func<string, string> secret) => rule with
    {
        Notify = [.. rule.Notify.Select(t => t with
        {
            Webhook = t.Webhook is { } webhook ? webhook with { Secret = secret(webhook.Secret) } : null,
            Slack = t.Slack is { } slack ? slack with { Url = secret(slack.Url) } : null,
            PagerDuty = t.PagerDuty is { } pagerDuty ? pagerDuty with { RoutingKey = secret(pagerDuty.RoutingKey) } : null,
        })],
    };

    [LoggerMessage(Level = LogLevel.Error, Message = "A notification secret of alert rule {Rule} cannot be decrypted ({Reason}): the key ring in " +
        "EdgeGreen:Security:KeyDirectory is not the one it was stored under. Restore that key ring, or put the rule again with its secrets.")]
    private partial void LogSecretUnreadable(string rule, string reason);
}
