using System.Text.Json;
using EdgeGreen.ControlPlane.Core.Jobs;
using EdgeGreen.ControlPlane.Core.Registry;
using EdgeGreen.ControlPlane.Core.Storage;
using EdgeGreen.Shared;
using EdgeGreen.Shared.Jobs;

namespace EdgeGreen.ControlPlane.Core.Deployments;

public sealed record DeploymentTargetRequest(Dictionary<string, string>? AgentLabels, List<string>? Zones, List<string>? Agents);

public sealed record RolloutStepRequest(int? Percent, string? Pause);

public sealed record RolloutAnalysisRequest(long? MinRequests, double? MaxErrorRate, double? MaxP99LatencyMs, double? MaxEnergyPer1kInferencesRatio);

public sealed record DeploymentStrategyRequest(string? Type, List<RolloutStepRequest>? Steps, RolloutAnalysisRequest? Analysis);

public sealed record DeploymentMonitoringRequest(bool? Enabled, double? SampleRate, int? SampleSize, bool? LogPredictions, string? Window);

public sealed record DriftTriggerRequest(List<string>? Features, double? Threshold);

public sealed record NewDatasetVersionTriggerRequest(string? Dataset);

public sealed record ScheduleTriggerRequest(string? Cron);

public sealed record RetrainingTriggerRequest(DriftTriggerRequest? Drift, NewDatasetVersionTriggerRequest? NewDatasetVersion, ScheduleTriggerRequest? Schedule);

public sealed record DeploymentRetrainingRequest(string? Pipeline, Dictionary<string, JsonElement>? Parameters, string? Deadline, string? Cooldown,
    double? CarbonBudgetGrams, List<RetrainingTriggerRequest>? Triggers);

public sealed record PutDeploymentRequest(string? Model, DeploymentTargetRequest? Target, int? Threads, DeploymentStrategyRequest? Strategy,
    DeploymentMonitoringRequest? Monitoring = null, DeploymentRetrainingRequest? Retraining = null);

/// <summary>
/// Creates and changes deployments (the REST API's <c>PUT</c> and a pipeline's <c>deploy</c> step):
/// checks the request, resolves the model to a <c>READY</c> version, starts a rollout when a
/// step-by-step strategy gets a new version, and publishes what happened.
/// </summary>
public sealed class DeploymentChanges(IDeploymentStore store, ModelRegistry registry, DeploymentEvents events, IPipelineStore pipelines, IDatasetStore datasets,
    TimeProvider timeProvider)
{
    private const int MaxThreads = 256;
    private const int MaxTargetEntries = 256;
    private const int MaxSteps = 20;
    private static readonly TimeSpan MaxPause = TimeSpan.FromDays(1);

    /// <summary>The stored deployment and whether it was created; errors by field (nothing stored); or neither when another change got there first.</summary>
    public async Task<(DeploymentRecord? Deployment, bool Created, Dictionary<string, string[]>? Errors)> PutAsync(string name, PutDeploymentRequest request,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var errors = new Dictionary<string, string[]>();
        if (!ResourceNames.IsValid(name))
        {
            errors["name"] = [ResourceNames.Rule];
        }

        var target = new DeploymentTarget(request.Target?.AgentLabels ?? [], request.Target?.Zones ?? [], request.Target?.Agents ?? []);
        if (target.Agents.Count + target.Zones.Count + target.AgentLabels.Count == 0)
        {
            errors["target"] = ["target must name agents, zones or agentLabels: a deployment on no agent serves nothing."];
        }
        else if (target.Agents.Count > MaxTargetEntries || target.Zones.Count > MaxTargetEntries || target.AgentLabels.Count > MaxTargetEntries)
        {
            errors["target"] = [$"target may name at most {MaxTargetEntries} agents, zones and labels each."];
        }

        var threads = request.Threads ?? 0;
        if (threads is < 0 or > MaxThreads)
        {
            errors["threads"] = [$"threads must be from 0 (the agents' default) to {MaxThreads}."];
        }

        var strategy = Strategy(request.Strategy, errors);
        var monitoring = Monitoring(request.Monitoring, errors);
        var retraining = request.Retraining is null ? null : await RetrainingAsync(request.Retraining, errors, cancellationToken);

        var version = request.Model is { Length: > 0 } reference ? await registry.ResolveAsync(reference, cancellationToken) : null;
        if (request.Model is not { Length: > 0 })
        {
            errors["model"] = ["model is required: models:/name/N or models:/name@alias."];
        }
        else if (version is not { Status: ModelVersionStatus.Ready, Sha256: not null })
        {
            errors["model"] = [version is null ? $"'{request.Model}' names no model version; see GET /api/v1/models." : $"{version.Name} version {version.Version} is {version.Status.Name()}, not READY."];
        }

        if (errors.Count > 0)
        {
            return (null, false, errors);
        }

        var now = timeProvider.GetUtcNow();
        var current = new DeployedVersion(version!.Name, version.Version, version.Sha256!);
        var existing = await store.GetAsync(name, cancellationToken);
        if (existing is null)
        {
            var created = new DeploymentRecord(name, request.Model!, target, threads, current, null, now, now, 0) { Strategy = strategy!, Monitoring = monitoring! }
                .WithRetraining(retraining, await WatermarkAsync(null, retraining, now, cancellationToken))
                .WithEvent(new DeploymentEvent(now, "created", current.Version, $"Serving {current.Model} version {current.Version}."));
            if (!await store.AddAsync(created, cancellationToken))
            {
                return (null, false, null);
            }

            events.PublishAdded(null, created);
            return (created, true, null);
        }

        var changed = existing.Current != current;
        if (changed && existing.RunningExperiment is { } experiment)
        {
            return (null, false, new Dictionary<string, string[]>
            {
                ["model"] = [$"Experiment '{experiment.Name}' splits this deployment's traffic; conclude it (POST /api/v1/experiments/{experiment.Name}/conclude) before changing the model."],
            });
        }

        // A new version during a rollout replaces the one rolling out; the stable version stays the one to go back to.
        var stable = existing.Rollout is not null ? existing.Previous ?? existing.Current : existing.Current;
        var stepwise = changed && strategy!.Type != "all";
        var updated = existing with
        {
            ModelReference = request.Model!,
            Target = target,
            Threads = threads,
            Strategy = strategy!,
            Monitoring = monitoring!,
            Current = current,
            Previous = changed ? stable : existing.Previous,
            Rollout = stepwise ? new Rollout(0, now, false, new Dictionary<string, RolloutBaseline>()) : changed ? null : existing.Rollout,
            RolledBackReason = changed ? null : existing.RolledBackReason,
            UpdatedAt = now,
            Revision = existing.Revision + 1,
        };
        if (changed)
        {
            updated = updated.WithEvent(new DeploymentEvent(now, stepwise ? "rollout-started" : "updated", current.Version, stepwise
                ? $"Rolling out {current.Model} version {current.Version} in place of version {stable.Version}: {strategy!.Steps[0].Percent} % of the target agents first."
                : $"Serving {current.Model} version {current.Version} in place of version {existing.Current.Version}."));
        }

        updated = updated.WithRetraining(retraining, await WatermarkAsync(existing.RetrainingWatermark, retraining, now, cancellationToken));
        if (!await store.UpdateAsync(updated, cancellationToken))
        {
            return (null, false, null);
        }

        events.PublishAdded(existing, updated);
        return (updated, false, null);
    }

    /// <summary>Summary windows agents may use: whole divisors of an hour, so that every window falls inside one hour of the store's sums.</summary>
    private static readonly TimeSpan[] Windows = [.. new[] { 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600 }.Select(s => TimeSpan.FromSeconds(s))];

    private const int MaxSampleSize = 1000;

    /// <summary>The monitoring asked for, with defaults (on; 1 % of requests sampled, at most 20 per window; predictions kept; one-minute windows).</summary>
    private static DeploymentMonitoring? Monitoring(DeploymentMonitoringRequest? request, Dictionary<string, string[]> errors)
    {
        var defaults = DeploymentMonitoring.Default;
        var rate = request?.SampleRate ?? defaults.SampleRate;
        var size = request?.SampleSize ?? defaults.SampleSize;
        var window = defaults.Window;
        if (!double.IsFinite(rate) || rate is < 0 or > 1)
        {
            errors["monitoring.sampleRate"] = ["monitoring.sampleRate must be from 0 (keep no raw requests) to 1."];
        }

        if (size is < 0 or > MaxSampleSize)
        {
            errors["monitoring.sampleSize"] = [$"monitoring.sampleSize must be from 0 to {MaxSampleSize} requests per window."];
        }

        if (request?.Window is { } text && !(Durations.TryParse(text, out window) && Windows.Contains(window)))
        {
            errors["monitoring.window"] = ["monitoring.window must be one of PT10S, PT15S, PT30S, PT1M, PT2M, PT5M, PT10M, PT15M, PT30M, PT1H."];
        }

        return errors.Keys.Any(k => k.StartsWith("monitoring.", StringComparison.Ordinal))
            ? null
            : new DeploymentMonitoring(request?.Enabled ?? defaults.Enabled, rate, size, request?.LogPredictions ?? defaults.LogPredictions, window);
    }

    /// <summary>The strategy asked for, with defaults (rolling: 25, 50, 100 %; canary: 10, 100 %; a minute's pause; at most 5 % errors).</summary>
    private static DeploymentStrategy? Strategy(DeploymentStrategyRequest? request, Dictionary<string, string[]> errors)
    {
        var type = request?.Type ?? "all";
        if (type is not ("all" or "canary" or "rolling"))
        {
            errors["strategy.type"] = ["strategy.type must be all, canary or rolling."];
            return null;
        }

        if (type == "all")
        {
            return DeploymentStrategy.All;
        }

        var steps = new List<RolloutStep>();
        var asked = request?.Steps ?? (type == "canary"
            ? [new RolloutStepRequest(10, "PT1M"), new RolloutStepRequest(100, "PT1M")]
            : [new RolloutStepRequest(25, "PT1M"), new RolloutStepRequest(50, "PT1M"), new RolloutStepRequest(100, "PT1M")]);
        foreach (var step in asked)
        {
            var pause = TimeSpan.Zero;
            if (step.Percent is not (>= 1 and <= 100) || (steps.Count > 0 && step.Percent <= steps[^1].Percent))
            {
                errors["strategy.steps"] = ["each step's percent is 1 to 100, larger than the step before."];
            }
            else if (step.Pause is { } text && !(EdgeGreen.Shared.Durations.TryParse(text, out pause) && pause >= TimeSpan.Zero && pause <= MaxPause))
            {
                errors["strategy.steps"] = ["each step's pause is an ISO 8601 duration of at most a day."];
            }
            else
            {
                steps.Add(new RolloutStep(step.Percent.Value, pause));
            }
        }

        if (steps.Count is 0 or > MaxSteps || steps[^1].Percent != 100)
        {
            errors.TryAdd("strategy.steps", [$"1 to {MaxSteps} steps, the last at 100 percent."]);
        }

        var analysis = request?.Analysis;
        if (analysis is { MinRequests: < 0 } or { MaxErrorRate: not null and (< 0 or > 1) } or { MaxP99LatencyMs: not null and <= 0 } or { MaxEnergyPer1kInferencesRatio: not null and <= 0 })
        {
            errors["strategy.analysis"] = ["minRequests must not be negative, maxErrorRate is 0 to 1, and the latency and energy limits are positive."];
        }

        return errors.Count > 0 ? null : new DeploymentStrategy(type, steps,
            new RolloutAnalysis(analysis?.MinRequests ?? 0, analysis is null ? 0.05 : analysis.MaxErrorRate, analysis?.MaxP99LatencyMs, analysis?.MaxEnergyPer1kInferencesRatio));
    }

    private const int MaxTriggers = 10;
    private const int MaxRetrainingParameters = 100;
    private static readonly TimeSpan MinRetrainingDeadline = TimeSpan.FromHours(1);
    private static readonly TimeSpan MaxRetrainingDeadline = TimeSpan.FromDays(7);
    private static readonly TimeSpan MinCooldown = TimeSpan.FromHours(1);

    /// <summary>The retraining policy asked for, with defaults (a day's deadline and cooldown); null with errors under <c>retraining.*</c>.</summary>
    private async Task<DeploymentRetraining?> RetrainingAsync(DeploymentRetrainingRequest request, Dictionary<string, string[]> errors, CancellationToken cancellationToken)
    {
        var before = errors.Count;
        if (request.Pipeline is not { Length: > 0 } pipeline)
        {
            errors["retraining.pipeline"] = ["retraining.pipeline is required: the pipeline that retrains the model."];
            pipeline = "";
        }
        else if ((await pipelines.ListVersionsAsync(pipeline, cancellationToken)).Count == 0)
        {
            errors["retraining.pipeline"] = [$"There is no pipeline '{pipeline}'; see GET /api/v1/pipelines."];
        }

        var parameters = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (key, value) in request.Parameters ?? [])
        {
            if (JobSubmissions.ScalarText(value) is { } text)
            {
                parameters[key] = text;
            }
            else
            {
                errors[$"retraining.parameters.{key}"] = [JobSubmissions.ScalarRule];
            }
        }

        if (parameters.Count > MaxRetrainingParameters)
        {
            errors["retraining.parameters"] = [$"at most {MaxRetrainingParameters} parameters."];
        }

        var deadline = TimeSpan.FromDays(1);
        if (request.Deadline is { } deadlineText && !(Durations.TryParse(deadlineText, out deadline) && deadline >= MinRetrainingDeadline && deadline <= MaxRetrainingDeadline))
        {
            errors["retraining.deadline"] = ["retraining.deadline must be an ISO 8601 duration from PT1H to P7D."];
        }

        var cooldown = TimeSpan.FromDays(1);
        if (request.Cooldown is { } cooldownText && !(Durations.TryParse(cooldownText, out cooldown) && cooldown >= MinCooldown))
        {
            errors["retraining.cooldown"] = ["retraining.cooldown must be an ISO 8601 duration of at least PT1H."];
        }

        if (request.CarbonBudgetGrams is { } budget && !(double.IsFinite(budget) && budget > 0))
        {
            errors["retraining.carbonBudgetGrams"] = ["retraining.carbonBudgetGrams must be a positive number of grams."];
        }

        var triggers = new List<RetrainingTrigger>();
        if (request.Triggers is not { Count: >= 1 and <= MaxTriggers } asked)
        {
            errors["retraining.triggers"] = [$"retraining.triggers must list 1 to {MaxTriggers} triggers."];
            asked = [];
        }

        for (var i = 0; i < asked.Count; i++)
        {
            if (await TriggerAsync(asked[i], $"retraining.triggers[{i}]", errors, cancellationToken) is { } trigger)
            {
                triggers.Add(trigger);
            }
        }

        return errors.Count > before ? null : new DeploymentRetraining(pipeline, parameters, deadline, cooldown, request.CarbonBudgetGrams, triggers);
    }

    private async Task<RetrainingTrigger?> TriggerAsync(RetrainingTriggerRequest asked, string field, Dictionary<string, string[]> errors, CancellationToken cancellationToken)
    {
        if (new object?[] { asked.Drift, asked.NewDatasetVersion, asked.Schedule }.Count(t => t is not null) != 1)
        {
            errors[field] = [$"{field} must be exactly one of drift, newDatasetVersion and schedule."];
            return null;
        }

        if (asked.Drift is { } drift)
        {
            if (drift.Threshold is { } share && !(double.IsFinite(share) && share > 0 && share <= 1))
            {
                errors[$"{field}.drift.threshold"] = ["drift.threshold is the share of drifted features that fires, above 0 and at most 1."];
                return null;
            }

            return new RetrainingTrigger(new DriftTrigger(drift.Features ?? [], drift.Threshold), null, null);
        }

        if (asked.NewDatasetVersion is { } dataset)
        {
            if (dataset.Dataset is not { Length: > 0 } name || (await datasets.ListVersionsAsync(name, cancellationToken)).Count == 0)
            {
                errors[$"{field}.newDatasetVersion.dataset"] = [$"There is no dataset '{dataset.Dataset}'; see GET /api/v1/datasets."];
                return null;
            }

            return new RetrainingTrigger(null, new NewDatasetVersionTrigger(name), null);
        }

        var cron = asked.Schedule!.Cron;
        if (!RetrainingSchedule.TryParse(cron, out _))
        {
            errors[$"{field}.schedule.cron"] = [$"'{cron}' is not a five-field cron expression (minute hour day-of-month month day-of-week, UTC)."];
            return null;
        }

        return new RetrainingTrigger(null, null, new ScheduleTrigger(cron!));
    }

    /// <summary>
    /// What a new or changed policy has seen: the watched datasets' versions as they stand now, so
    /// that only a version added after the policy was set starts a run (kept for datasets already watched).
    /// </summary>
    private async Task<RetrainingWatermark?> WatermarkAsync(RetrainingWatermark? existing, DeploymentRetraining? retraining, DateTimeOffset now,
        CancellationToken cancellationToken)
    {
        if (retraining is null)
        {
            return null;
        }

        var versions = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var dataset in retraining.Triggers.Select(t => t.NewDatasetVersion?.Dataset).OfType<string>().Distinct(StringComparer.Ordinal))
        {
            versions[dataset] = existing?.DatasetVersions.TryGetValue(dataset, out var seen) == true
                ? seen
                : (await datasets.ListVersionsAsync(dataset, cancellationToken)) is { Count: > 0 } all ? all[^1].Version : 0;
        }

        return new RetrainingWatermark(existing?.CheckedAt ?? now, versions);
    }
}
