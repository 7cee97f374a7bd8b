using System.Collections.Concurrent;
using System.Globalization;
using EdgeGreen.ControlPlane.Core.Storage;
using EdgeGreen.Contracts.V1;
using Google.Protobuf.WellKnownTypes;
using Microsoft.Extensions.Options;

namespace EdgeGreen.ControlPlane.Core.Jobs;

/// <summary>The outcome of a submission: stored (pending or held), or refused for its budget and not stored.</summary>
public sealed record SubmitOutcome(JobRecord Job, bool Refused);

/// <summary>A job change refused because of the job's state (the caller maps it to 404/409 or a gRPC status).</summary>
public sealed class JobStateException(string message, bool notFound = false) : Exception(message)
{
    public bool NotFound { get; } = notFound;
}

/// <summary>
/// Every change of a job's state goes through here, one at a time: submission (planned with the
/// queue before the reply), replanning, dispatch of due jobs to their agents, leases (renewed by
/// heartbeats and progress, lost ones queued again), budgets and completion with its accounting.
/// </summary>
public sealed partial class JobScheduler(
    IJobStore jobs,
    FleetPlanning planning,
    JobDispatcher dispatcher,
    JobAccounting accounting,
    JobMetrics metrics,
    IEnumerable<IJobLifecycleHandler> lifecycleHandlers,
    IOptions<SchedulingOptions> options,
    TimeProvider timeProvider,
    ILogger<JobScheduler> logger) : IDisposable
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    /// <summary>
    /// Renewals by job and the agent that named it: an agent naming another agent's job in its
    /// heartbeat adds an entry of its own, which is dropped, and never displaces the holder's.
    /// </summary>
    private readonly ConcurrentDictionary<(string JobId, string AgentId), DateTimeOffset> _renewals = new();
    private readonly SchedulingOptions _options = options.Value;
    private readonly ConcurrentDictionary<string, byte> _reported = new(StringComparer.Ordinal);
    private volatile bool _replanNeeded = true;
    private DateTimeOffset _lastPlannedAt = DateTimeOffset.MinValue;
    private DateTimeOffset _leasesHonouredUntil = DateTimeOffset.MinValue;

    /// <summary>Asks for a replanning at the next tick (an agent came or went, capacity changed).</summary>
    public void RequestReplan() => _replanNeeded = true;

    /// <summary>
    /// An agent reported its state (a heartbeat). Its first report since this replica began
    /// scheduling makes its capacity known, so jobs that waited for an agent are planned at the
    /// next tick rather than at the next replan interval (an agent may open its job stream, which
    /// asks for a replan too, before its first heartbeat). Later reports cost a lookup.
    /// </summary>
    public void StateReported(string agentId)
    {
        if (_reported.TryAdd(agentId, 0))
        {
            _replanNeeded = true;
        }
    }

    /// <summary>
    /// This replica has just become the cluster's leader: plan at once, and give every running job
    /// one lease duration to be renewed before its lease counts as lost. While no replica led,
    /// heartbeats had nowhere to renew leases; a job must not run twice because of the election.
    /// </summary>
    public void TakeOver()
    {
        _leasesHonouredUntil = timeProvider.GetUtcNow() + _options.LeaseDuration;
        _replanNeeded = true;
    }

    public async Task<SubmitOutcome> SubmitAsync(JobRecord job, CancellationToken cancellationToken)
    {
        var snapshot = await planning.PrepareAsync(timeProvider.GetUtcNow(), cancellationToken);
        await _gate.WaitAsync(cancellationToken);
        try
        {
            var now = snapshot.Now;
            var planned = Plan(snapshot, await jobs.ListActiveAsync(cancellationToken), job);
            var submitted = Settle(planned.Single(j => j.Id == job.Id), now);
            if (submitted.Status == JobStatus.Rejected)
            {
                metrics.Refused.Inc();
                return new SubmitOutcome(submitted, Refused: true);
            }

            foreach (var handler in lifecycleHandlers)
            {
                await handler.OnSubmittedAsync(submitted, cancellationToken);
            }

            await jobs.AddAsync(submitted, cancellationToken);
            await StoreAsync([.. planned.Where(j => j.Id != job.Id).Select(j => Settle(j, now))], cancellationToken);
            metrics.Submitted.Inc();
            LogSubmitted(submitted.Id, submitted.Name, submitted.Status, submitted.PlannedStart, submitted.AgentId);
            return new SubmitOutcome(submitted, Refused: false);
        }
        finally
        {
            _gate.Release();
        }
    }

    public async Task<JobRecord> CancelAsync(string jobId, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            var job = await jobs.GetAsync(jobId, cancellationToken) ?? throw new JobStateException($"No job has the id '{jobId}'.", notFound: true);
            var now = timeProvider.GetUtcNow();
            switch (job.Status)
            {
                case JobStatus.Pending or JobStatus.Held:
                    job = Finish(job with { StatusReason = "Cancelled before it started." }, JobStatus.Cancelled, now);
                    break;
                case JobStatus.Running:
                    job = job with { StopReason = job.StopReason ?? "Cancelled by a user." };
                    dispatcher.Send(job.AgentId!, new JobCommand { Cancel = new JobCancellation { JobId = job.Id, Reason = job.StopReason } });
                    break;
                default:
                    throw new JobStateException($"Job '{jobId}' has already ended ({job.Status.ToString().ToLowerInvariant()}).");
            }

            await StoreAsync([job], cancellationToken);
            _replanNeeded = true;
            return job;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>One scheduler step: expire leases, replan when due, hand due jobs to their agents.</summary>
    public async Task TickAsync(CancellationToken cancellationToken)
    {
        // What a replan needs is gathered before the gate; a replan that falls due meanwhile waits a tick.
        var snapshot = ReplanDue(timeProvider.GetUtcNow()) ? await planning.PrepareAsync(timeProvider.GetUtcNow(), cancellationToken) : null;
        await _gate.WaitAsync(cancellationToken);
        try
        {
            var now = timeProvider.GetUtcNow();
            var active = await ApplyRenewalsAsync(await jobs.ListActiveAsync(cancellationToken), cancellationToken);
            var expired = active.Where(j => j.Status == JobStatus.Running && j.LeaseExpiresAt < now && now >= _leasesHonouredUntil)
                .Select(j => LoseLease(j, $"Lease on agent {j.AgentId} ran out.", now)).ToList();
            if (expired.Count > 0)
            {
                await StoreAsync(expired, cancellationToken);
                active = await jobs.ListActiveAsync(cancellationToken);
            }

            if (snapshot is not null && ReplanDue(now))
            {
                var planned = Plan(snapshot, active, null).Select(j => Settle(j, now)).ToList();
                await StoreAsync(planned, cancellationToken);
                active = await jobs.ListActiveAsync(cancellationToken);
            }

            var due = active.Where(j => j.Status == JobStatus.Pending && j.PlannedStart <= now && j.AgentId is not null).ToList();
            foreach (var job in due)
            {
                if (!dispatcher.IsConnected(job.AgentId!))
                {
                    _replanNeeded = true;
                    continue;
                }

                var assigned = job with
                {
                    Status = JobStatus.Running,
                    StatusReason = null,
                    AssignedAt = now,
                    LeaseExpiresAt = now + _options.LeaseDuration,
                    Attempts = job.Attempts + 1,
                };
                await jobs.UpdateAsync(assigned, cancellationToken);
                dispatcher.Send(assigned.AgentId!, new JobCommand { Assign = ToAssignment(assigned) });
                LogAssigned(assigned.Id, assigned.AgentId!, assigned.Attempts);
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>
    /// An agent opened its job stream (at <paramref name="openedAt"/>) naming what it still runs:
    /// those leases are renewed (and pending stops sent again); jobs leased to it before the stream
    /// opened that it no longer names are queued again. Jobs assigned on the new stream itself are
    /// left alone: the agent could not have named them.
    /// </summary>
    public async Task ConnectAsync(string agentId, IReadOnlyCollection<string> runningJobIds, DateTimeOffset openedAt, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            var now = timeProvider.GetUtcNow();
            var changed = new List<JobRecord>();
            foreach (var job in (await jobs.ListActiveAsync(cancellationToken)).Where(j => j.Status == JobStatus.Running && j.AgentId == agentId))
            {
                if (!runningJobIds.Contains(job.Id))
                {
                    if (job.AssignedAt < openedAt)
                    {
                        changed.Add(LoseLease(job, $"Agent {agentId} reconnected without it.", now));
                    }

                    continue;
                }

                changed.Add(job with { LeaseExpiresAt = now + _options.LeaseDuration });
                if (job.StopReason is { } reason)
                {
                    dispatcher.Send(agentId, new JobCommand { Cancel = new JobCancellation { JobId = job.Id, Reason = reason } });
                }
            }

            await StoreAsync(changed, cancellationToken);
            _replanNeeded = true;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>
    /// Notes that a heartbeat named these jobs as running. Heartbeats must stay fast whatever the
    /// scheduler is doing, so the renewal is kept in memory and applied (for jobs that are leased
    /// to that agent) at the next tick, before leases are checked.
    /// </summary>
    public void Renew(string agentId, IEnumerable<string> runningJobIds)
    {
        var until = timeProvider.GetUtcNow() + _options.LeaseDuration;
        foreach (var id in runningJobIds)
        {
            _renewals[(id, agentId)] = until;
        }
    }

    /// <summary>Records progress, renews the lease and applies the overrun policy.</summary>
    public async Task<ReportProgressResponse> ReportProgressAsync(string agentId, ReportProgressRequest report, CancellationToken cancellationToken)
    {
        // The intensity is looked up before the gate: a carbon source's HTTP call must never hold
        // up planning and dispatch. The job is checked again under the gate.
        var seen = await LeasedAsync(agentId, report.JobId, cancellationToken);
        var now = timeProvider.GetUtcNow();
        var startedAt = report.StartedAt?.ToDateTimeOffset() ?? seen.StartedAt ?? seen.AssignedAt ?? now;
        var carbonSoFar = seen.Zone is { } zone && await accounting.RealisedIntensityAsync(zone, startedAt, now, cancellationToken) is { } intensity
            ? JobAccounting.Grams(report.EnergyJoules, intensity)
            : (double?)null;
        await _gate.WaitAsync(cancellationToken);
        try
        {
            var job = await LeasedAsync(agentId, report.JobId, cancellationToken);
            job = job with
            {
                Progress = Math.Clamp(report.Fraction, 0, 1),
                Phase = report.Phase.Length is > 0 and <= 128 ? report.Phase : job.Phase,
                EnergyJoules = report.EnergyJoules,
                StartedAt = startedAt,
                LeaseExpiresAt = now + _options.LeaseDuration,
            };
            if (Overrun(job, report.EnergyJoules, carbonSoFar) is { } overrun)
            {
                job = _options.Overrun == OverrunPolicy.Stop
                    ? job with { StopReason = job.StopReason ?? overrun, StopIsOverrun = job.StopReason is null || job.StopIsOverrun }
                    : job with { OverBudget = true, StatusReason = overrun };
            }

            await jobs.UpdateAsync(job, cancellationToken);
            metrics.RunningEnergyJoules.WithLabels(job.Id, job.Kind).Set(report.EnergyJoules);
            return new ReportProgressResponse
            {
                LeaseExpiresAt = Timestamp.FromDateTimeOffset(job.LeaseExpiresAt!.Value),
                Stop = job.StopReason is not null,
                StopReason = job.StopReason ?? "",
            };
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>
    /// Stores a job's final report with its emissions, run-now emissions and saving. The completion
    /// handlers act on it first (the registry registers a trained model, a batch inference's
    /// predictions are read), so that whoever sees the job finished sees what it produced; they act
    /// again on a repeated report, so none is lost. Their I/O, like the intensity lookups, runs
    /// before the gate: planning and dispatch never wait on a model file or a carbon source.
    /// </summary>
    public async Task<JobRecord> CompleteAsync(string agentId, CompleteJobRequest report, CancellationToken cancellationToken)
    {
        var seen = await jobs.GetAsync(report.JobId, cancellationToken);
        if (IsRepeated(seen, agentId, report))
        {
            await HandleCompletionAsync(seen!, report, cancellationToken);
            return seen!;
        }

        var leased = await LeasedAsync(agentId, report.JobId, cancellationToken);
        var startedAt = report.StartedAt.ToDateTimeOffset();
        var finishedAt = report.FinishedAt.ToDateTimeOffset();
        // A job's zone and run-now start do not change once it runs, so the lookups hold under the gate.
        var (realised, runNow) = leased.Zone is { } zone
            ? (await accounting.RealisedIntensityAsync(zone, startedAt, finishedAt, cancellationToken),
                await accounting.RealisedIntensityAsync(zone, leased.RunNowStart, leased.RunNowStart + (finishedAt - startedAt), cancellationToken))
            : (null, null);
        // Handlers are idempotent: should the lease be lost before the gate, the job is ended again
        // by the scheduler and they see that end too.
        await HandleCompletionAsync(Finish(leased, report, realised, runNow), report, cancellationToken);
        await _gate.WaitAsync(cancellationToken);
        try
        {
            if (await jobs.GetAsync(report.JobId, cancellationToken) is var current && IsRepeated(current, agentId, report))
            {
                // The same report, repeated while this one waited, was stored first.
                return current!;
            }

            var job = Finish(await LeasedAsync(agentId, report.JobId, cancellationToken), report, realised, runNow);
            await jobs.UpdateAsync(job, cancellationToken);
            JobsEnded?.Invoke();
            Count(job);
            _replanNeeded = true;
            LogCompleted(job.Id, job.Status, job.EnergyJoules ?? 0, job.CarbonGrams, job.RunNowRealisedCarbonGrams);
            return job;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Whether the job already ended with this agent's report (an agent repeats a completion it did not see acknowledged).</summary>
    private static bool IsRepeated(JobRecord? job, string agentId, CompleteJobRequest report) =>
        job is { IsFinished: true } && job.AgentId == agentId && job.FinishedAt == report.FinishedAt.ToDateTimeOffset();

    /// <summary>The leased job as its final report leaves it.</summary>
    private static JobRecord Finish(JobRecord job, CompleteJobRequest report, double? realised, double? runNow)
    {
        var carbonGrams = realised is { } i ? JobAccounting.Grams(report.EnergyJoules, i) : (double?)null;
        var status = report.Outcome switch
        {
            JobOutcome.Succeeded => JobStatus.Succeeded,
            JobOutcome.Cancelled => job.StopIsOverrun ? JobStatus.Stopped : JobStatus.Cancelled,
            _ => JobStatus.Failed,
        };
        var overrun = Overrun(job, report.EnergyJoules, carbonGrams);
        return job with
        {
            StartedAt = report.StartedAt.ToDateTimeOffset(),
            FinishedAt = report.FinishedAt.ToDateTimeOffset(),
            Progress = status == JobStatus.Succeeded ? 1 : job.Progress,
            // A finished job keeps its last phase only when it did not succeed: where it stopped.
            Phase = status == JobStatus.Succeeded ? null : job.Phase,
            EnergyJoules = report.EnergyJoules,
            EnergyProvenance = ToRecord(report.Provenance),
            EnergyByDomain = [.. report.Domains.Select(d => new JobDomainEnergy(d.Domain, d.EnergyJoules, ToRecord(d.Provenance)))],
            Metrics = report.Output is { } output ? new Dictionary<string, double>(output.Metrics.Where(m => double.IsFinite(m.Value)).Take(64)) : new Dictionary<string, double>(),
            Error = string.IsNullOrEmpty(report.Error) ? null : report.Error,
            RealisedIntensityGramsPerKwh = realised,
            CarbonGrams = carbonGrams,
            EmbodiedCarbonGrams = report.HasEmbodiedCarbonGrams ? report.EmbodiedCarbonGrams : null,
            RunNowRealisedCarbonGrams = runNow is { } r ? JobAccounting.Grams(report.EnergyJoules, r) : null,
            OverBudget = job.OverBudget || overrun is not null,
            StatusReason = status switch
            {
                JobStatus.Stopped or JobStatus.Cancelled => job.StopReason,
                _ => overrun ?? job.StatusReason,
            },
            LeaseExpiresAt = null,
            Status = status,
        };
    }

    /// <summary>Stores jobs the scheduler changed; those it ended itself go to the lifecycle handlers first, without a report.</summary>
    private async Task StoreAsync(IReadOnlyList<JobRecord> changed, CancellationToken cancellationToken)
    {
        foreach (var ended in changed.Where(j => j.IsFinished))
        {
            await HandleCompletionAsync(ended, null, cancellationToken);
        }

        await jobs.UpdateManyAsync(changed, cancellationToken);
        if (changed.Any(j => j.IsFinished))
        {
            JobsEnded?.Invoke();
        }
    }

    /// <summary>Raised after jobs that ended are stored (so that readers of the store see them ended).</summary>
    public event Action? JobsEnded;

    private async Task HandleCompletionAsync(JobRecord job, CompleteJobRequest? report, CancellationToken cancellationToken)
    {
        foreach (var handler in lifecycleHandlers)
        {
            await handler.OnCompletedAsync(job, report, cancellationToken);
        }
    }

    public void Dispose() => _gate.Dispose();

    /// <summary>Stores the heartbeats' renewals of leases the agents still hold; drops the rest.</summary>
    private async Task<IReadOnlyList<JobRecord>> ApplyRenewalsAsync(IReadOnlyList<JobRecord> active, CancellationToken cancellationToken)
    {
        if (_renewals.IsEmpty)
        {
            return active;
        }

        var renewed = new List<JobRecord>();
        var result = active.Select(job =>
        {
            if (job is { Status: JobStatus.Running, AgentId: { } holder } && _renewals.TryRemove((job.Id, holder), out var until) && until > job.LeaseExpiresAt)
            {
                job = job with { LeaseExpiresAt = until };
                renewed.Add(job);
            }

            return job;
        }).ToList();
        // Renewals naming a job that is not running on the agent that named it are dropped; one a
        // heartbeat added since the lookup above is kept for the next tick.
        var holders = active.Where(j => j.Status == JobStatus.Running && j.AgentId is not null).ToDictionary(j => j.Id, j => j.AgentId!, StringComparer.Ordinal);
        foreach (var key in _renewals.Keys.Where(k => holders.GetValueOrDefault(k.JobId) != k.AgentId))
        {
            _renewals.TryRemove(key, out _);
        }

        await jobs.UpdateManyAsync(renewed, cancellationToken);
        return result;
    }

    private bool ReplanDue(DateTimeOffset now) => _replanNeeded || now - _lastPlannedAt >= _options.ReplanInterval;

    private IReadOnlyList<JobRecord> Plan(FleetPlanning.PlanningSnapshot snapshot, IReadOnlyList<JobRecord> active, JobRecord? submitted)
    {
        var pending = active.Where(j => j.Status == JobStatus.Pending).ToList();
        if (submitted is not null)
        {
            pending.Add(submitted);
        }

        List<JobRecord> held = [.. active.Where(j => j.Status == JobStatus.Held)];
        // Nothing to place: skip building the fleet's capacity calendar (agents × slots), which
        // for thousands of agents is tens of megabytes every replan interval.
        var planned = pending.Count == 0 && held.Count == 0
            ? []
            : planning.Plan(snapshot, [.. active.Where(j => j.Status == JobStatus.Running)], pending, held);
        _lastPlannedAt = snapshot.Now;
        _replanNeeded = false;
        return planned;
    }

    /// <summary>Applies the budget policy to a freshly planned job.</summary>
    private JobRecord Settle(JobRecord job, DateTimeOffset now)
    {
        if (job.Status == JobStatus.Held && job.Deadline < now)
        {
            return Finish(job with { StatusReason = $"Its deadline passed while it was held: {job.StatusReason}" }, JobStatus.Rejected, now);
        }

        if (job.AgentId is null)
        {
            return job;
        }

        if (BudgetViolation(job) is not { } violation)
        {
            return job with { Status = JobStatus.Pending };
        }

        return _options.OverBudget == OverBudgetPolicy.Reject
            ? Finish(job with { StatusReason = violation }, JobStatus.Rejected, now)
            : job with { Status = JobStatus.Held, StatusReason = violation };
    }

    private static string? BudgetViolation(JobRecord job)
    {
        if (job.EnergyBudgetJoules is { } energy && job.EstimatedEnergyJoules > energy)
        {
            return string.Create(CultureInfo.InvariantCulture,
                $"Its estimated energy, {job.EstimatedEnergyJoules:0.#} J, exceeds its energy budget of {energy:0.#} J.");
        }

        if (job.CarbonBudgetGrams is { } carbon && job.ForecastCarbonGrams > carbon)
        {
            return string.Create(CultureInfo.InvariantCulture,
                $"Its best placement ({job.Zone} from {job.PlannedStart:u}) is forecast at {job.ForecastCarbonGrams:0.###} g CO2e, over its carbon budget of {carbon:0.###} g.");
        }

        return null;
    }

    private static string? Overrun(JobRecord job, double energyJoules, double? carbonGrams)
    {
        if (job.EnergyBudgetJoules is { } energy && energyJoules > energy)
        {
            return string.Create(CultureInfo.InvariantCulture, $"It used {energyJoules:0.#} J, over its energy budget of {energy:0.#} J.");
        }

        if (job.CarbonBudgetGrams is { } carbon && carbonGrams > carbon)
        {
            return string.Create(CultureInfo.InvariantCulture, $"It emitted {carbonGrams:0.###} g CO2e, over its carbon budget of {carbon:0.###} g.");
        }

        return null;
    }

    private JobRecord LoseLease(JobRecord job, string reason, DateTimeOffset now)
    {
        metrics.LeasesLost.Inc();
        metrics.RunningEnergyJoules.RemoveLabelled(job.Id, job.Kind);
        _replanNeeded = true;
        LogLeaseLost(job.Id, job.AgentId, reason);
        if (job.StopReason is not null)
        {
            return Finish(job with { StatusReason = $"{job.StopReason} {reason}" }, job.StopIsOverrun ? JobStatus.Stopped : JobStatus.Cancelled, now);
        }

        if (job.Attempts >= _options.MaxAttempts)
        {
            return Finish(job with { StatusReason = $"{reason} Gave up after {job.Attempts} attempts." }, JobStatus.Failed, now);
        }

        return job.WithoutPlan() with
        {
            Status = JobStatus.Pending,
            StatusReason = $"{reason} Queued again.",
            LeaseExpiresAt = null,
            AssignedAt = null,
            StartedAt = null,
            Progress = 0,
            Phase = null,
            EnergyJoules = null,
        };
    }

    private JobRecord Finish(JobRecord job, JobStatus status, DateTimeOffset now)
    {
        var finished = job with { Status = status, FinishedAt = now, LeaseExpiresAt = null };
        Count(finished);
        return finished;
    }

    private void Count(JobRecord job)
    {
        metrics.Finished.WithLabels(job.Status.ToString().ToLowerInvariant()).Inc();
        metrics.RunningEnergyJoules.RemoveLabelled(job.Id, job.Kind);
        if (job.EnergyJoules is { } energy)
        {
            metrics.EnergyJoules.WithLabels(job.Kind).Inc(energy);
        }

        if (job.CarbonGrams is { } carbon)
        {
            metrics.CarbonGrams.Inc(carbon);
            if (job.RunNowRealisedCarbonGrams is { } runNow)
            {
                metrics.SavedCarbonGrams.Inc(runNow - carbon);
            }
        }
    }

    private async Task<JobRecord> LeasedAsync(string agentId, string jobId, CancellationToken cancellationToken)
    {
        var job = await jobs.GetAsync(jobId, cancellationToken) ?? throw new JobStateException($"No job has the id '{jobId}'.", notFound: true);
        if (job.Status != JobStatus.Running || job.AgentId != agentId)
        {
            metrics.CompletionsRefused.Inc();
            throw new JobStateException($"Job '{jobId}' is not leased to this agent (it is {job.Status.ToString().ToLowerInvariant()}).");
        }

        return job;
    }

    private static ReadingProvenance ToRecord(Provenance provenance) =>
        provenance == Provenance.Measured ? ReadingProvenance.Measured : ReadingProvenance.Modelled;

    private static JobAssignment ToAssignment(JobRecord job)
    {
        var assignment = new JobAssignment
        {
            JobId = job.Id,
            Name = job.Name,
            Kind = job.Kind,
            Resources = new Capacity { CpuCores = job.Resources.CpuCores, MemoryBytes = job.Resources.MemoryBytes, Gpus = job.Resources.Gpus },
            LeaseExpiresAt = Timestamp.FromDateTimeOffset(job.LeaseExpiresAt!.Value),
            Attempt = job.Attempts,
        };
        foreach (var (key, value) in job.Parameters)
        {
            assignment.Parameters[key] = value;
        }
        return assignment;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Job {JobId} ({Name}) submitted: {Status}, planned at {PlannedStart} on agent {AgentId}")]
    private partial void LogSubmitted(string jobId, string name, JobStatus status, DateTimeOffset? plannedStart, string? agentId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Job {JobId} assigned to agent {AgentId} (attempt {Attempt})")]
    private partial void LogAssigned(string jobId, string agentId, int attempt);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {JobId} lost its lease on agent {AgentId}: {Reason}")]
    private partial void LogLeaseLost(string jobId, string? agentId, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Job {JobId} {Status}: {EnergyJoules} J, {CarbonGrams} g CO2e (run now: {RunNowCarbonGrams} g)")]
    private partial void LogCompleted(string jobId, JobStatus status, double energyJoules, double? carbonGrams, double? runNowCarbonGrams);
}
