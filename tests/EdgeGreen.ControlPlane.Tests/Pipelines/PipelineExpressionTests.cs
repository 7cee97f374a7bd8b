using EdgeGreen.ControlPlane.Core.Pipelines;

namespace EdgeGreen.ControlPlane.Tests.Pipelines;

public sealed class PipelineExpressionTests
{
    private static ExpressionValue Resolve(ExpressionReference reference) => reference.ToString() switch
    {
        "steps.evaluate.metrics.auc" => ExpressionValue.FromNumber(0.8),
        "steps.train.sustainability.carbonGrams" => ExpressionValue.FromNumber(42),
        "steps.good-enough.status" => ExpressionValue.FromString("succeeded"),
        "steps.skipped.metrics.auc" => ExpressionValue.Null,
        "parameters.minAuc" => ExpressionValue.FromString("0.75"),
        "parameters.dataset" => ExpressionValue.FromString("credit:1"),
        _ => throw new KeyNotFoundException(reference.ToString()),
    };

    private static PipelineExpression Parse(string text)
    {
        Assert.True(PipelineExpression.TryParse(text, out var expression, out var error), error);
        return expression;
    }

    private static string ParseError(string text)
    {
        Assert.False(PipelineExpression.TryParse(text, out var expression, out var error));
        Assert.Null(expression);
        return error;
    }

    [Theory]
    [InlineData("true || false && false", true)]
    [InlineData("false && true || true", true)]
    [InlineData("(true || false) && false", false)]
    [InlineData("false && (true || true)", false)]
    [InlineData("!false && true", true)]
    [InlineData("!(true && false)", true)]
    [InlineData("!!true", true)]
    public void Evaluate_LogicalOperators_AndBindsTighterThanOr(string text, bool expected) =>
        Assert.Equal(ExpressionValue.FromBoolean(expected), Parse(text).Evaluate(Resolve));

    [Theory]
    [InlineData("steps.evaluate.metrics.auc >= parameters.minAuc", true)]
    [InlineData("parameters.minAuc < 0.8", true)]
    [InlineData("parameters.minAuc == 0.75", true)]
    [InlineData("0.750 == parameters.minAuc", true)]
    [InlineData("parameters.minAuc == '0.750'", false)]
    [InlineData("'10' < '9'", true)]
    [InlineData("10 < 9", false)]
    [InlineData("'abc' == 1", false)]
    [InlineData("'true' == true", true)]
    [InlineData("'yes' == true", false)]
    [InlineData("1 == true", false)]
    [InlineData("null == null", true)]
    [InlineData("steps.skipped.metrics.auc == null", true)]
    [InlineData("steps.skipped.metrics.auc != 0", true)]
    [InlineData("steps.good-enough.status == 'succeeded'", true)]
    [InlineData("steps.good-enough.status != \"succeeded\"", false)]
    [InlineData("-1 < 0", true)]
    [InlineData("1e3 == 1000", true)]
    [InlineData("2.5E-1 == 0.25", true)]
    [InlineData("steps.train.sustainability.carbonGrams <= 50", true)]
    [InlineData("steps.evaluate.metrics.auc >= 0.75 && steps.train.sustainability.carbonGrams <= 40", false)]
    public void Evaluate_Comparison_FollowsTheDocumentedRules(string text, bool expected) =>
        Assert.Equal(expected, Parse(text).EvaluateCondition(Resolve));

    [Theory]
    [InlineData("steps.skipped.metrics.auc < 0.75", "steps.skipped.metrics.auc (null)")]
    [InlineData("'abc' < 1", "string 'abc'")]
    [InlineData("true < false", "boolean true")]
    [InlineData("1 && true", "'&&' needs true or false")]
    [InlineData("false || parameters.dataset", "parameters.dataset (string 'credit:1')")]
    [InlineData("!parameters.minAuc", "'!' needs true or false")]
    public void Evaluate_OperandOfTheWrongKind_ThrowsNamingIt(string text, string fragment) =>
        Assert.Contains(fragment, Assert.Throws<PipelineExpressionException>(() => Parse(text).Evaluate(Resolve)).Message, StringComparison.Ordinal);

    [Theory]
    [InlineData("false && steps.skipped.metrics.auc < 1", false)]
    [InlineData("true || steps.skipped.metrics.auc < 1", true)]
    public void Evaluate_ShortCircuit_DoesNotEvaluateTheRest(string text, bool expected) =>
        Assert.Equal(expected, Parse(text).EvaluateCondition(Resolve));

    [Fact]
    public void EvaluateCondition_NotABoolean_Throws() =>
        Assert.Contains("must be true or false", Assert.Throws<PipelineExpressionException>(() => Parse("parameters.minAuc").EvaluateCondition(Resolve)).Message,
            StringComparison.Ordinal);

    [Theory]
    [InlineData("", "at position 1:", "empty")]
    [InlineData("steps.evaluate.metrics.auc >=", "at position 30:", "expected a value")]
    [InlineData("(true", "at position 6:", "expected ')' to close the '(' at position 1")]
    [InlineData("true false", "at position 6:", "expected an operator")]
    [InlineData("auc >= 0.75", "at position 1:", "'auc' is not a reference")]
    [InlineData("steps.train.sustainability.watts > 1", "at position 1:", "not a reference")]
    [InlineData("steps.train > 1", "at position 1:", "not a reference")]
    [InlineData("1 = 1", "at position 3:", "==")]
    [InlineData("true & false", "at position 6:", "&&")]
    [InlineData("true | false", "at position 6:", "||")]
    [InlineData("'abc == 1", "at position 1:", "no closing '")]
    [InlineData("1 < 2 < 3", "at position 7:", "do not chain")]
    [InlineData("1 == 1 != false", "at position 8:", "do not chain")]
    [InlineData("parameters. x", "at position 12:", "expected a name")]
    [InlineData("${{ true }}", "at position 1:", "'$'")]
    [InlineData("1. == 1", "at position 3:", "digit")]
    [InlineData("12abc", "at position 3:", "after the number")]
    [InlineData("1e999 > 1", "at position 1:", "too large")]
    [InlineData("True", "at position 1:", "not a reference")]
    public void TryParse_Malformed_NamesThePositionAndWhatWasExpected(string text, string position, string expected)
    {
        var error = ParseError(text);
        Assert.StartsWith(position, error, StringComparison.Ordinal);
        Assert.Contains(expected, error, StringComparison.Ordinal);
    }

    [Fact]
    public void TryParse_TooLong_IsRefused()
    {
        var longest = "true" + string.Concat(Enumerable.Repeat(" && true", (PipelineExpression.MaxLength - 4) / 8));
        Assert.True(PipelineExpression.TryParse(longest, out _, out _));
        Assert.Contains("longer than 1000", ParseError(longest + " && true"), StringComparison.Ordinal);
        Assert.Contains("longer than 1000", ParseError(new string('(', 100_000)), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData('(', ')')]
    [InlineData('!', ' ')]
    public void TryParse_NestingBeyondTheBound_IsRefused(char open, char close)
    {
        string Nested(int depth) => new string(open, depth) + "true" + new string(close, depth).Trim();

        Assert.True(Parse(Nested(PipelineExpression.MaxDepth)).EvaluateCondition(Resolve));
        Assert.Contains("nest more than 32", ParseError(Nested(PipelineExpression.MaxDepth + 1)), StringComparison.Ordinal);
    }

    [Fact]
    public void TryParse_LongChain_EvaluatesWithoutNesting()
    {
        var chain = string.Join("||", Enumerable.Repeat("false", 120)) + "||true";
        Assert.True(Parse(chain).EvaluateCondition(Resolve));
    }

    [Fact]
    public void References_EveryShape_ListedOnceInOrder()
    {
        var expression = Parse(
            "steps.train.outputs.model == parameters.model && steps.good-enough.status != 'x' && steps.train.sustainability.energyJoules > 0"
            + " && steps.profile.metrics.throughput.b8t1 > 1 && parameters.model != null && steps.train.outputs.model != ''");

        Assert.Equal(
            [
                new ExpressionReference("steps", "train", "outputs", "model"),
                new ExpressionReference("parameters", null, null, "model"),
                new ExpressionReference("steps", "good-enough", null, "status"),
                new ExpressionReference("steps", "train", "sustainability", "energyJoules"),
                new ExpressionReference("steps", "profile", "metrics", "throughput.b8t1"),
            ],
            expression.References);
        Assert.Equal("steps.profile.metrics.throughput.b8t1", expression.References[4].ToString());
    }

    [Fact]
    public void Text_IsTheTrimmedSource() =>
        Assert.Equal("parameters.minAuc == 1", Parse("  parameters.minAuc == 1 ").Text);

    [Theory]
    [InlineData(0.1 + 0.2, "0.30000000000000004")]
    [InlineData(3.0, "3")]
    [InlineData(-0.5, "-0.5")]
    [InlineData(1e21, "1E+21")]
    public void ExpressionValueToString_Number_InvariantShortestRoundTrip(double number, string expected) =>
        Assert.Equal(expected, ExpressionValue.FromNumber(number).ToString());

    [Fact]
    public void ExpressionValueToString_OtherKinds_TemplateText()
    {
        Assert.Equal("", ExpressionValue.Null.ToString());
        Assert.Equal("", ExpressionValue.FromString(null).ToString());
        Assert.Equal("true", ExpressionValue.FromBoolean(true).ToString());
        Assert.Equal("a b", ExpressionValue.FromString("a b").ToString());
    }
}
