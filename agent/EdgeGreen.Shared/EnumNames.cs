namespace EdgeGreen.Shared;

/// <summary>
/// Enum values as callers name them: exactly one declared name, in any case. <c>Enum.TryParse</c>
/// also takes numbers (<c>"2"</c>) and comma lists (<c>"Viewer,Admin"</c>, the values OR-ed
/// together), which would let a caller reach a value it never named.
/// </summary>
public static class EnumNames
{
    public static bool TryParse<T>(string? text, out T value)
        where T : struct, Enum
    {
        foreach (var candidate in Enum.GetValues<T>())
        {
            if (string.Equals(Enum.GetName(candidate), text, StringComparison.OrdinalIgnoreCase))
            {
                value = candidate;
                return true;
            }
        }

        value = default;
        return false;
    }

    /// <summary>The declared names in lower case, for error messages: <c>viewer, operator, admin</c>.</summary>
    public static string List<T>()
        where T : struct, Enum => string.Join(", ", Enum.GetNames<T>().Select(n => n.ToLowerInvariant()));

    /// <summary>A value as the API spells it: its declared name in lower case (<c>succeeded</c>).</summary>
    public static string Lower<T>(T value)
        where T : struct, Enum => value.ToString().ToLowerInvariant();
}
