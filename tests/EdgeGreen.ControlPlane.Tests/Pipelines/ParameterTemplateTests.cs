using EdgeGreen.ControlPlane.Core.Pipelines;

namespace EdgeGreen.ControlPlane.Tests.Pipelines;

public sealed class ParameterTemplateTests
{
    private static ExpressionValue Resolve(ExpressionReference reference) => reference.ToString() switch
    {
        "parameters.dataset" => ExpressionValue.FromString("credit:1"),
        "parameters.name" => ExpressionValue.FromString("credit"),
        "steps.train.outputs.version" => ExpressionValue.FromNumber(3),
        "steps.evaluate.metrics.auc" => ExpressionValue.FromNumber(0.1),
        "steps.skipped.outputs.model" => ExpressionValue.Null,
        _ => throw new KeyNotFoundException(reference.ToString()),
    };

    private static ParameterTemplate Parse(string text)
    {
        Assert.True(ParameterTemplate.TryParse(text, out var template, out var error), error);
        return template;
    }

    [Theory]
    [InlineData("${{ parameters.dataset }}", "credit:1")]
    [InlineData("models:/${{ parameters.name }}/${{steps.train.outputs.version}}", "models:/credit/3")]
    [InlineData("auc=${{ steps.evaluate.metrics.auc }};", "auc=0.1;")]
    [InlineData("[${{ steps.skipped.outputs.model }}]", "[]")]
    [InlineData("${{ steps.evaluate.metrics.auc > 0.05 }}", "true")]
    [InlineData("${{ 'a}}b' }}", "a}}b")]
    [InlineData("plain } }} text", "plain } }} text")]
    public void Render_Segments_ReplacedByTheirValuesText(string text, string expected) =>
        Assert.Equal(expected, Parse(text).Render(Resolve));

    [Fact]
    public void TryParse_NoExpression_RendersItselfAndReadsNothing()
    {
        var template = Parse("default.payment.next.month");
        Assert.False(template.HasExpressions);
        Assert.Empty(template.References);
        Assert.Equal("default.payment.next.month", template.Render(_ => throw new InvalidOperationException("nothing to resolve")));
    }

    [Fact]
    public void References_OfEverySegment_ListedOnce()
    {
        var template = Parse("${{ parameters.name }}-${{ parameters.name }}-${{ steps.train.outputs.version }}");
        Assert.True(template.HasExpressions);
        Assert.Equal(
            [new ExpressionReference("parameters", null, null, "name"), new ExpressionReference("steps", "train", "outputs", "version")],
            template.References);
    }

    [Theory]
    [InlineData("x ${{ parameters.name", "at position 3:", "not closed")]
    [InlineData("${{ 'abc }}", "at position 5:", "no closing '")]
    [InlineData("ab ${{ 1 = 1 }}", "at position 10:", "==")]
    [InlineData("${{ }}", "at position 5:", "empty")]
    [InlineData("${{ a }} ${{ parameters.name }}", "at position 5:", "not a reference")]
    public void TryParse_Malformed_NamesThePositionInTheValue(string text, string position, string expected)
    {
        Assert.False(ParameterTemplate.TryParse(text, out var template, out var error));
        Assert.Null(template);
        Assert.StartsWith(position, error, StringComparison.Ordinal);
        Assert.Contains(expected, error, StringComparison.Ordinal);
    }

    [Fact]
    public void Render_ExpressionFails_ThrowsPipelineExpressionException() =>
        Assert.Throws<PipelineExpressionException>(() => Parse("${{ steps.skipped.outputs.model < 1 }}").Render(Resolve));
}
