namespace EdgeGreen.ControlPlane.Core.Pipelines;

public enum PipelineRunStatus
{
    Pending,
    Running,
    Succeeded,
    Failed,
    Cancelled,
}

public enum PipelineStepStatus
{
    /// <summary>Waiting for the steps it depends on.</summary>
    Pending,

    /// <summary>Its predecessors are done and it has a planned start (as a job, or at once for the control plane's kinds).</summary>
    Planned,
    Running,
    Succeeded,
    Failed,

    /// <summary>Not run: its <c>when</c> was false, or a step it depends on failed or was skipped.</summary>
    Skipped,

    /// <summary>Not run: an earlier succeeded step with the same kind, parameters and inputs gave its outputs.</summary>
    Cached,
}

/// <summary>
/// One run of one pipeline version. <see cref="Revision"/> grows with every stored change, so that
/// two writers (the leader's runner and a user's cancel on another replica) never overwrite each
/// other: a store refuses an update whose revision is not the next one.
/// </summary>
public sealed record PipelineRun(
    string Id,
    string Pipeline,
    int Version,
    IReadOnlyDictionary<string, string> Parameters,
    DateTimeOffset CreatedAt,
    DateTimeOffset Deadline,
    double? CarbonBudgetGrams,
    double? EnergyBudgetJoules,
    PipelineRunStatus Status,
    IReadOnlyList<PipelineStepRun> Steps,
    long Revision)
{
    public string? StatusReason { get; init; }

    public DateTimeOffset? FinishedAt { get; init; }

    /// <summary>When the last step is planned to finish, at the latest planning.</summary>
    public DateTimeOffset? PlannedFinish { get; init; }

    /// <summary>What the run emits as planned: finished steps as measured, the rest as forecast.</summary>
    public double? ForecastCarbonGrams { get; init; }

    /// <summary>What the same steps would emit run as soon as their predecessors allow.</summary>
    public double? RunNowCarbonGrams { get; init; }

    /// <summary>What the run uses as planned: finished steps as measured, the rest as estimated.</summary>
    public double? ForecastEnergyJoules { get; init; }

    /// <summary>When the unstarted steps were last planned.</summary>
    public DateTimeOffset? PlannedAt { get; init; }

    /// <summary>Set by a cancel request; the runner stops the run's jobs and ends it.</summary>
    public string? CancelRequested { get; init; }

    public bool IsFinished => Status is PipelineRunStatus.Succeeded or PipelineRunStatus.Failed or PipelineRunStatus.Cancelled;

    public PipelineStepRun Step(string name) => Steps.First(s => s.Name == name);

    /// <summary>This run with one step replaced, and the next revision.</summary>
    public PipelineRun WithStep(PipelineStepRun step) =>
        this with { Steps = [.. Steps.Select(s => s.Name == step.Name ? step : s)] };
}

/// <summary>One step of a run: its state, the job that runs it, what it produced and cost.</summary>
public sealed record PipelineStepRun(string Name, PipelineStepStatus Status)
{
    public string? Reason { get; init; }

    /// <summary>The job of the latest attempt (job kinds only).</summary>
    public string? JobId { get; init; }

    public int Attempts { get; init; }

    public DateTimeOffset? PlannedStart { get; init; }

    /// <summary>The step's window ends here, so that the steps after it keep their planned places.</summary>
    public DateTimeOffset? LatestFinish { get; init; }

    public DateTimeOffset? StartedAt { get; init; }

    public DateTimeOffset? FinishedAt { get; init; }

    /// <summary>The parameters with their templates filled in, as the step ran.</summary>
    public IReadOnlyDictionary<string, string>? Parameters { get; init; }

    public IReadOnlyDictionary<string, string> Outputs { get; init; } = new Dictionary<string, string>();

    public IReadOnlyDictionary<string, double> Metrics { get; init; } = new Dictionary<string, double>();

    public double? EnergyJoules { get; init; }

    public double? CarbonGrams { get; init; }

    /// <summary>What the step would have emitted run at once (its job's run-now figure).</summary>
    public double? RunNowCarbonGrams { get; init; }

    public double? ForecastCarbonGrams { get; init; }

    /// <summary>The step's expected energy (estimated power × duration) until it has run.</summary>
    public double? ForecastEnergyJoules { get; init; }

    /// <summary>The key under which a succeeded step is cached (kind, parameters, input hashes).</summary>
    public string? CacheKey { get; init; }

    /// <summary>For a cached step: the run and step whose outputs it reused.</summary>
    public string? CachedFrom { get; init; }

    public double? AvoidedEnergyJoules { get; init; }

    public double? AvoidedCarbonGrams { get; init; }

    /// <summary>For a gate: true when its condition evaluated to false (a decision); false when it could not be evaluated (an error).</summary>
    public bool Closed { get; init; }

    public bool IsFinished => Status is PipelineStepStatus.Succeeded or PipelineStepStatus.Failed or PipelineStepStatus.Skipped or PipelineStepStatus.Cached;

    /// <summary>Whether steps after this one may run on its outputs.</summary>
    public bool IsDone => Status is PipelineStepStatus.Succeeded or PipelineStepStatus.Cached;
}

/// <summary>What a succeeded step left for a later step with the same cache key to reuse.</summary>
public sealed record PipelineCacheEntry(
    string Key,
    string RunId,
    string Step,
    IReadOnlyDictionary<string, string> Outputs,
    IReadOnlyDictionary<string, double> Metrics,
    double? EnergyJoules,
    double? CarbonGrams,
    DateTimeOffset CreatedAt);
