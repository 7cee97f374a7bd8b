namespace EdgeGreen.ControlPlane.Core.Deployments;

/// <summary>Which agents keep a deployment: those named, and those carrying all the labels in one of the zones (empty: any).</summary>
public sealed record DeploymentTarget(IReadOnlyDictionary<string, string> AgentLabels, IReadOnlyList<string> Zones, IReadOnlyList<string> Agents)
{
    /// <summary>Whether the agent is one of the target's: named, or matching every label and zone given (a target that names nothing matches no one).</summary>
    public bool Includes(string agentId, string zone, IReadOnlyDictionary<string, string> labels)
    {
        if (Agents.Contains(agentId, StringComparer.Ordinal))
        {
            return true;
        }

        if (AgentLabels.Count == 0 && Zones.Count == 0)
        {
            return false;
        }

        return (Zones.Count == 0 || Zones.Contains(zone, StringComparer.Ordinal))
            && AgentLabels.All(l => labels.TryGetValue(l.Key, out var value) && value == l.Value);
    }
}

/// <summary>One registered model version as a deployment serves it.</summary>
public sealed record DeployedVersion(string Model, int Version, string Sha256);

/// <summary>
/// A model kept on a set of agents as desired state: every target agent serves
/// <see cref="Current"/> under the deployment's name until the deployment changes.
/// <see cref="Revision"/> grows with every stored change (updates need the next one).
/// </summary>
/// <param name="Name">The name clients use on the agents' <c>/v2/models/{name}</c>.</param>
/// <param name="ModelReference">The model as the user named it (<c>models:/credit@champion</c>), resolved to <see cref="Current"/> when stored.</param>
/// <param name="Target">The agents that keep it.</param>
/// <param name="Threads">ONNX Runtime intra-op threads per loaded version; 0 for the agents' default.</param>
/// <param name="Current">The version served.</param>
/// <param name="Previous">The version served before the last change, if any.</param>
/// <param name="CreatedAt">When the deployment was first stored.</param>
/// <param name="UpdatedAt">When it last changed.</param>
/// <param name="Revision">0 when created, one more with every change.</param>
public sealed record DeploymentRecord(
    string Name,
    string ModelReference,
    DeploymentTarget Target,
    int Threads,
    DeployedVersion Current,
    DeployedVersion? Previous,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt,
    long Revision)
{
    /// <summary>How a new version reaches the target agents.</summary>
    public DeploymentStrategy Strategy { get; init; } = DeploymentStrategy.All;

    /// <summary>The change in progress from <see cref="Previous"/> to <see cref="Current"/>; null when none is.</summary>
    public Rollout? Rollout { get; init; }

    /// <summary>How the agents summarise the deployment's traffic for monitoring.</summary>
    public DeploymentMonitoring Monitoring { get; init; } = DeploymentMonitoring.Default;

    /// <summary>The deployment's A/B experiments, oldest first; the last is running when its status says so.</summary>
    public IReadOnlyList<Monitoring.ExperimentRecord> Experiments { get; init; } = [];

    /// <summary>The experiment splitting the deployment's traffic now, if any.</summary>
    public Monitoring.ExperimentRecord? RunningExperiment => Experiments.Count > 0 && Experiments[^1].IsRunning ? Experiments[^1] : null;

    /// <summary>When and how the deployment's model is retrained; null when it is not.</summary>
    public DeploymentRetraining? Retraining { get; init; }

    /// <summary>What the retraining policy has already seen.</summary>
    public RetrainingWatermark? RetrainingWatermark { get; init; }

    /// <summary>The last retraining started or refused; the cooldown counts from it.</summary>
    public LastRetraining? LastRetraining { get; init; }

    /// <summary>Why the last rollout was rolled back; null once a later one succeeds.</summary>
    public string? RolledBackReason { get; init; }

    /// <summary>What happened to the deployment, oldest first (at most <see cref="MaxHistory"/> entries).</summary>
    public IReadOnlyList<DeploymentEvent> History { get; init; } = [];

    public const int MaxHistory = 100;

    /// <summary>This record with the policy and what it has seen (both cleared when the policy is).</summary>
    public DeploymentRecord WithRetraining(DeploymentRetraining? retraining, RetrainingWatermark? watermark) =>
        this with { Retraining = retraining, RetrainingWatermark = watermark };

    public DeploymentRecord WithEvent(DeploymentEvent happened) =>
        this with { History = [.. History.Skip(Math.Max(0, History.Count + 1 - MaxHistory)), happened] };
}

/// <summary>One entry of a deployment's history: what changed, to which version, and why.</summary>
public sealed record DeploymentEvent(DateTimeOffset At, string Kind, int Version, string Message);

/// <summary>
/// How a new version reaches the target agents: <c>all</c> at once, or step by step
/// (<c>canary</c>, <c>rolling</c>): each step gives the new version to a share of the target
/// agents, holds for its pause, and passes only when the analysis of what those agents measured holds.
/// </summary>
public sealed record DeploymentStrategy(string Type, IReadOnlyList<RolloutStep> Steps, RolloutAnalysis Analysis)
{
    public static DeploymentStrategy All { get; } = new("all", [], new RolloutAnalysis(0, null, null, null));
}

/// <summary>One step: <paramref name="Percent"/> of the target agents (at least one) serve the new version for <paramref name="Pause"/>.</summary>
public sealed record RolloutStep(int Percent, TimeSpan Pause);

/// <summary>
/// What a step must show before the rollout goes on, over the new version's requests since the
/// step began: at least <paramref name="MinRequests"/> requests, an error rate (failed ÷ all) of at
/// most <paramref name="MaxErrorRate"/>, a p99 latency of at most <paramref name="MaxP99LatencyMs"/>,
/// and energy per 1,000 inferences at most <paramref name="MaxEnergyPer1kInferencesRatio"/> × the
/// previous version's on the agents still serving it. A limit left out is not checked.
/// </summary>
public sealed record RolloutAnalysis(long MinRequests, double? MaxErrorRate, double? MaxP99LatencyMs, double? MaxEnergyPer1kInferencesRatio);

/// <summary>A rollout in progress: its step, when that began, and each new-version agent's counters then.</summary>
public sealed record Rollout(int Step, DateTimeOffset StepStartedAt, bool Paused, IReadOnlyDictionary<string, RolloutBaseline> Baselines)
{
    public string? Waiting { get; init; }
}

/// <summary>An agent's counters for the new version when a step began (they count from when it began serving it).</summary>
public sealed record RolloutBaseline(DateTimeOffset Since, long Requests, long FailedRequests, long Inferences, double EnergyJoules);

/// <summary>
/// How agents summarise a deployment's traffic: per-feature histograms over the reference's bins
/// (when <see cref="Enabled"/> and the version has a reference), a bounded sample of raw requests
/// (<see cref="SampleRate"/> 0 keeps none: for sensitive inputs), and the predictions of requests
/// with an id, kept for labels sent later.
/// </summary>
public sealed record DeploymentMonitoring(bool Enabled, double SampleRate, int SampleSize, bool LogPredictions, TimeSpan Window)
{
    public static DeploymentMonitoring Default { get; } = new(true, 0.01, 20, true, TimeSpan.FromMinutes(1));
}
