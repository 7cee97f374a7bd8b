using EdgeGreen.ControlPlane.Core.Deployments;

namespace EdgeGreen.ControlPlane.Core.Monitoring;

/// <summary>
/// What an experiment compares: <c>feedback</c> (the labels sent for the requests each version
/// answered) or <c>prediction</c> (the versions' own outputs), as a <c>proportion</c> (0/1
/// outcomes; a prediction counts as 1 at 0.5 or above) or a <c>mean</c>.
/// </summary>
public sealed record ExperimentMetricSpec(string Source, string Kind, string? Name);

/// <summary>
/// An A/B experiment on a deployment: the control (the version it served when the experiment
/// started) and the treatment share its traffic, <see cref="TrafficPercent"/> to the treatment,
/// split per request key so that a client stays with one version. Kept in its deployment's record.
/// </summary>
public sealed record ExperimentRecord(
    string Name,
    string Deployment,
    DeployedVersion Control,
    DeployedVersion Treatment,
    int TrafficPercent,
    ExperimentMetricSpec Metric,
    double Alpha,
    double MinimumDetectableEffect,
    bool HigherIsBetter,
    double? MaxExtraCarbonShare,
    DateTimeOffset StartedAt)
{
    public const string Running = "running";

    public const string Concluded = "concluded";

    public string Status { get; init; } = Running;

    public DateTimeOffset? ConcludedAt { get; init; }

    /// <summary>The decision it was concluded on, and what was done.</summary>
    public string? Outcome { get; init; }

    public bool IsRunning => Status == Running;
}
