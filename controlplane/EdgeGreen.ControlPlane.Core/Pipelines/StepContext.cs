using EdgeGreen.Shared;

namespace EdgeGreen.ControlPlane.Core.Pipelines;

/// <summary>
/// What a step's <c>when</c> and parameter templates read: the run's parameters and what earlier
/// steps produced (outputs, metrics, energy and carbon, status). A name the run does not have
/// reads as null, so that <c>steps.x.metrics.auc &gt;= 0.7</c> fails with a clear reason when the
/// evaluation reported no AUC.
/// </summary>
internal sealed class StepContext(PipelineRun run)
{
    /// <summary>Evaluates a condition (checked when the definition was stored).</summary>
    /// <exception cref="PipelineExpressionException">It does not evaluate to true or false.</exception>
    public bool Holds(string condition) =>
        PipelineExpression.TryParse(condition, out var expression, out var error)
            ? expression.EvaluateCondition(Resolve)
            : throw new PipelineExpressionException(error);

    /// <summary>The value with its <c>${{ … }}</c> parts filled in.</summary>
    /// <exception cref="PipelineExpressionException">An expression in it cannot be evaluated.</exception>
    public string Render(string value) =>
        !ParameterTemplate.ContainsExpressions(value) ? value
        : ParameterTemplate.TryParse(value, out var template, out var error) ? template.Render(Resolve)
        : throw new PipelineExpressionException(error);

    private ExpressionValue Resolve(ExpressionReference reference)
    {
        if (reference.Root == ExpressionReference.ParametersRoot)
        {
            return ExpressionValue.FromString(run.Parameters.GetValueOrDefault(reference.Name));
        }

        if (run.Steps.FirstOrDefault(s => s.Name == reference.Step) is not { } step)
        {
            return ExpressionValue.Null;
        }

        return reference.Section switch
        {
            ExpressionReference.OutputsSection => ExpressionValue.FromString(step.Outputs.GetValueOrDefault(reference.Name)),
            ExpressionReference.MetricsSection => step.Metrics.TryGetValue(reference.Name, out var metric) ? ExpressionValue.FromNumber(metric) : ExpressionValue.Null,
            // A cached step's figures are those of the run that produced its result, so that a gate
            // on what training cost holds or not whether or not the training ran again.
            ExpressionReference.SustainabilitySection => reference.Name switch
            {
                ExpressionReference.EnergyJoulesName when (step.Status == PipelineStepStatus.Cached ? step.AvoidedEnergyJoules : step.EnergyJoules) is { } joules =>
                    ExpressionValue.FromNumber(joules),
                ExpressionReference.CarbonGramsName when (step.Status == PipelineStepStatus.Cached ? step.AvoidedCarbonGrams : step.CarbonGrams) is { } grams =>
                    ExpressionValue.FromNumber(grams),
                _ => ExpressionValue.Null,
            },
            null when reference.Name == ExpressionReference.StatusName => ExpressionValue.FromString(EnumNames.Lower(step.Status)),
            _ => ExpressionValue.Null,
        };
    }
}
