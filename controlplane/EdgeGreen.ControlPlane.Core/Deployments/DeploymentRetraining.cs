namespace EdgeGreen.ControlPlane.Core.Deployments;

/// <summary>
/// When and how a deployment's model is retrained: the first of its <see cref="Triggers"/> to fire
/// starts a run of <see cref="Pipeline"/>, at most once per <see cref="Cooldown"/>, and never while
/// the previous retraining run is still going.
/// </summary>
/// <param name="Pipeline">The pipeline that retrains the model.</param>
/// <param name="Parameters">Values for the pipeline's parameters, as text (the pipeline's defaults fill the rest).</param>
/// <param name="Deadline">How long after its start each run must finish; the planner places its steps in the cleanest window before then.</param>
/// <param name="Cooldown">The least time between two starts, refused ones included, so that a persistent trigger cannot hammer the cluster.</param>
/// <param name="CarbonBudgetGrams">The most carbon a run may emit; the pipeline's own budget when null.</param>
/// <param name="Triggers">What starts a run.</param>
public sealed record DeploymentRetraining(
    string Pipeline,
    IReadOnlyDictionary<string, string> Parameters,
    TimeSpan Deadline,
    TimeSpan Cooldown,
    double? CarbonBudgetGrams,
    IReadOnlyList<RetrainingTrigger> Triggers);

/// <summary>One trigger: exactly one of its members is set.</summary>
public sealed record RetrainingTrigger(DriftTrigger? Drift, NewDatasetVersionTrigger? NewDatasetVersion, ScheduleTrigger? Schedule);

/// <summary>
/// Fires when one of <paramref name="Features"/> drifted over the last day, or when the share of
/// drifted features reaches <paramref name="Threshold"/>; with neither given, half the features.
/// </summary>
public sealed record DriftTrigger(IReadOnlyList<string> Features, double? Threshold)
{
    public const double DefaultThreshold = 0.5;
}

/// <summary>Fires when the dataset gets a version newer than the last one the policy saw.</summary>
public sealed record NewDatasetVersionTrigger(string Dataset);

/// <summary>Fires when an occurrence of the five-field cron expression (UTC) passed since the last check.</summary>
public sealed record ScheduleTrigger(string Cron);

/// <summary>
/// The last retraining started or refused: its run (null when the run could not even be created), what
/// fired, and when; once the run has ended, how (<c>succeeded</c>, <c>failed</c> or <c>cancelled</c>) and when.
/// </summary>
public sealed record LastRetraining(string? RunId, string Trigger, DateTimeOffset StartedAt)
{
    public string? Outcome { get; init; }

    public DateTimeOffset? FinishedAt { get; init; }
}

/// <summary>
/// What the policy has already seen, so that a trigger fires on news only: when it was last
/// checked (cron occurrences after it count) and each watched dataset's latest version then.
/// </summary>
public sealed record RetrainingWatermark(DateTimeOffset CheckedAt, IReadOnlyDictionary<string, int> DatasetVersions);
