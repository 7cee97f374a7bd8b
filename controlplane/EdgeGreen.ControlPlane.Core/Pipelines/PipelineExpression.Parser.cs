using System.Globalization;

namespace EdgeGreen.ControlPlane.Core.Pipelines;

public sealed partial class PipelineExpression
{
    private const string ReferenceShapes =
        "parameters.NAME, steps.STEP.status, steps.STEP.outputs.NAME, steps.STEP.metrics.NAME or steps.STEP.sustainability.energyJoules|carbonGrams";

    private enum TokenKind
    {
        Literal,
        Reference,
        Not,
        And,
        Or,
        Equal,
        NotEqual,
        Less,
        LessOrEqual,
        Greater,
        GreaterOrEqual,
        Open,
        Close,
        End,
    }

    private readonly record struct Token(TokenKind Kind, int Start, int End, ExpressionValue Value = default, ExpressionReference? Reference = null);

    /// <summary>
    /// A lexer and recursive-descent parser over a slice of a source text. Errors are
    /// <see cref="FormatException"/>s whose message starts with the 1-based position in the source.
    /// </summary>
    private sealed class Parser
    {
        private readonly string _source;
        private readonly List<Token> _tokens = [];
        private readonly List<ExpressionReference> _references = [];
        private int _next;
        private int _depth;

        public Parser(string source, int start, int end)
        {
            _source = source;
            Lex(start, end);
        }

        public IReadOnlyList<ExpressionReference> References => _references;

        public Node Parse()
        {
            if (_tokens[0].Kind == TokenKind.End)
            {
                throw Error(_tokens[0].Start, "the expression is empty.");
            }

            var root = ParseOr();
            var after = Peek();
            return after.Kind == TokenKind.End
                ? root
                : throw Error(after.Start, $"expected an operator or the end of the expression, found '{TextOf(after)}'.");
        }

        private Node ParseOr() => ParseChain(TokenKind.Or, ParseAnd);

        private Node ParseAnd() => ParseChain(TokenKind.And, ParseEquality);

        private Node ParseChain(TokenKind op, Func<Node> operand)
        {
            var start = Peek().Start;
            var first = operand();
            if (Peek().Kind != op)
            {
                return first;
            }

            var operands = new List<Node> { first };
            while (Peek().Kind == op)
            {
                _next++;
                operands.Add(operand());
            }

            return new LogicalNode(TextFrom(start), op == TokenKind.And, operands);
        }

        private Node ParseEquality() => ParseComparison(ParseRelational, TokenKind.Equal, TokenKind.NotEqual);

        private Node ParseRelational() => ParseComparison(ParseUnary, TokenKind.Less, TokenKind.LessOrEqual, TokenKind.Greater, TokenKind.GreaterOrEqual);

        private Node ParseComparison(Func<Node> operand, params TokenKind[] ops)
        {
            var start = Peek().Start;
            var left = operand();
            if (!ops.Contains(Peek().Kind))
            {
                return left;
            }

            var op = Peek();
            _next++;
            var right = operand();
            if (ops.Contains(Peek().Kind))
            {
                throw Error(Peek().Start, $"comparisons do not chain; join them with && or || (found a second '{TextOf(Peek())}').");
            }

            return new ComparisonNode(TextFrom(start), TextOf(op), left, right);
        }

        private Node ParseUnary()
        {
            var token = Peek();
            if (token.Kind != TokenKind.Not)
            {
                return ParsePrimary();
            }

            _next++;
            Enter(token);
            var operand = ParseUnary();
            _depth--;
            return new NotNode(TextFrom(token.Start), operand);
        }

        private Node ParsePrimary()
        {
            var token = Peek();
            _next++;
            switch (token.Kind)
            {
                case TokenKind.Literal:
                    return new LiteralNode(TextOf(token), token.Value);
                case TokenKind.Reference:
                    return new ReferenceNode(TextOf(token), token.Reference!);
                case TokenKind.Open:
                    Enter(token);
                    var inner = ParseOr();
                    _depth--;
                    if (Peek().Kind != TokenKind.Close)
                    {
                        throw Error(Peek().Start, $"expected ')' to close the '(' at position {token.Start + 1}, found {Found(Peek())}.");
                    }

                    _next++;
                    return inner;
                default:
                    throw Error(token.Start, $"expected a value (a number, a quoted string, true, false, null, a reference or '('), found {Found(token)}.");
            }
        }

        private void Enter(Token token)
        {
            if (++_depth > MaxDepth)
            {
                throw Error(token.Start, $"'(' and '!' nest more than {MaxDepth} deep.");
            }
        }

        private Token Peek() => _tokens[_next];

        private string TextOf(Token token) => _source[token.Start..token.End];

        private string Found(Token token) => token.Kind == TokenKind.End ? "the end of the expression" : $"'{TextOf(token)}'";

        private string TextFrom(int start) => _source[start.._tokens[_next - 1].End];

        private static FormatException Error(int index, string message) => new($"at position {index + 1}: {message}");

        private void Lex(int start, int end)
        {
            var i = start;
            while (true)
            {
                while (i < end && char.IsWhiteSpace(_source[i]))
                {
                    i++;
                }

                if (i >= end)
                {
                    _tokens.Add(new Token(TokenKind.End, end, end));
                    return;
                }

                var c = _source[i];
                var next = i + 1 < end ? _source[i + 1] : '\0';
                if (char.IsAsciiDigit(c) || (c == '-' && char.IsAsciiDigit(next)))
                {
                    i = LexNumber(i, end);
                }
                else if (c is '\'' or '"')
                {
                    var close = _source.IndexOf(c, i + 1, end - i - 1);
                    if (close < 0)
                    {
                        throw Error(i, $"the string that starts here has no closing {c}.");
                    }

                    _tokens.Add(new Token(TokenKind.Literal, i, close + 1, ExpressionValue.FromString(_source[(i + 1)..close])));
                    i = close + 1;
                }
                else if (char.IsAsciiLetter(c))
                {
                    i = LexWord(i, end);
                }
                else
                {
                    var (kind, length) = (c, next) switch
                    {
                        ('!', '=') => (TokenKind.NotEqual, 2),
                        ('!', _) => (TokenKind.Not, 1),
                        ('&', '&') => (TokenKind.And, 2),
                        ('|', '|') => (TokenKind.Or, 2),
                        ('=', '=') => (TokenKind.Equal, 2),
                        ('<', '=') => (TokenKind.LessOrEqual, 2),
                        ('<', _) => (TokenKind.Less, 1),
                        ('>', '=') => (TokenKind.GreaterOrEqual, 2),
                        ('>', _) => (TokenKind.Greater, 1),
                        ('(', _) => (TokenKind.Open, 1),
                        (')', _) => (TokenKind.Close, 1),
                        ('&', _) => throw Error(i, "'&' is not an operator; 'and' is &&."),
                        ('|', _) => throw Error(i, "'|' is not an operator; 'or' is ||."),
                        ('=', _) => throw Error(i, "'=' is not an operator; equality is ==."),
                        ('$', _) => throw Error(i, "unexpected '$' (a when is written without ${{ }})."),
                        _ => throw Error(i, $"unexpected '{c}'."),
                    };
                    _tokens.Add(new Token(kind, i, i + length));
                    i += length;
                }
            }
        }

        /// <summary>-?digits(.digits)?([eE][+-]?digits)?, not followed by a name character.</summary>
        private int LexNumber(int start, int end)
        {
            var i = start + 1;
            SkipDigits(ref i, end);
            if (i < end && _source[i] == '.')
            {
                i++;
                RequireDigit(i, end, "expected a digit after the decimal point.");
                SkipDigits(ref i, end);
            }

            if (i < end && _source[i] is 'e' or 'E')
            {
                i++;
                if (i < end && _source[i] is '+' or '-')
                {
                    i++;
                }

                RequireDigit(i, end, "expected the exponent's digits.");
                SkipDigits(ref i, end);
            }

            if (i < end && (ReferenceNameCharacter(_source[i]) || _source[i] == '.'))
            {
                throw Error(i, $"unexpected '{_source[i]}' after the number.");
            }

            var number = double.Parse(_source.AsSpan(start, i - start), NumberStyle, CultureInfo.InvariantCulture);
            if (!double.IsFinite(number))
            {
                throw Error(start, "the number is too large.");
            }

            _tokens.Add(new Token(TokenKind.Literal, start, i, ExpressionValue.FromNumber(number)));
            return i;
        }

        private void SkipDigits(ref int i, int end)
        {
            while (i < end && char.IsAsciiDigit(_source[i]))
            {
                i++;
            }
        }

        private void RequireDigit(int i, int end, string message)
        {
            if (i >= end || !char.IsAsciiDigit(_source[i]))
            {
                throw Error(i, message);
            }
        }

        private static bool ReferenceNameCharacter(char c) => ExpressionReference.IsNameCharacter(c);

        /// <summary>A keyword or a dotted reference path.</summary>
        private int LexWord(int start, int end)
        {
            var segments = new List<string>();
            var i = start;
            while (true)
            {
                var segmentStart = i;
                while (i < end && ReferenceNameCharacter(_source[i]))
                {
                    i++;
                }

                if (i == segmentStart)
                {
                    throw Error(i, "expected a name after '.'.");
                }

                segments.Add(_source[segmentStart..i]);
                if (i < end && _source[i] == '.')
                {
                    i++;
                    continue;
                }

                break;
            }

            var word = _source[start..i];
            var token = word switch
            {
                "true" => new Token(TokenKind.Literal, start, i, ExpressionValue.FromBoolean(true)),
                "false" => new Token(TokenKind.Literal, start, i, ExpressionValue.FromBoolean(false)),
                "null" => new Token(TokenKind.Literal, start, i),
                _ => new Token(TokenKind.Reference, start, i, Reference: ToReference(segments)
                    ?? throw Error(start, $"'{word}' is not a reference; expected {ReferenceShapes}.")),
            };
            if (token.Reference is { } reference && !_references.Contains(reference))
            {
                _references.Add(reference);
            }

            _tokens.Add(token);
            return i;
        }

        private static ExpressionReference? ToReference(List<string> s) => s switch
        {
            [ExpressionReference.ParametersRoot, var name] => new ExpressionReference(ExpressionReference.ParametersRoot, null, null, name),
            [ExpressionReference.StepsRoot, var step, ExpressionReference.StatusName] =>
                new ExpressionReference(ExpressionReference.StepsRoot, step, null, ExpressionReference.StatusName),
            [ExpressionReference.StepsRoot, var step, ExpressionReference.SustainabilitySection, ExpressionReference.EnergyJoulesName or ExpressionReference.CarbonGramsName] =>
                new ExpressionReference(ExpressionReference.StepsRoot, step, ExpressionReference.SustainabilitySection, s[3]),
            [ExpressionReference.StepsRoot, var step, ExpressionReference.OutputsSection or ExpressionReference.MetricsSection, _, ..] =>
                new ExpressionReference(ExpressionReference.StepsRoot, step, s[2], string.Join('.', s.Skip(3))),
            _ => null,
        };
    }
}
