namespace EdgeGreen.ControlPlane.Core.Pipelines;

/// <summary>A plan for the steps of a pipeline run that have yet to start.</summary>
/// <param name="Steps">One per step, in the order the steps were given.</param>
/// <param name="ForecastCarbonGrams">Expected emissions of the plan: the sum over its steps.</param>
/// <param name="RunNowCarbonGrams">
/// Expected emissions if every step started as soon as its predecessors finish, each in its
/// cleanest allowed zone at that time: the saving of the plan is what waiting gains.
/// </param>
/// <param name="MeetsDeadline">False when even the earliest schedule cannot finish by the deadline; the plan is then that schedule.</param>
public sealed record PipelinePlan(
    IReadOnlyList<PlannedStep> Steps,
    double ForecastCarbonGrams,
    double RunNowCarbonGrams,
    bool MeetsDeadline);
