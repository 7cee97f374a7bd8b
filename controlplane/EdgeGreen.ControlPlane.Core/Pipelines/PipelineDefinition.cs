using EdgeGreen.ControlPlane.Core.Storage;

namespace EdgeGreen.ControlPlane.Core.Pipelines;

/// <summary>
/// One version of a pipeline: a DAG of steps run together under one deadline and one budget.
/// Step parameters may hold <c>${{ … }}</c> templates and <c>When</c> is an expression (see
/// <see cref="PipelineExpression"/>); both are checked when the definition is submitted and
/// evaluated when the step becomes ready.
/// </summary>
/// <param name="Parameters">Run parameters and their defaults; a null default makes the parameter required at run time.</param>
/// <param name="Deadline">How long after a run starts all of it must have finished (a run may give its own).</param>
/// <param name="CarbonBudgetGrams">The most carbon a whole run may emit.</param>
/// <param name="EnergyBudgetJoules">The most energy a whole run may use.</param>
/// <param name="Steps">The steps, each naming the steps it depends on.</param>
public sealed record PipelineDefinition(
    IReadOnlyDictionary<string, string?> Parameters,
    TimeSpan? Deadline,
    double? CarbonBudgetGrams,
    double? EnergyBudgetJoules,
    IReadOnlyList<PipelineStep> Steps);

/// <summary>
/// A step: a job of any job kind (taking every field a job takes), or one of the control plane's
/// own kinds (<see cref="PipelineStepKinds"/>), which run in the control plane and take no agent.
/// </summary>
public sealed record PipelineStep(
    string Name,
    string Kind,
    IReadOnlyDictionary<string, string> Parameters,
    IReadOnlyList<string> DependsOn,
    string? When,
    bool Cache,
    int Retries,
    TimeSpan? EstimatedDuration,
    double? EstimatedPowerWatts,
    JobResources? Resources,
    JobPlacement? Placement,
    bool Interruptible,
    double? CarbonBudgetGrams,
    double? EnergyBudgetJoules);

/// <summary>The step kinds that are not job kinds.</summary>
public static class PipelineStepKinds
{
    /// <summary>Succeeds when its <c>when</c> holds; otherwise fails its branch (what depends on it is skipped).</summary>
    public const string Gate = "gate";

    /// <summary>Moves a registry alias: parameters <c>model</c> (<c>models:/name/N</c>) and <c>alias</c>.</summary>
    public const string SetAlias = "set-alias";

    /// <summary>Creates or updates a deployment and succeeds when its rollout is healthy.</summary>
    public const string Deploy = "deploy";

    public static IReadOnlyList<string> All { get; } = [Gate, SetAlias, Deploy];

    public static bool IsControlPlaneKind(string kind) => All.Contains(kind, StringComparer.Ordinal);
}

/// <summary>A stored version of a pipeline definition.</summary>
/// <param name="Pipeline">The pipeline's name.</param>
/// <param name="Version">The version number within the pipeline.</param>
/// <param name="Definition">The definition as read and validated.</param>
/// <param name="CreatedAt">When this version was stored.</param>
/// <param name="Source">The text as submitted (JSON or YAML), kept so users see what they wrote.</param>
/// <param name="SourceContentType">The media type <paramref name="Source"/> was submitted with.</param>
public sealed record PipelineVersion(
    string Pipeline,
    int Version,
    PipelineDefinition Definition,
    DateTimeOffset CreatedAt,
    string Source,
    string SourceContentType);
