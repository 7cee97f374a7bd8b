using EdgeGreen.ControlPlane.Core.Pipelines;
using EdgeGreen.Shared;

namespace EdgeGreen.ControlPlane.Pipelines;

/// <summary>The shape of a definition as the API takes and shows it (durations in ISO 8601).</summary>
public sealed record PipelineDefinitionBody(
    IReadOnlyDictionary<string, string?> Parameters,
    string? Deadline,
    double? CarbonBudgetGrams,
    double? EnergyBudgetJoules,
    IReadOnlyList<PipelineStepBody> Steps)
{
    public static PipelineDefinitionBody From(PipelineDefinition definition) => new(
        definition.Parameters,
        definition.Deadline is { } deadline ? Durations.Format(deadline) : null,
        definition.CarbonBudgetGrams,
        definition.EnergyBudgetJoules,
        [.. definition.Steps.Select(PipelineStepBody.From)]);
}

public sealed record PipelineStepBody(
    string Name,
    string Kind,
    IReadOnlyDictionary<string, string> Parameters,
    IReadOnlyList<string> DependsOn,
    string? When,
    bool Cache,
    int Retries,
    string? EstimatedDuration,
    double? EstimatedPowerWatts,
    JobResources? Resources,
    JobPlacement? Placement,
    bool Interruptible,
    double? CarbonBudgetGrams,
    double? EnergyBudgetJoules)
{
    public static PipelineStepBody From(PipelineStep step) => new(
        step.Name, step.Kind, step.Parameters, step.DependsOn, step.When, step.Cache, step.Retries,
        step.EstimatedDuration is { } duration ? Durations.Format(duration) : null,
        step.EstimatedPowerWatts, step.Resources, step.Placement, step.Interruptible, step.CarbonBudgetGrams, step.EnergyBudgetJoules);
}

public sealed record PipelineVersionResponse(string Name, int Version, DateTimeOffset CreatedAt, string SourceContentType, string Source, PipelineDefinitionBody Definition)
{
    public static PipelineVersionResponse From(PipelineVersion version) =>
        new(version.Pipeline, version.Version, version.CreatedAt, version.SourceContentType, version.Source, PipelineDefinitionBody.From(version.Definition));
}

public sealed record PipelineResponse(string Name, int LatestVersion, IReadOnlyList<PipelineVersionResponse> Versions);

public sealed record PipelineStepRunResponse(
    string Name,
    string Status,
    string? Reason,
    string? JobId,
    int Attempts,
    DateTimeOffset? PlannedStart,
    DateTimeOffset? LatestFinish,
    DateTimeOffset? StartedAt,
    DateTimeOffset? FinishedAt,
    IReadOnlyDictionary<string, string>? Parameters,
    IReadOnlyDictionary<string, string> Outputs,
    IReadOnlyDictionary<string, double> Metrics,
    double? EnergyJoules,
    double? CarbonGrams,
    double? ForecastCarbonGrams,
    string? CachedFrom)
{
    public static PipelineStepRunResponse From(PipelineStepRun step) => new(
        step.Name, EnumNames.Lower(step.Status), step.Reason, step.JobId, step.Attempts, step.PlannedStart, step.LatestFinish, step.StartedAt, step.FinishedAt,
        step.Parameters, step.Outputs, step.Metrics, step.EnergyJoules, step.CarbonGrams, step.ForecastCarbonGrams, step.CachedFrom);
}

/// <summary>One step's share of the run's totals.</summary>
public sealed record StepSustainability(string Step, double EnergyJoules, double CarbonGrams, double? RunNowCarbonGrams, double? SavedCarbonGrams,
    double AvoidedByCacheJoules, double AvoidedByCacheCarbonGrams);

/// <summary>
/// The run's energy and carbon: every total is the sum of its steps'. Saved carbon is what the
/// steps that ran emitted less than at the realised intensity of running at once; what cached
/// steps did not spend is reported apart.
/// </summary>
public sealed record RunSustainability(double EnergyJoules, double CarbonGrams, double SavedCarbonGrams, double AvoidedByCacheJoules, double AvoidedByCacheCarbonGrams,
    IReadOnlyList<StepSustainability> ByStep)
{
    public static RunSustainability From(PipelineRun run)
    {
        var steps = run.Steps.Select(s => new StepSustainability(
            s.Name,
            s.EnergyJoules ?? 0,
            s.CarbonGrams ?? 0,
            s.RunNowCarbonGrams,
            s.RunNowCarbonGrams is { } runNow && s.CarbonGrams is { } carbon ? runNow - carbon : null,
            s.AvoidedEnergyJoules ?? 0,
            s.AvoidedCarbonGrams ?? 0)).ToList();
        return new RunSustainability(
            steps.Sum(s => s.EnergyJoules),
            steps.Sum(s => s.CarbonGrams),
            steps.Sum(s => s.SavedCarbonGrams ?? 0),
            steps.Sum(s => s.AvoidedByCacheJoules),
            steps.Sum(s => s.AvoidedByCacheCarbonGrams),
            steps);
    }
}

public sealed record PipelineRunResponse(
    string Id,
    string Pipeline,
    int Version,
    string Status,
    string? StatusReason,
    IReadOnlyDictionary<string, string> Parameters,
    DateTimeOffset CreatedAt,
    DateTimeOffset Deadline,
    DateTimeOffset? FinishedAt,
    DateTimeOffset? PlannedFinish,
    double? ForecastCarbonGrams,
    double? RunNowCarbonGrams,
    double? CarbonBudgetGrams,
    double? EnergyBudgetJoules,
    IReadOnlyList<PipelineStepRunResponse> Steps,
    RunSustainability Sustainability)
{
    public static PipelineRunResponse From(PipelineRun run) => new(
        run.Id, run.Pipeline, run.Version, EnumNames.Lower(run.Status), run.StatusReason, run.Parameters, run.CreatedAt, run.Deadline, run.FinishedAt,
        run.PlannedFinish, run.ForecastCarbonGrams, run.RunNowCarbonGrams, run.CarbonBudgetGrams, run.EnergyBudgetJoules,
        [.. run.Steps.Select(PipelineStepRunResponse.From)], RunSustainability.From(run));
}
