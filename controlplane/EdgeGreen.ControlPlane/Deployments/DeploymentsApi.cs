using EdgeGreen.ControlPlane.Cluster;
using EdgeGreen.ControlPlane.Core.Deployments;
using EdgeGreen.ControlPlane.Security;
using EdgeGreen.Shared.Jobs;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace EdgeGreen.ControlPlane.Deployments;

public sealed record DeploymentTargetRequest(Dictionary<string, string>? AgentLabels, List<string>? Zones, List<string>? Agents);

public sealed record RolloutStepRequest(int? Percent, string? Pause);

public sealed record RolloutAnalysisRequest(long? MinRequests, double? MaxErrorRate, double? MaxP99LatencyMs, double? MaxEnergyPer1kInferencesRatio);

public sealed record DeploymentStrategyRequest(string? Type, List<RolloutStepRequest>? Steps, RolloutAnalysisRequest? Analysis);

public sealed record PutDeploymentRequest(string? Model, DeploymentTargetRequest? Target, int? Threads, DeploymentStrategyRequest? Strategy);

public sealed record DeploymentAgentResponse(
    string AgentId,
    int? Version,
    string State,
    string? Error,
    long Requests,
    long Errors,
    double? P99LatencyMs,
    double? EnergyPer1kInferencesJoules,
    DateTimeOffset? ReportedAt);

public sealed record DeploymentResponse(
    string Name,
    string Model,
    string Status,
    string? StatusReason,
    int CurrentVersion,
    int? PreviousVersion,
    int? Step,
    string ModelName,
    string Sha256,
    DeploymentTarget Target,
    int Threads,
    DeploymentStrategy Strategy,
    IReadOnlyList<DeploymentAgentResponse> Agents,
    IReadOnlyList<DeploymentEvent> History,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt);

public static class DeploymentsApi
{
    private const int MaxThreads = 256;
    private const int MaxTargetEntries = 256;

    private const int MaxSteps = 20;
    private static readonly TimeSpan MaxPause = TimeSpan.FromDays(1);

    /// <summary>Fleet deployments: desired state answered with every agent heartbeat, rollouts analysed on the leader (<c>EdgeGreen:Deployments</c>).</summary>
    public static IHostApplicationBuilder AddDeployments(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<DeploymentOptions>().BindConfiguration(DeploymentOptions.SectionName)
            .Validate(o => o.AnalysisInterval >= TimeSpan.FromMilliseconds(10) && o.AnalysisInterval <= TimeSpan.FromHours(1),
                "EdgeGreen:Deployments:AnalysisInterval must be between 00:00:00.010 and 01:00:00.")
            .ValidateOnStart();
        builder.Services.AddSingleton<IDeploymentEventSink, WebhookDeploymentEvents>();
        builder.Services.AddSingleton<DeploymentEvents>();
        builder.Services.AddSingleton<DeploymentCatalog>();
        builder.Services.AddSingleton<DeploymentObservations>();
        builder.Services.AddSingleton<DeploymentRollouts>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<DeploymentRollouts>());
        return builder;
    }

    public static IEndpointRouteBuilder MapDeploymentsApi(this IEndpointRouteBuilder routes)
    {
        var deployments = routes.MapGroup("/api/v1/deployments").RequireAuthorization(Policies.Viewer).WithTags("Deployments");
        deployments.MapPut("/{name}", PutAsync).WithName("PutDeployment").RequireAuthorization(Policies.Operator).RunOnLeader()
            .ProducesValidationProblem().ProducesProblem(StatusCodes.Status409Conflict)
            .WithSummary("Creates (201) or changes (200) a deployment: every target agent serves the model under the deployment's name until it changes.");
        deployments.MapGet("/", ListAsync).WithName("ListDeployments").RunOnLeader().WithSummary("Every deployment with what its agents report.");
        deployments.MapGet("/{name}", GetAsync).WithName("GetDeployment").RunOnLeader().ProducesProblem(StatusCodes.Status404NotFound)
            .WithSummary("One deployment: its versions, what each target agent serves and measured, and its history.");
        deployments.MapPost("/{name}/rollback", RollbackAsync).WithName("RollbackDeployment").RequireAuthorization(Policies.Operator).RunOnLeader()
            .ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict)
            .WithSummary("Goes back to the previous version on every target agent (ending a rollout in progress).");
        deployments.MapPost("/{name}/pause", PauseAsync).WithName("PauseDeployment").RequireAuthorization(Policies.Operator).RunOnLeader()
            .ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict)
            .WithSummary("Holds a rollout at its step: no analysis, no promotion, no rollback until resumed.");
        deployments.MapPost("/{name}/resume", ResumeAsync).WithName("ResumeDeployment").RequireAuthorization(Policies.Operator).RunOnLeader()
            .ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict)
            .WithSummary("Resumes a paused rollout; its step starts again.");
        deployments.MapDelete("/{name}", DeleteAsync).WithName("DeleteDeployment").RequireAuthorization(Policies.Operator).RunOnLeader()
            .ProducesProblem(StatusCodes.Status404NotFound)
            .WithSummary("Removes a deployment: its agents stop serving it at their next heartbeat.");
        return routes;
    }

    public static async Task<Results<Created<DeploymentResponse>, Ok<DeploymentResponse>, ValidationProblem, ProblemHttpResult>> PutAsync(
        string name, PutDeploymentRequest request, IDeploymentStore store, ModelRegistry registry, IAgentStore agents, DeploymentObservations observations, DeploymentEvents events,
        IOptions<AgentsOptions> agentsOptions, TimeProvider timeProvider, CancellationToken cancellationToken)
    {
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
            return TypedResults.ValidationProblem(errors);
        }

        var now = timeProvider.GetUtcNow();
        var current = new DeployedVersion(version!.Name, version.Version, version.Sha256!);
        var existing = await store.GetAsync(name, cancellationToken);
        if (existing is null)
        {
            var created = new DeploymentRecord(name, request.Model!, target, threads, current, null, now, now, 0) { Strategy = strategy! }
                .WithEvent(new DeploymentEvent(now, "created", current.Version, $"Serving {current.Model} version {current.Version}."));
            if (!await store.AddAsync(created, cancellationToken))
            {
                return Conflict(name);
            }

            events.PublishAdded(null, created);

            return TypedResults.Created($"/api/v1/deployments/{Uri.EscapeDataString(name)}",
                await ResponseAsync(created, agents, observations, agentsOptions.Value, now, cancellationToken));
        }

        var changed = existing.Current != current;
        // A new version during a rollout replaces the one rolling out; the stable version stays the one to go back to.
        var stable = existing.Rollout is not null ? existing.Previous ?? existing.Current : existing.Current;
        var stepwise = changed && strategy!.Type != "all";
        var updated = existing with
        {
            ModelReference = request.Model!,
            Target = target,
            Threads = threads,
            Strategy = strategy!,
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
            return Conflict(name);
        }

        events.PublishAdded(existing, updated);

        return TypedResults.Ok(await ResponseAsync(updated, agents, observations, agentsOptions.Value, now, cancellationToken));
    }

    public static async Task<Ok<IReadOnlyList<DeploymentResponse>>> ListAsync(IDeploymentStore store, IAgentStore agents, DeploymentObservations observations,
        IOptions<AgentsOptions> agentsOptions, TimeProvider timeProvider, CancellationToken cancellationToken)
    {
        var responses = new List<DeploymentResponse>();
        foreach (var deployment in await store.ListAsync(cancellationToken))
        {
            responses.Add(await ResponseAsync(deployment, agents, observations, agentsOptions.Value, timeProvider.GetUtcNow(), cancellationToken));
        }

        return TypedResults.Ok<IReadOnlyList<DeploymentResponse>>(responses);
    }

    public static async Task<Results<Ok<DeploymentResponse>, ProblemHttpResult>> GetAsync(string name, IDeploymentStore store, IAgentStore agents,
        DeploymentObservations observations, IOptions<AgentsOptions> agentsOptions, TimeProvider timeProvider, CancellationToken cancellationToken) =>
        await store.GetAsync(name, cancellationToken) is { } deployment
            ? TypedResults.Ok(await ResponseAsync(deployment, agents, observations, agentsOptions.Value, timeProvider.GetUtcNow(), cancellationToken))
            : NotFound(name);

    public static Task<Results<Ok<DeploymentResponse>, ProblemHttpResult>> RollbackAsync(string name, IDeploymentStore store, IAgentStore agents,
        DeploymentObservations observations, DeploymentRollouts rollouts, DeploymentEvents events, IOptions<AgentsOptions> agentsOptions, TimeProvider timeProvider,
        CancellationToken cancellationToken) =>
        ChangeAsync(name, store, agents, observations, events, agentsOptions, timeProvider, deployment => deployment.Previous is null
            ? $"Deployment '{name}' has no previous version to go back to."
            : rollouts.RollBack(deployment, "rolled back by a user"), cancellationToken);

    public static Task<Results<Ok<DeploymentResponse>, ProblemHttpResult>> PauseAsync(string name, IDeploymentStore store, IAgentStore agents,
        DeploymentObservations observations, DeploymentEvents events, IOptions<AgentsOptions> agentsOptions, TimeProvider timeProvider, CancellationToken cancellationToken) =>
        ChangeAsync(name, store, agents, observations, events, agentsOptions, timeProvider, deployment => deployment.Rollout is not { Paused: false } rollout
            ? $"Deployment '{name}' has no rollout in progress to pause."
            : deployment.WithEvent(new DeploymentEvent(timeProvider.GetUtcNow(), "paused", deployment.Current.Version, $"Paused at step {rollout.Step + 1}."))
                with { Rollout = rollout with { Paused = true }, Revision = deployment.Revision + 1 }, cancellationToken);

    public static Task<Results<Ok<DeploymentResponse>, ProblemHttpResult>> ResumeAsync(string name, IDeploymentStore store, IAgentStore agents,
        DeploymentObservations observations, DeploymentEvents events, IOptions<AgentsOptions> agentsOptions, TimeProvider timeProvider, CancellationToken cancellationToken) =>
        ChangeAsync(name, store, agents, observations, events, agentsOptions, timeProvider, deployment => deployment.Rollout is not { Paused: true } rollout
            ? $"Deployment '{name}' has no paused rollout to resume."
            : deployment.WithEvent(new DeploymentEvent(timeProvider.GetUtcNow(), "resumed", deployment.Current.Version, $"Resumed at step {rollout.Step + 1}."))
                with { Rollout = rollout with { Paused = false, StepStartedAt = timeProvider.GetUtcNow() }, Revision = deployment.Revision + 1 }, cancellationToken);

    /// <summary>Applies a change that yields the new record, or the reason it is not possible now (409).</summary>
    private static async Task<Results<Ok<DeploymentResponse>, ProblemHttpResult>> ChangeAsync(string name, IDeploymentStore store, IAgentStore agents,
        DeploymentObservations observations, DeploymentEvents events, IOptions<AgentsOptions> agentsOptions, TimeProvider timeProvider,
        Func<DeploymentRecord, object> change, CancellationToken cancellationToken)
    {
        if (await store.GetAsync(name, cancellationToken) is not { } deployment)
        {
            return NotFound(name);
        }

        switch (change(deployment))
        {
            case string refusal:
                return TypedResults.Problem(statusCode: StatusCodes.Status409Conflict, title: "Not possible now", detail: refusal);
            case DeploymentRecord changed when await store.UpdateAsync(changed, cancellationToken):
                events.PublishAdded(deployment, changed);
                return TypedResults.Ok(await ResponseAsync(changed, agents, observations, agentsOptions.Value, timeProvider.GetUtcNow(), cancellationToken));
            default:
                return Conflict(name);
        }
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

    public static async Task<Results<NoContent, ProblemHttpResult>> DeleteAsync(string name, IDeploymentStore store, CancellationToken cancellationToken) =>
        await store.DeleteAsync(name, cancellationToken) ? TypedResults.NoContent() : NotFound(name);

    /// <summary>
    /// The deployment with each online target agent's report: <c>healthy</c> when every one serves
    /// the current version, <c>degraded</c> when one failed to load it, else <c>progressing</c>.
    /// Energy per 1,000 inferences is the agent's attributed serving energy over its inferences.
    /// </summary>
    private static async Task<DeploymentResponse> ResponseAsync(DeploymentRecord deployment, IAgentStore agents, DeploymentObservations observations,
        AgentsOptions agentsOptions, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var reports = observations.For(deployment.Name).ToLookup(r => r.AgentId, StringComparer.Ordinal);
        var targets = (await agents.ListAsync(cancellationToken))
            .Where(a => deployment.Target.Includes(a.Id, a.EffectiveZone, a.Labels) && a.LastHeartbeatAt is { } seen && now - seen <= agentsOptions.OfflineAfter)
            .ToList();
        var rows = new List<DeploymentAgentResponse>();
        foreach (var agent in targets)
        {
            // The current version's report, else whatever the agent still serves (the previous version while it loads).
            var mine = reports[agent.Id].ToList();
            var report = mine.FirstOrDefault(r => r.Served.Version == deployment.Current.Version);
            if (report.Served is null)
            {
                report = mine.FirstOrDefault();
            }

            if (report.Served is not { } s)
            {
                rows.Add(new DeploymentAgentResponse(agent.Id, null, "pending", null, 0, 0, null, null, null));
                continue;
            }

            rows.Add(new DeploymentAgentResponse(agent.Id, s.Version, s.State, string.IsNullOrEmpty(s.Error) ? null : s.Error, (long)s.Requests, (long)s.FailedRequests,
                s.Requests > 0 ? s.P99LatencyMs : null, s.Inferences > 0 ? s.EnergyJoules / s.Inferences * 1000 : null, report.ReportedAt));
        }

        var status = deployment.Rollout is { Paused: true } ? "paused"
            : deployment.Rollout is not null ? "progressing"
            : deployment.RolledBackReason is not null ? "rolled-back"
            : rows.Any(r => r.State == "failed") ? "degraded"
            : rows.Count > 0 && rows.All(r => r.State == "serving" && r.Version == deployment.Current.Version) ? "healthy"
            : "progressing";
        return new DeploymentResponse(deployment.Name, deployment.ModelReference, status, deployment.RolledBackReason ?? deployment.Rollout?.Waiting,
            deployment.Current.Version, deployment.Previous?.Version, deployment.Rollout is { } r ? r.Step + 1 : null,
            deployment.Current.Model, deployment.Current.Sha256, deployment.Target, deployment.Threads, deployment.Strategy, rows, deployment.History,
            deployment.CreatedAt, deployment.UpdatedAt);
    }

    private static ProblemHttpResult NotFound(string name) =>
        TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "Not found", detail: $"There is no deployment '{name}'.");

    private static ProblemHttpResult Conflict(string name) =>
        TypedResults.Problem(statusCode: StatusCodes.Status409Conflict, title: "Changed meanwhile", detail: $"Deployment '{name}' was changed by another request; try again.");
}
