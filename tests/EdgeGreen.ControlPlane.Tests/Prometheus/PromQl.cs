namespace EdgeGreen.ControlPlane.Tests.Prometheus;

/// <summary>
/// The metric names a PromQL expression selects, found by a lexer that knows what else an
/// identifier can be: a function or aggregation (followed by a parenthesis, or by <c>by</c> /
/// <c>without</c>), a keyword, a label inside braces or in a grouping list, a string, a duration
/// or number. Promtool 2.42 has no command that prints an expression's selectors, so the names
/// are read here; whether the expression parses at all is promtool's to say.
/// </summary>
internal static class PromQl
{
    private static readonly HashSet<string> Aggregations = new(StringComparer.Ordinal)
    {
        "sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values", "bottomk", "topk", "quantile", "limitk", "limit_ratio",
    };

    /// <summary>Keywords followed by a parenthesised list of label names.</summary>
    private static readonly HashSet<string> Groupings = new(StringComparer.Ordinal) { "by", "without", "on", "ignoring", "group_left", "group_right" };

    private static readonly HashSet<string> Keywords = new(StringComparer.OrdinalIgnoreCase) { "and", "or", "unless", "bool", "offset", "atan2", "inf", "nan" };

    public static IReadOnlySet<string> MetricNames(string expression)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        var i = 0;
        while (i < expression.Length)
        {
            var c = expression[i];
            if (c is '"' or '\'' or '`')
            {
                i = SkipString(expression, i);
            }
            else if (c == '{')
            {
                var end = SkipTo(expression, i, '}');
                if (NameMatcher(expression[(i + 1)..(end - 1)]) is { } name)
                {
                    names.Add(name);
                }

                i = end;
            }
            else if (c == '[')
            {
                i = SkipTo(expression, i, ']');
            }
            else if (char.IsAsciiDigit(c) || (c == '.' && i + 1 < expression.Length && char.IsAsciiDigit(expression[i + 1])))
            {
                // Numbers and durations: 0.25, 1e6, 0x1f, 6h, 1h30m.
                while (i < expression.Length && (char.IsAsciiLetterOrDigit(expression[i]) || expression[i] == '.'))
                {
                    i++;
                }
            }
            else if (IsIdentifierStart(c))
            {
                var start = i;
                while (i < expression.Length && IsIdentifierPart(expression[i]))
                {
                    i++;
                }

                var word = expression[start..i];
                var next = SkipSpace(expression, i);
                if (Groupings.Contains(word))
                {
                    i = next < expression.Length && expression[next] == '(' ? SkipTo(expression, next, ')') : i;
                }
                else if (next < expression.Length && expression[next] == '(')
                {
                    // A function or an aggregation; its arguments are read on.
                }
                else if (!Keywords.Contains(word) && !(Aggregations.Contains(word) && IsGroupingNext(expression, next)))
                {
                    names.Add(word);
                }
            }
            else
            {
                i++;
            }
        }

        return names;
    }

    private static bool IsGroupingNext(string expression, int at) =>
        expression.AsSpan(at).StartsWith("by", StringComparison.Ordinal) || expression.AsSpan(at).StartsWith("without", StringComparison.Ordinal);

    /// <summary>The name in a <c>__name__="…"</c> matcher inside braces, if there is one.</summary>
    private static string? NameMatcher(string matchers)
    {
        var at = matchers.IndexOf("__name__", StringComparison.Ordinal);
        if (at < 0)
        {
            return null;
        }

        var quote = matchers.IndexOf('"', at);
        var end = quote < 0 ? -1 : matchers.IndexOf('"', quote + 1);
        return end < 0 || matchers[(at + "__name__".Length)..quote].Trim() != "=" ? null : matchers[(quote + 1)..end];
    }

    /// <summary>The index just past the <paramref name="close"/> that ends what opens at <paramref name="open"/>, strings skipped.</summary>
    private static int SkipTo(string expression, int open, char close)
    {
        var opener = expression[open];
        var depth = 0;
        var i = open;
        while (i < expression.Length)
        {
            var c = expression[i];
            if (c is '"' or '\'' or '`')
            {
                i = SkipString(expression, i);
                continue;
            }

            depth += c == opener ? 1 : c == close ? -1 : 0;
            i++;
            if (depth == 0)
            {
                return i;
            }
        }

        throw new FormatException($"Unclosed '{opener}' in {expression}");
    }

    private static int SkipString(string expression, int open)
    {
        var quote = expression[open];
        for (var i = open + 1; i < expression.Length; i++)
        {
            if (expression[i] == '\\' && quote != '`')
            {
                i++;
            }
            else if (expression[i] == quote)
            {
                return i + 1;
            }
        }

        throw new FormatException($"Unclosed string in {expression}");
    }

    private static int SkipSpace(string expression, int i)
    {
        while (i < expression.Length && char.IsWhiteSpace(expression[i]))
        {
            i++;
        }

        return i;
    }

    private static bool IsIdentifierStart(char c) => char.IsAsciiLetter(c) || c is '_' or ':';

    private static bool IsIdentifierPart(char c) => char.IsAsciiLetterOrDigit(c) || c is '_' or ':';
}
