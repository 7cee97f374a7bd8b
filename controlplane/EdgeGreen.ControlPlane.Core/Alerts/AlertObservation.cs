namespace EdgeGreen.ControlPlane.Core.Alerts;

/// <summary>
/// What one evaluation saw for one label set: whether the condition holds, or null when it cannot
/// tell (no report yet, no rate before a second look), which leaves the alert as it is.
/// </summary>
public sealed record AlertObservation(IReadOnlyDictionary<string, string> Labels, bool? Holds, double? Value, string Summary)
{
    public static AlertObservation For(string label, string value, bool? holds, double? observed, string summary) =>
        new(new Dictionary<string, string>(StringComparer.Ordinal) { [label] = value }, holds, observed, summary);
}
