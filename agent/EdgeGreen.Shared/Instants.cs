namespace EdgeGreen.Shared;

/// <summary>
/// The instants a caller may give (queries, request bodies, agent messages): from the Unix epoch,
/// 1970-01-01T00:00:00Z, up to but not including 2200-01-01T00:00:00Z. .NET and the stores hold
/// years 1 to 9999, but the arithmetic every range needs near either end (a default start 24
/// hours before an end, widening to whole steps, a forecast horizon, a time zone offset) leaves
/// that range and fails as a server error; and nothing EdgeGreen measures, plans or reports lies
/// before the epoch or centuries ahead. Check every instant a request carries here, before any is
/// used; the error names the parameter. How long a range may be is a separate, per-route bound.
/// </summary>
public static class Instants
{
    /// <summary>The range in words, for error messages.</summary>
    public const string Range = "from 1970-01-01T00:00:00Z up to (not including) 2200-01-01T00:00:00Z";

    public static readonly DateTimeOffset Earliest = DateTimeOffset.UnixEpoch;

    /// <summary>The first instant refused at the late end.</summary>
    public static readonly DateTimeOffset End = new(2200, 1, 1, 0, 0, 0, TimeSpan.Zero);

    public static bool IsPlausible(DateTimeOffset instant) => instant >= Earliest && instant < End;

    /// <summary>
    /// A wire instant (a protobuf <c>Timestamp</c>: seconds since the epoch and nanoseconds), checked
    /// before it is converted, since the conversion of one outside years 1 to 9999 throws.
    /// </summary>
    public static bool IsPlausible(long unixSeconds, int nanos) =>
        unixSeconds >= 0 && unixSeconds < End.ToUnixTimeSeconds() && nanos is >= 0 and < 1_000_000_000;

    /// <summary>Why the named instant is refused, or null when it is absent or plausible.</summary>
    public static string? Problem(string name, DateTimeOffset? instant) =>
        instant is { } value && !IsPlausible(value) ? $"{name} must be {Range}." : null;

    /// <summary>
    /// The problems of the named instants keyed by name (a ProblemDetails' <c>errors</c>), or null
    /// when every one is absent or plausible.
    /// </summary>
    public static Dictionary<string, string[]>? Problems(params ReadOnlySpan<(string Name, DateTimeOffset? Value)> instants)
    {
        var problems = new Dictionary<string, string[]>(StringComparer.Ordinal);
        foreach (var (name, value) in instants)
        {
            Check(name, value, problems);
        }

        return problems.Count > 0 ? problems : null;
    }

    /// <summary>Adds the named instant's problem to <paramref name="errors"/>; true when it is absent or plausible.</summary>
    public static bool Check(string name, DateTimeOffset? instant, IDictionary<string, string[]> errors)
    {
        ArgumentNullException.ThrowIfNull(errors);
        if (Problem(name, instant) is not { } problem)
        {
            return true;
        }

        errors[name] = [problem];
        return false;
    }
}
