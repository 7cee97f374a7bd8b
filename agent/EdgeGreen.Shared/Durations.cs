using System.Globalization;
using System.Xml;

namespace EdgeGreen.Shared;

/// <summary>Durations as users write them: ISO 8601 (<c>PT30S</c>), and .NET's <c>00:00:30</c> as a courtesy.</summary>
public static class Durations
{
    public static bool TryParse(string? text, out TimeSpan duration)
    {
        duration = default;
        if (string.IsNullOrWhiteSpace(text))
        {
            return false;
        }

        text = text.Trim();
        if (text.StartsWith('P') || text.StartsWith("-P", StringComparison.Ordinal))
        {
            try
            {
                duration = XmlConvert.ToTimeSpan(text);
                return true;
            }
            catch (FormatException)
            {
                return false;
            }
            catch (OverflowException)
            {
                return false;
            }
        }

        return TimeSpan.TryParse(text, CultureInfo.InvariantCulture, out duration);
    }

    /// <summary>The ISO 8601 form, e.g. <c>PT1H30M</c>.</summary>
    public static string Format(TimeSpan duration) => XmlConvert.ToString(duration);
}
