using System.Buffers;

namespace EdgeGreen.ControlPlane.Ingest;

/// <summary>
/// The control characters (U+0000-U+001F, U+007F-U+009F) that names from agents may not hold:
/// reading domains and sensor ids, job energy domains, agent names, zones, label keys and values.
/// No name needs one, logs and terminals show them as something else, and PostgreSQL's text cannot
/// hold NUL at all, so a name with one would fail only at the write, after the request was taken
/// (and, at enrolment, after the one-time token was spent). They are refused before anything is.
/// </summary>
internal static class ControlCharacters
{
    private static readonly SearchValues<char> Controls =
        SearchValues.Create([.. Enumerable.Range(0, 0x20).Concat(Enumerable.Range(0x7F, 0x21)).Select(c => (char)c)]);

    /// <summary>The controls free text may not hold: all of them but tab, line feed and carriage return.</summary>
    private static readonly SearchValues<char> ControlsInText =
        SearchValues.Create([.. Enumerable.Range(0, 0x20).Where(c => c is not ('\t' or '\n' or '\r')).Concat(Enumerable.Range(0x7F, 0x21)).Select(c => (char)c)]);

    public static bool AnyIn(string value) => value.AsSpan().ContainsAny(Controls);

    /// <summary>Whether free text (a JSON string, which may hold tabs and line breaks) holds another control character.</summary>
    public static bool AnyInText(string value) => value.AsSpan().ContainsAny(ControlsInText);

    /// <summary>The problem with the named field, or null when it holds none.</summary>
    public static string? Problem(string field, string value) =>
        AnyIn(value) ? $"{field} may not contain control characters (U+0000-U+001F, U+007F-U+009F)." : null;

    /// <summary>Free text (versions, notes) kept rather than refused: each control character becomes a space.</summary>
    public static string Blank(string value) =>
        AnyIn(value) ? string.Create(value.Length, value, (span, text) =>
        {
            for (var i = 0; i < span.Length; i++)
            {
                span[i] = char.IsControl(text[i]) ? ' ' : text[i];
            }
        }) : value;
}
