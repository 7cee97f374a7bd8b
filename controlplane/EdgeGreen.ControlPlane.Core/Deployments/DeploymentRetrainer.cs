using System.Text.Json;
using EdgeGreen.ControlPlane.Core.Monitoring;
using EdgeGreen.ControlPlane.Core.Pipelines;
using EdgeGreen.ControlPlane.Core.Storage;
using EdgeGreen.Shared;
using Microsoft.Extensions.Options;
using Prometheus;

namespace EdgeGreen.ControlPlane.Core.Deployments;

/// <summary>
/// Checks every retraining policy each <c>RetrainingInterval</c> on the leader and, when a trigger
/// fires and the cooldown since the last start has passed, starts a run of the policy's pipeline
/// the way <c>POST /api/v1/pipelines/{name}/runs</c> does. The deployment records the start first
/// (<c>retraining-started</c>) and the run starts only once that is stored, so that two leaders or
/// two passes never start two runs for one trigger.
/// </summary>
public sealed partial class DeploymentRetrainer(
    IDeploymentStore store,
    IDatasetStore datasets,
    IPipelineStore pipelines,
    PipelineRuns runs,
    PipelineRunner runner,
    DriftReports drift,
    DeploymentEvents events,
    IOptions<DeploymentOptions> options,
    TimeProvider clock,
    IMetricFactory metrics,
    Cluster.ClusterMembership cluster,
    ILogger<DeploymentRetrainer> logger)
    : Cluster.LeaderPeriodicService(options.Value.RetrainingInterval, clock, cluster,
        metrics.CreateCounter("edgegreen_deployment_retraining_failures_total", "Retraining passes that failed (retried at the next interval)."), logger)
{
    private const string DriftWindow = "P1D";

    // A pass from the timer and one asked for directly must not both start a run for one trigger.
    private readonly SemaphoreSlim _gate = new(1, 1);

    private readonly Counter _started = metrics.CreateCounter("edgegreen_deployment_retraining_started_total",
        "Retraining runs started by a deployment's policy.");

    protected override string What => "Retraining check";

    protected override Task PassAsync(CancellationToken cancellationToken) => RunOnceAsync(cancellationToken);

    /// <summary>Checks every policy at the clock's present; the runs started.</summary>
    public async Task<IReadOnlyList<string>> RunOnceAsync(CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            var started = new List<string>();
            foreach (var deployment in await store.ListAsync(cancellationToken))
            {
                if (deployment.Retraining is not null && await CheckAsync(deployment, cancellationToken) is { } runId)
                {
                    started.Add(runId);
                }
            }

            return started;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>
    /// Whether the drift trigger fires for these features: one it lists drifted, or the share of
    /// drifted features reached its threshold (half of them when it gives neither); why, or null.
    /// </summary>
    public static string? DriftFired(DriftTrigger trigger, IReadOnlyList<FeatureDrift> features)
    {
        ArgumentNullException.ThrowIfNull(trigger);
        ArgumentNullException.ThrowIfNull(features);
        if (features.FirstOrDefault(f => f.Drifted && trigger.Features.Contains(f.Name, StringComparer.Ordinal)) is { } listed)
        {
            return $"drift: feature '{listed.Name}' drifted over {DriftWindow}";
        }

        var threshold = trigger.Threshold ?? (trigger.Features.Count == 0 ? DriftTrigger.DefaultThreshold : null);
        if (threshold is null || features.Count == 0)
        {
            return null;
        }

        var share = (double)features.Count(f => f.Drifted) / features.Count;
        return share >= threshold ? $"drift: {share:P0} of features drifted over {DriftWindow} (threshold {threshold:P0})" : null;
    }

    /// <summary>One deployment's check; the run started, if any.</summary>
    private async Task<string?> CheckAsync(DeploymentRecord deployment, CancellationToken cancellationToken)
    {
        var policy = deployment.Retraining!;
        if (deployment.LastRetraining is { RunId: { } previous, Outcome: null } unsettled && await pipelines.GetRunAsync(previous, cancellationToken) is { } previousRun)
        {
            if (!previousRun.IsFinished)
            {
                return null;
            }

            // The run's outcome goes on the deployment (and out as its event) once; then the triggers are looked at again.
            var ended = await RecordOutcomeAsync(deployment, unsettled, previousRun, cancellationToken);
            if (ended is null)
            {
                return null;
            }

            deployment = ended;
        }

        var now = Clock.GetUtcNow();
        var seen = deployment.RetrainingWatermark ?? new RetrainingWatermark(now, new Dictionary<string, int>());
        var latest = new Dictionary<string, int>(seen.DatasetVersions, StringComparer.Ordinal);
        string? fired = null;
        foreach (var trigger in policy.Triggers)
        {
            var why = trigger switch
            {
                { Schedule: { } schedule } => RetrainingSchedule.OccurrenceBetween(schedule.Cron, seen.CheckedAt, now) is { } at
                    ? $"schedule: '{schedule.Cron}' came due at {at:O}" : null,
                { NewDatasetVersion: { } watched } => await NewVersionAsync(watched.Dataset, seen, latest, cancellationToken),
                { Drift: { } driftTrigger } => await DriftAsync(deployment.Name, driftTrigger, cancellationToken),
                _ => null,
            };
            fired ??= why;
        }

        var cooling = deployment.LastRetraining is { } last && now - last.StartedAt < policy.Cooldown;
        if (fired is not null && cooling)
        {
            // What fired stays unseen, so that it starts a run once the cooldown ends.
            return null;
        }

        var watermark = new RetrainingWatermark(now, latest);
        if (fired is null)
        {
            var news = !latest.OrderBy(p => p.Key).SequenceEqual(seen.DatasetVersions.OrderBy(p => p.Key));
            if (news || policy.Triggers.Any(t => t.Schedule is not null) || deployment.RetrainingWatermark is null)
            {
                await UpdateAsync(deployment, deployment with { RetrainingWatermark = watermark, Revision = deployment.Revision + 1 }, cancellationToken);
            }

            return null;
        }

        return await StartAsync(deployment, policy, fired, watermark, now, cancellationToken);
    }

    /// <summary>Records how the retraining run ended (with the models it made); the stored deployment, or null when another change got there first.</summary>
    private async Task<DeploymentRecord?> RecordOutcomeAsync(DeploymentRecord deployment, LastRetraining last, PipelineRun run, CancellationToken cancellationToken)
    {
        var outcome = EnumNames.Lower(run.Status);
        var models = run.Steps.Select(s => s.Outputs.GetValueOrDefault("model")).OfType<string>().Distinct(StringComparer.Ordinal).ToList();
        var message = $"Run {run.Id} of pipeline {run.Pipeline} {outcome}"
            + (run.StatusReason is { Length: > 0 } reason ? $": {reason}" : "")
            + (models.Count > 0 ? $"; it made {string.Join(", ", models)}" : "") + ".";
        var finished = deployment.WithEvent(new DeploymentEvent(Clock.GetUtcNow(), $"retraining-{outcome}", deployment.Current.Version, message))
            with { LastRetraining = last with { Outcome = outcome, FinishedAt = run.FinishedAt ?? Clock.GetUtcNow() }, Revision = deployment.Revision + 1 };
        return await UpdateAsync(deployment, finished, cancellationToken) ? finished : null;
    }

    private async Task<string?> NewVersionAsync(string dataset, RetrainingWatermark seen, Dictionary<string, int> latest, CancellationToken cancellationToken)
    {
        var versions = await datasets.ListVersionsAsync(dataset, cancellationToken);
        if (versions.Count == 0)
        {
            return null;
        }

        var newest = versions[^1].Version;
        latest[dataset] = newest;
        return newest > seen.DatasetVersions.GetValueOrDefault(dataset) ? $"newDatasetVersion: {dataset} version {newest}" : null;
    }

    private async Task<string?> DriftAsync(string deployment, DriftTrigger trigger, CancellationToken cancellationToken)
    {
        // No reference or no traffic yet: nothing to say about drift, so no run.
        var (report, _) = await drift.ComputeAsync(deployment, DriftWindow, null, null, cancellationToken);
        return report is null ? null : DriftFired(trigger, report.Features);
    }

    /// <summary>Creates the run, records its start, then starts it; a refusal is recorded as <c>retraining-failed</c> and counts for the cooldown.</summary>
    private async Task<string?> StartAsync(DeploymentRecord deployment, DeploymentRetraining policy, string trigger, RetrainingWatermark watermark,
        DateTimeOffset now, CancellationToken cancellationToken)
    {
        var request = new StartPipelineRunRequest(policy.Parameters.ToDictionary(p => p.Key, p => JsonSerializer.SerializeToElement(p.Value), StringComparer.Ordinal),
            Durations.Format(policy.Deadline), null);
        var (run, errors, notFound) = await runs.CreateAsync(policy.Pipeline, request, cancellationToken);
        var version = deployment.Current.Version;
        if (run is null)
        {
            var reason = notFound
                ? $"there is no pipeline '{policy.Pipeline}'"
                : string.Join(" ", errors.Select(e => $"{e.Key}: {string.Join(" ", e.Value)}"));
            await UpdateAsync(deployment, deployment.WithEvent(new DeploymentEvent(now, "retraining-failed", version,
                    $"Retraining on {trigger} was refused: {reason}"))
                with { LastRetraining = new LastRetraining(null, trigger, now), RetrainingWatermark = watermark, Revision = deployment.Revision + 1 }, cancellationToken);
            return null;
        }

        if (policy.CarbonBudgetGrams is { } budget)
        {
            run = run with { CarbonBudgetGrams = budget };
        }

        var recorded = deployment.WithEvent(new DeploymentEvent(now, "retraining-started", version,
                $"Started run {run.Id} of pipeline {policy.Pipeline} on {trigger}; due by {run.Deadline:O}."))
            with { LastRetraining = new LastRetraining(run.Id, trigger, now), RetrainingWatermark = watermark, Revision = deployment.Revision + 1 };
        if (!await UpdateAsync(deployment, recorded, cancellationToken))
        {
            return null;
        }

        var started = await runner.StartAsync(run, cancellationToken);
        _started.Inc();
        LogStarted(deployment.Name, started.Id, policy.Pipeline, trigger);
        if (started.Status == PipelineRunStatus.Failed && await store.GetAsync(deployment.Name, cancellationToken) is { } current)
        {
            await UpdateAsync(current, current.WithEvent(new DeploymentEvent(Clock.GetUtcNow(), "retraining-failed", version,
                $"Run {started.Id} of pipeline {policy.Pipeline} was refused: {started.StatusReason}")) with { Revision = current.Revision + 1 }, cancellationToken);
        }

        return started.Id;
    }

    /// <summary>Stores the change and publishes its events; false when another change got there first (checked again next pass).</summary>
    private async Task<bool> UpdateAsync(DeploymentRecord before, DeploymentRecord after, CancellationToken cancellationToken)
    {
        if (!await store.UpdateAsync(after, cancellationToken))
        {
            LogChangedMeanwhile(before.Name);
            return false;
        }

        events.PublishAdded(before, after);
        return true;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Deployment {Deployment} started retraining run {RunId} of pipeline {Pipeline} on {Trigger}")]
    private partial void LogStarted(string deployment, string runId, string pipeline, string trigger);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Deployment {Deployment} changed during the retraining check; it is checked again next pass")]
    private partial void LogChangedMeanwhile(string deployment);
}
