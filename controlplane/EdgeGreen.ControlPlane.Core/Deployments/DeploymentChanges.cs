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

public sealed record PutDeploymentRequest(string? Model, DeploymentTargetRequest? Target, int? Threads, DeploymentStrategyRequest? Strategy,
    DeploymentMonitoringRequest? Monitoring = null);

/// <summary>
/// Creates and changes deployments (the REST API's <c>PUT</c> and a pipeline's <c>deploy</c> step):
/// checks the request, resolves the model to a <c>READY</c> version, starts a rollout when a
/// step-by-step strategy gets a new version, and publishes what happened.
/// </summary>
public sealed class DeploymentChanges(IDeploymentStore store, ModelRegistry registry, DeploymentEvents events, TimeProvider timeProvider)
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

}
