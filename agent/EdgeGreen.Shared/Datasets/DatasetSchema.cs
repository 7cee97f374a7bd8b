using System.Globalization;
using Microsoft.VisualBasic.FileIO;

namespace EdgeGreen.Shared.Datasets;

/// <summary>
/// Reads a CSV file (RFC 4180: a header row, commas, fields optionally in double quotes) with the
/// runtime's TextFieldParser and infers each column's type: <c>boolean</c> when every value is
/// true/false, yes/no or 0/1; <c>numeric</c> when every value is a number; otherwise
/// <c>categorical</c> text. Empty fields are missing values and do not decide the type.
/// </summary>
public static class DatasetSchema
{
    public const string Numeric = "numeric";
    public const string Boolean = "boolean";
    public const string Categorical = "categorical";

    /// <summary>The columns and row count of a CSV file; throws <see cref="InvalidDataException"/> naming the first problem.</summary>
    public static (IReadOnlyList<DatasetColumn> Columns, long Rows) Infer(string path)
    {
        using var parser = OpenCsv(path, out var header);
        if (header.Any(string.IsNullOrWhiteSpace))
        {
            throw new InvalidDataException("Every header field must name its column.");
        }

        if (header.Distinct(StringComparer.Ordinal).Count() != header.Length)
        {
            throw new InvalidDataException($"Column names must be unique: {string.Join(", ", header.GroupBy(h => h).Where(g => g.Count() > 1).Select(g => g.Key))}.");
        }

        var candidates = header.Select(_ => new Candidate()).ToArray();
        long rows = 0;
        while (ReadRow(parser) is { } fields)
        {
            rows++;
            if (fields.Length != header.Length)
            {
                throw new InvalidDataException($"Row {rows} has {fields.Length} fields; the header has {header.Length}.");
            }

            for (var i = 0; i < fields.Length; i++)
            {
                candidates[i].See(fields[i]);
            }
        }

        if (rows == 0)
        {
            throw new InvalidDataException("The CSV has a header but no rows.");
        }

        return ([.. header.Select((name, i) => new DatasetColumn(name, candidates[i].Type))], rows);
    }

    /// <summary>
    /// A reader of the CSV by the dataset rules (commas, optional double quotes, trimmed fields),
    /// past its header row, which it hands back; throws <see cref="InvalidDataException"/> when the
    /// file is empty.
    /// </summary>
    public static TextFieldParser OpenCsv(string path, out string[] header) => OpenCsv(new TextFieldParser(path), out header);

    /// <summary>The same over an open stream (which the parser disposes), so a caller can follow its position.</summary>
    public static TextFieldParser OpenCsv(Stream stream, out string[] header) => OpenCsv(new TextFieldParser(stream), out header);

    private static TextFieldParser OpenCsv(TextFieldParser parser, out string[] header)
    {
        (parser.TextFieldType, parser.HasFieldsEnclosedInQuotes, parser.TrimWhiteSpace) = (FieldType.Delimited, true, true);
        parser.SetDelimiters(",");
        try
        {
            header = ReadRow(parser) ?? throw new InvalidDataException("The CSV is empty: it needs a header row.");
            return parser;
        }
        catch
        {
            parser.Dispose();
            throw;
        }
    }

    /// <summary>Each header name's position.</summary>
    public static Dictionary<string, int> IndexOf(string[] header) =>
        header.Select((name, i) => (name, i)).DistinctBy(p => p.name).ToDictionary(p => p.name, p => p.i, StringComparer.Ordinal);

    /// <summary>The next row, or null at the end; a malformed line is an <see cref="InvalidDataException"/>.</summary>
    public static string[]? ReadRow(TextFieldParser parser)
    {
        try
        {
            return parser.EndOfData ? null : parser.ReadFields();
        }
        catch (MalformedLineException ex)
        {
            throw new InvalidDataException($"Line {ex.LineNumber} is not valid CSV (an unclosed quote?).", ex);
        }
    }

    /// <summary>What a column can still be, narrowed value by value.</summary>
    private sealed class Candidate
    {
        private bool _boolean = true;
        private bool _numeric = true;
        private bool _any;

        public string Type => !_any ? Categorical : _boolean ? Boolean : _numeric ? Numeric : Categorical;

        public void See(string value)
        {
            if (value.Length == 0)
            {
                return;
            }

            _any = true;
            _boolean &= value is "0" or "1" || IsWord(value, "true", "false", "yes", "no");
            _numeric &= double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var number) && double.IsFinite(number);
        }

        private static bool IsWord(string value, params string[] words) => words.Any(w => string.Equals(value, w, StringComparison.OrdinalIgnoreCase));
    }
}

public sealed record DatasetColumn(string Name, string Type);
