using System.Diagnostics.CodeAnalysis;
using System.Text;

namespace EdgeGreen.ControlPlane.Core.Pipelines;

/// <summary>
/// A step parameter value: literal text with zero or more <c>${{ expression }}</c> segments,
/// each replaced by its value's text (<see cref="ExpressionValue.ToString"/>) when the step runs.
/// An expression ends at the first <c>}}</c> outside a quoted string.
/// </summary>
public sealed class ParameterTemplate
{
    private const string Open = "${{";

    /// <summary>Literal text (string) or an expression, in order.</summary>
    private readonly IReadOnlyList<object> _segments;

    private ParameterTemplate(string text, IReadOnlyList<object> segments)
    {
        Text = text;
        _segments = segments;
        References = [.. segments.OfType<PipelineExpression>().SelectMany(e => e.References).Distinct()];
    }

    public string Text { get; }

    /// <summary>Whether the value holds any <c>${{ … }}</c>; a value without one renders as itself.</summary>
    public bool HasExpressions => _segments.Any(s => s is PipelineExpression);

    /// <summary>Every reference the value's expressions read, each once.</summary>
    public IReadOnlyList<ExpressionReference> References { get; }

    /// <summary>Whether <paramref name="text"/> holds a <c>${{</c>, so that it needs parsing at all.</summary>
    public static bool ContainsExpressions(string text) => text.Contains(Open, StringComparison.Ordinal);

    /// <summary>Parses <paramref name="text"/>; errors name the 1-based position in it.</summary>
    public static bool TryParse(string text, [NotNullWhen(true)] out ParameterTemplate? template, [NotNullWhen(false)] out string? error)
    {
        ArgumentNullException.ThrowIfNull(text);
        template = null;
        var segments = new List<object>();
        var i = 0;
        while (i < text.Length)
        {
            var open = text.IndexOf(Open, i, StringComparison.Ordinal);
            if (open < 0)
            {
                segments.Add(text[i..]);
                break;
            }

            if (open > i)
            {
                segments.Add(text[i..open]);
            }

            var start = open + Open.Length;
            var (close, openQuote) = FindClose(text, start);
            if (close < 0)
            {
                error = openQuote >= 0
                    ? $"at position {openQuote + 1}: the string that starts here has no closing {text[openQuote]}."
                    : $"at position {open + 1}: '${{{{' is not closed with '}}}}'.";
                return false;
            }

            if (!PipelineExpression.TryParse(text, start, close, out var expression, out error))
            {
                return false;
            }

            segments.Add(expression);
            i = close + 2;
        }

        template = new ParameterTemplate(text, segments);
        error = null;
        return true;
    }

    /// <summary>
    /// The value with each expression replaced by its value's text; throws
    /// <see cref="PipelineExpressionException"/> when an expression cannot be evaluated.
    /// </summary>
    public string Render(Func<ExpressionReference, ExpressionValue> resolve)
    {
        ArgumentNullException.ThrowIfNull(resolve);
        var rendered = new StringBuilder();
        foreach (var segment in _segments)
        {
            rendered.Append(segment is PipelineExpression expression ? expression.Evaluate(resolve).ToString() : (string)segment);
        }

        return rendered.ToString();
    }

    public override string ToString() => Text;

    /// <summary>
    /// The index of the <c>}}</c> that ends the expression starting at <paramref name="start"/>,
    /// skipping quoted strings; -1 when there is none, with the index of a quote left open (or -1).
    /// </summary>
    private static (int Close, int OpenQuote) FindClose(string text, int start)
    {
        var quote = -1;
        for (var i = start; i < text.Length; i++)
        {
            var c = text[i];
            if (quote >= 0)
            {
                quote = c == text[quote] ? -1 : quote;
            }
            else if (c is '\'' or '"')
            {
                quote = i;
            }
            else if (c == '}' && i + 1 < text.Length && text[i + 1] == '}')
            {
                return (i, -1);
            }
        }

        return (-1, quote);
    }
}
