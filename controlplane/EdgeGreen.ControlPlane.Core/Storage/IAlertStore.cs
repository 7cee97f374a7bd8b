using EdgeGreen.ControlPlane.Core.Alerts;

namespace EdgeGreen.ControlPlane.Core.Storage;

/// <summary>Alert rules by name, and their alerts by rule and label key.</summary>
public interface IAlertStore
{
    /// <summary>False (and nothing stored) when a rule of that name exists.</summary>
    Task<bool> AddRuleAsync(AlertRule rule, CancellationToken cancellationToken);

    /// <summary>False when there is no rule of that name.</summary>
    Task<bool> ReplaceRuleAsync(AlertRule rule, CancellationToken cancellationToken);

    Task<AlertRule?> GetRuleAsync(string name, CancellationToken cancellationToken);

    /// <summary>Every rule, by name.</summary>
    Task<IReadOnlyList<AlertRule>> ListRulesAsync(CancellationToken cancellationToken);

    /// <summary>Deletes the rule and its alerts; false when there is no such rule.</summary>
    Task<bool> DeleteRuleAsync(string name, CancellationToken cancellationToken);

    /// <summary>Stores the alert, replacing the one with its rule and key.</summary>
    Task SaveAlertAsync(AlertRecord alert, CancellationToken cancellationToken);

    /// <summary>Every alert, by rule, then key.</summary>
    Task<IReadOnlyList<AlertRecord>> ListAlertsAsync(CancellationToken cancellationToken);

    /// <summary>False when there is no such alert.</summary>
    Task<bool> DeleteAlertAsync(string rule, string key, CancellationToken cancellationToken);
}
