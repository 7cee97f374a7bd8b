using System.Diagnostics.CodeAnalysis;
using System.Globalization;

namespace EdgeGreen.ControlPlane.Core.Pipelines;

/// <summary>
/// The expression language of a step's <c>when</c> and of <c>${{ … }}</c> templates in step
/// parameters (see docs/pipelines.md). Literals: numbers (<c>0.75</c>, <c>-1</c>, <c>1e3</c>),
/// strings in single or double quotes (no escapes: use the other quote to hold one), <c>true</c>,
/// <c>false</c>, <c>null</c>. References: see <see cref="ExpressionReference"/>. Operators, loosest
/// first: <c>||</c>, <c>&amp;&amp;</c>, <c>== !=</c>, <c>&lt; &lt;= &gt; &gt;=</c>, <c>!</c>;
/// parentheses group. Comparisons do not chain. There is no arithmetic, so <c>-</c> may appear in
/// names (<c>steps.good-enough.status</c>).
/// </summary>
public sealed partial class PipelineExpression
{
    /// <summary>The longest expression text accepted.</summary>
    public const int MaxLength = 1000;

    /// <summary>How deeply parentheses and <c>!</c> may nest, so hostile input cannot exhaust the stack.</summary>
    public const int MaxDepth = 32;

    private const NumberStyles NumberStyle = NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint | NumberStyles.AllowExponent;

    private readonly Node _root;

    private PipelineExpression(string text, Node root, IReadOnlyList<ExpressionReference> references)
    {
        Text = text;
        _root = root;
        References = references;
    }

    /// <summary>The expression as written, without surrounding white space.</summary>
    public string Text { get; }

    /// <summary>Every reference the expression reads, each once, in order of appearance.</summary>
    public IReadOnlyList<ExpressionReference> References { get; }

    /// <summary>
    /// Parses <paramref name="text"/>; on failure, <paramref name="error"/> names the 1-based
    /// position and what was expected there.
    /// </summary>
    public static bool TryParse(string text, [NotNullWhen(true)] out PipelineExpression? expression, [NotNullWhen(false)] out string? error)
    {
        ArgumentNullException.ThrowIfNull(text);
        return TryParse(text, 0, text.Length, out expression, out error);
    }

    /// <summary>Parses <paramref name="source"/>[<paramref name="start"/>..<paramref name="end"/>), reporting positions in all of <paramref name="source"/>.</summary>
    internal static bool TryParse(string source, int start, int end, [NotNullWhen(true)] out PipelineExpression? expression, [NotNullWhen(false)] out string? error)
    {
        expression = null;
        if (end - start > MaxLength)
        {
            error = $"at position {start + 1}: the expression is longer than {MaxLength} characters.";
            return false;
        }

        try
        {
            var parser = new Parser(source, start, end);
            var root = parser.Parse();
            expression = new PipelineExpression(source[start..end].Trim(), root, parser.References);
            error = null;
            return true;
        }
        catch (FormatException e)
        {
            error = e.Message;
            return false;
        }
    }

    /// <summary>
    /// The expression's value, reading references through <paramref name="resolve"/>; throws
    /// <see cref="PipelineExpressionException"/> when an operator meets values it cannot take.
    /// </summary>
    public ExpressionValue Evaluate(Func<ExpressionReference, ExpressionValue> resolve)
    {
        ArgumentNullException.ThrowIfNull(resolve);
        return _root.Evaluate(resolve);
    }

    /// <summary>Evaluates a <c>when</c>: as <see cref="Evaluate"/>, and the value must be a boolean.</summary>
    public bool EvaluateCondition(Func<ExpressionReference, ExpressionValue> resolve)
    {
        var value = Evaluate(resolve);
        return value.TryGetBoolean(out var result)
            ? result
            : throw new PipelineExpressionException($"'{Text}' must be true or false, but it is {value.Describe()}.");
    }

    public override string ToString() => Text;

    /// <summary>Whether the string holds a finite number in the invariant culture (parameters are strings).</summary>
    private static bool TryParseNumber(string text, out double number) =>
        double.TryParse(text, NumberStyle, CultureInfo.InvariantCulture, out number) && double.IsFinite(number);

    private static bool AreEqual(ExpressionValue left, ExpressionValue right)
    {
        if (left.IsNull || right.IsNull)
        {
            return left.IsNull && right.IsNull;
        }

        if (left.Kind == ExpressionValueKind.String && right.Kind != ExpressionValueKind.String)
        {
            (left, right) = (right, left);
        }

        left.TryGetString(out var leftText);
        right.TryGetString(out var rightText);
        return (left.Kind, right.Kind) switch
        {
            (ExpressionValueKind.String, ExpressionValueKind.String) => string.Equals(leftText, rightText, StringComparison.Ordinal),
            (ExpressionValueKind.Number, ExpressionValueKind.Number) => left.TryGetNumber(out var a) && right.TryGetNumber(out var b) && a == b,
            (ExpressionValueKind.Boolean, ExpressionValueKind.Boolean) => left.TryGetBoolean(out var p) && right.TryGetBoolean(out var q) && p == q,
            (ExpressionValueKind.Number, ExpressionValueKind.String) => left.TryGetNumber(out var n) && TryParseNumber(rightText!, out var m) && n == m,
            (ExpressionValueKind.Boolean, ExpressionValueKind.String) => left.TryGetBoolean(out var t) && rightText == (t ? "true" : "false"),
            _ => false,
        };
    }

    private abstract class Node(string text)
    {
        /// <summary>The source text of this part, for error messages.</summary>
        public string Text { get; } = text;

        public abstract ExpressionValue Evaluate(Func<ExpressionReference, ExpressionValue> resolve);

        /// <summary>How a message shows this part's value: a literal as itself, anything else with its source.</summary>
        public string Describe(ExpressionValue value) => this is LiteralNode ? value.Describe() : $"{Text} ({value.Describe()})";
    }

    private sealed class LiteralNode(string text, ExpressionValue value) : Node(text)
    {
        public override ExpressionValue Evaluate(Func<ExpressionReference, ExpressionValue> resolve) => value;
    }

    private sealed class ReferenceNode(string text, ExpressionReference reference) : Node(text)
    {
        public override ExpressionValue Evaluate(Func<ExpressionReference, ExpressionValue> resolve) => resolve(reference);
    }

    private sealed class NotNode(string text, Node operand) : Node(text)
    {
        public override ExpressionValue Evaluate(Func<ExpressionReference, ExpressionValue> resolve)
        {
            var value = operand.Evaluate(resolve);
            return value.TryGetBoolean(out var b)
                ? ExpressionValue.FromBoolean(!b)
                : throw new PipelineExpressionException($"'!' needs true or false, not {operand.Describe(value)}.");
        }
    }

    /// <summary>A chain of <c>&amp;&amp;</c> or of <c>||</c>, kept flat so long chains do not nest.</summary>
    private sealed class LogicalNode(string text, bool isAnd, IReadOnlyList<Node> operands) : Node(text)
    {
        public override ExpressionValue Evaluate(Func<ExpressionReference, ExpressionValue> resolve)
        {
            foreach (var operand in operands)
            {
                var value = operand.Evaluate(resolve);
                if (!value.TryGetBoolean(out var b))
                {
                    throw new PipelineExpressionException($"'{(isAnd ? "&&" : "||")}' needs true or false on both sides, not {operand.Describe(value)}.");
                }

                // Short circuit: the first false decides an &&, the first true an ||.
                if (b != isAnd)
                {
                    return ExpressionValue.FromBoolean(b);
                }
            }

            return ExpressionValue.FromBoolean(isAnd);
        }
    }

    private sealed class ComparisonNode(string text, string op, Node left, Node right) : Node(text)
    {
        public override ExpressionValue Evaluate(Func<ExpressionReference, ExpressionValue> resolve)
        {
            var l = left.Evaluate(resolve);
            var r = right.Evaluate(resolve);
            return ExpressionValue.FromBoolean(op switch
            {
                "==" => AreEqual(l, r),
                "!=" => !AreEqual(l, r),
                _ => Order(l, r),
            });
        }

        private bool Order(ExpressionValue l, ExpressionValue r)
        {
            if (l.TryGetString(out var a) && r.TryGetString(out var b))
            {
                return Holds(string.CompareOrdinal(a, b), 0);
            }

            if (AsNumber(l, out var x) && AsNumber(r, out var y) && (l.Kind == ExpressionValueKind.Number || r.Kind == ExpressionValueKind.Number))
            {
                return Holds(x, y);
            }

            throw new PipelineExpressionException(
                $"'{op}' compares two numbers or two strings (a string that holds a number counts as a number), not {left.Describe(l)} and {right.Describe(r)}.");
        }

        private static bool AsNumber(ExpressionValue value, out double number)
        {
            if (value.TryGetNumber(out number))
            {
                return true;
            }

            return value.TryGetString(out var text) && TryParseNumber(text, out number);
        }

        // The operators themselves, not CompareTo, so that NaN compares false, as in IEEE 754.
        private bool Holds(double x, double y) => op switch
        {
            "<" => x < y,
            "<=" => x <= y,
            ">" => x > y,
            _ => x >= y,
        };
    }
}
