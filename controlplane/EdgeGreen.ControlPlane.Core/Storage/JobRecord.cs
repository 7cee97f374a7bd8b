namespace EdgeGreen.ControlPlane.Core.Storage;

public enum JobStatus
{
    /// <summary>Waiting for its planned start (or for an agent that can take it).</summary>
    Pending,

    /// <summary>Its best placement exceeds its budget and the policy is to hold it; replanned until it fits or its deadline passes.</summary>
    Held,

    /// <summary>Leased to an agent.</summary>
    Running,
    Succeeded,
    Failed,
    Cancelled,

    /// <summary>Refused because its best placement exceeds its budget.</summary>
    Rejected,

    /// <summary>Stopped while running because it overran its budget.</summary>
    Stopped,
}

/// <summary>Where an estimate came from.</summary>
public enum EstimateSource
{
    /// <summary>Given in the submission.</summary>
    Submitted,

    /// <summary>The median of finished jobs with the same name.</summary>
    History,

    /// <summary>Implied by the job's parameters (a burn's duration).</summary>
    Parameters,

    /// <summary>The configured default power per reserved core.</summary>
    Default,
}

public sealed record JobResources(int CpuCores, long MemoryBytes, int Gpus);

/// <summary>Where a job may run: agents carrying all of <see cref="AgentLabels"/>, in one of <see cref="Zones"/> (empty: any).</summary>
public sealed record JobPlacement(IReadOnlyDictionary<string, string> AgentLabels, IReadOnlyList<string> Zones);

/// <summary>
/// A job from submission to its final record: what was asked, where and when the scheduler
/// planned it, what ran, and what it emitted against what it would have emitted if run at once.
/// </summary>
public sealed record JobRecord(
    string Id,
    string Name,
    string Kind,
    IReadOnlyDictionary<string, string> Parameters,
    DateTimeOffset SubmittedAt,
    DateTimeOffset EarliestStart,
    DateTimeOffset Deadline,
    TimeSpan EstimatedDuration,
    EstimateSource DurationEstimate,
    double EstimatedPowerWatts,
    EstimateSource PowerEstimate,
    JobResources Resources,
    JobPlacement Placement,
    bool Interruptible,
    double? CarbonBudgetGrams,
    double? EnergyBudgetJoules,
    JobStatus Status)
{
    public string? StatusReason { get; init; }

    // The plan, renewed at every replanning until the job starts.
    public DateTimeOffset? PlannedStart { get; init; }

    public string? AgentId { get; init; }

    public string? Zone { get; init; }

    public double? ForecastIntensityGramsPerKwh { get; init; }

    public double? ForecastCarbonGrams { get; init; }

    public double? RunNowCarbonGrams { get; init; }

    public bool? MeetsDeadline { get; init; }

    // The run.
    public int Attempts { get; init; }

    public DateTimeOffset? AssignedAt { get; init; }

    public DateTimeOffset? LeaseExpiresAt { get; init; }

    /// <summary>Set when the job must stop (cancelled by a user, or over budget under the stop policy).</summary>
    public string? StopReason { get; init; }

    public bool StopIsOverrun { get; init; }

    public DateTimeOffset? StartedAt { get; init; }

    public DateTimeOffset? FinishedAt { get; init; }

    public double Progress { get; init; }

    /// <summary>What the agent last said the job was doing (e.g. "training").</summary>
    public string? Phase { get; init; }

    public double? EnergyJoules { get; init; }

    public ReadingProvenance? EnergyProvenance { get; init; }

    /// <summary>Metrics the job reported with its completion (a training's validation metrics, an evaluation's).</summary>
    public IReadOnlyDictionary<string, double> Metrics { get; init; } = new Dictionary<string, double>();

    /// <summary>The job's energy by domain as its agent attributed it; empty before it finishes.</summary>
    public IReadOnlyList<JobDomainEnergy> EnergyByDomain { get; init; } = [];

    public bool OverBudget { get; init; }

    public string? Error { get; init; }

    // The accounting, once finished.
    public double? RealisedIntensityGramsPerKwh { get; init; }

    public double? CarbonGrams { get; init; }

    /// <summary>SCI's embodied term M for the run, as the agent worked it out; null where it has no embodied figure.</summary>
    public double? EmbodiedCarbonGrams { get; init; }

    /// <summary>The same energy at the realised intensity of the window starting when the job could first have run.</summary>
    public double? RunNowRealisedCarbonGrams { get; init; }

    public double EstimatedEnergyJoules => EstimatedPowerWatts * EstimatedDuration.TotalSeconds;

    public bool IsFinished => IsFinal(Status);

    public static bool IsFinal(JobStatus status) => status is JobStatus.Succeeded or JobStatus.Failed or JobStatus.Cancelled or JobStatus.Rejected or JobStatus.Stopped;

    /// <summary>The first instant the job could have run: its earliest start, or its submission when later.</summary>
    public DateTimeOffset RunNowStart => EarliestStart > SubmittedAt ? EarliestStart : SubmittedAt;

    /// <summary>Clears the plan (when the job goes back to the queue).</summary>
    public JobRecord WithoutPlan() => this with
    {
        PlannedStart = null,
        AgentId = null,
        Zone = null,
        ForecastIntensityGramsPerKwh = null,
        ForecastCarbonGrams = null,
        RunNowCarbonGrams = null,
        MeetsDeadline = null,
    };
}

/// <summary>Filters of a job listing, newest first.</summary>
/// <summary>Energy of one domain attributed to a job.</summary>
public sealed record JobDomainEnergy(string Domain, double EnergyJoules, ReadingProvenance Provenance);

public sealed record JobQuery(JobStatus? Status = null, string? Name = null, int Limit = 100);
