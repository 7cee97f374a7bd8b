namespace EdgeGreen.ControlPlane.Core.Alerts;

public enum AlertState
{
    /// <summary>The condition does not hold (it held before: an alert is kept only once its condition held).</summary>
    Inactive,

    /// <summary>The condition holds, for less than the rule's <c>for</c> so far.</summary>
    Pending,

    Firing,

    /// <summary>It fired, then the condition was false for the rule's resolve delay.</summary>
    Resolved,
}

/// <summary>A change of an alert's state, with what was observed then.</summary>
public sealed record AlertTransition(DateTimeOffset At, AlertState State, double? Value, string Summary);

/// <summary>
/// One alert: a rule's condition for one label set (one per agent for <c>agentOffline</c> without an
/// agent), its state, and its recent transitions (at most <see cref="MaxHistory"/>, oldest first).
/// <c>Key</c> is the labels as one string (<see cref="KeyOf"/>); <c>ActiveSince</c> when the condition
/// began to hold, while it does; <c>FiringSince</c> when it last began firing; <c>ClearSince</c>, while
/// firing, when the condition became false; <c>ResolvedAt</c> when it last resolved.
/// </summary>
public sealed record AlertRecord(
    string Rule,
    string Key,
    IReadOnlyDictionary<string, string> Labels,
    AlertState State,
    DateTimeOffset? ActiveSince,
    DateTimeOffset? FiringSince,
    DateTimeOffset? ClearSince,
    DateTimeOffset? ResolvedAt,
    double? Value,
    string Summary,
    DateTimeOffset ChangedAt,
    IReadOnlyList<AlertTransition> History)
{
    public const int MaxHistory = 50;

    /// <summary><c>name=value</c> pairs in name order joined by <c>,</c> (empty for no labels).</summary>
    public static string KeyOf(IReadOnlyDictionary<string, string> labels) =>
        string.Join(",", labels.OrderBy(l => l.Key, StringComparer.Ordinal).Select(l => $"{l.Key}={l.Value}"));
}
