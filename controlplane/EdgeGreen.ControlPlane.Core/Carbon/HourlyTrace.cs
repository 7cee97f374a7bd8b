using System.Globalization;

namespace EdgeGreen.ControlPlane.Core.Carbon;

/// <summary>One zone's hourly intensity for one calendar year, read from an Electricity Maps export.</summary>
public sealed record HourlyTrace(string Zone, int Year, IReadOnlyList<double> IntensityGramsPerKwh)
{
    public const string IntensityColumn = "Carbon Intensity gCO₂eq/kWh (direct)";

    /// <summary>
    /// Reads <c>Datetime (UTC),…,Zone Id,Carbon Intensity gCO₂eq/kWh (direct),…</c>. Rows must be
    /// consecutive hours of one year; anything else is refused with the file and line.
    /// </summary>
    public static HourlyTrace Read(string path)
    {
        using var reader = new StreamReader(path);
        var header = (reader.ReadLine() ?? throw new InvalidDataException($"{path} is empty.")).Split(',');
        var timeColumn = Column(header, "Datetime (UTC)", path);
        var zoneColumn = Column(header, "Zone Id", path);
        var intensityColumn = Column(header, IntensityColumn, path);

        var values = new List<double>(8_784);
        string? zone = null;
        DateTime? first = null;
        var lineNumber = 1;
        while (reader.ReadLine() is { } line)
        {
            lineNumber++;
            if (line.Length == 0)
            {
                continue;
            }

            var fields = line.Split(',');
            if (fields.Length != header.Length)
            {
                throw new InvalidDataException($"{path}:{lineNumber}: {fields.Length} fields, expected {header.Length}.");
            }

            var time = DateTime.ParseExact(fields[timeColumn], "yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal);
            first ??= time;
            if (time != first.Value.AddHours(values.Count))
            {
                throw new InvalidDataException($"{path}:{lineNumber}: {time:O} breaks the hourly sequence.");
            }

            zone ??= fields[zoneColumn];
            if (!double.TryParse(fields[intensityColumn], NumberStyles.Float, CultureInfo.InvariantCulture, out var intensity) || !double.IsFinite(intensity) || intensity < 0)
            {
                throw new InvalidDataException($"{path}:{lineNumber}: '{fields[intensityColumn]}' is not a non-negative intensity.");
            }

            values.Add(intensity);
        }

        if (first is not { Month: 1, Day: 1, Hour: 0 } start || zone is null)
        {
            throw new InvalidDataException($"{path} must start at 00:00 UTC on 1 January.");
        }

        return new HourlyTrace(zone, start.Year, values);
    }

    private static int Column(string[] header, string name, string path) =>
        Array.IndexOf(header, name) is var index and >= 0 ? index : throw new InvalidDataException($"{path} has no column '{name}'.");
}
