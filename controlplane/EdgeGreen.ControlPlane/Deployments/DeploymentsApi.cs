using EdgeGreen.ControlPlane.Cluster;
using EdgeGreen.ControlPlane.Core.Deployments;
using EdgeGreen.ControlPlane.Security;
using EdgeGreen.Shared.Jobs;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace EdgeGreen.ControlPlane.Deployments;

public sealed record DeploymentTargetRequest(Dictionary<string, string>? AgentLabels, List<string>? Zones, List<string>? Agents);

public sealed record DeploymentStrategyRequest(string? Type);

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
    int CurrentVersion,
    int? PreviousVersion,
    string ModelName,
    string Sha256,
    DeploymentTarget Target,
    int Threads,
    string Strategy,
    IReadOnlyList<DeploymentAgentResponse> Agents,
    IReadOnlyList<DeploymentEvent> History,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt);

public static class DeploymentsApi
{
    private const int MaxThreads = 256;
    private const int MaxTargetEntries = 256;

    /// <summary>Fleet deployments: desired state answered with every agent heartbeat.</summary>
    public static IHostApplicationBuilder AddDeployments(this IHostApplicationBuilder builder)
    {
        builder.Services.AddSingleton<DeploymentCatalog>();
        builder.Services.AddSingleton<DeploymentObservations>();
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
        deployments.MapDelete("/{name}", DeleteAsync).WithName("DeleteDeployment").RequireAuthorization(Policies.Operator).RunOnLeader()
            .ProducesProblem(StatusCodes.Status404NotFound)
            .WithSummary("Removes a deployment: its agents stop serving it at their next heartbeat.");
        return routes;
    }

    public static async Task<Results<Created<DeploymentResponse>, Ok<DeploymentResponse>, ValidationProblem, ProblemHttpResult>> PutAsync(
        string name, PutDeploymentRequest request, IDeploymentStore store, ModelRegistry registry, IAgentStore agents, DeploymentObservations observations,
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

        if (request.Strategy?.Type is { } strategy && strategy != "all")
        {
            errors["strategy.type"] = [$"'{strategy}' is not available yet: a deployment changes on all its agents at once (type 'all')."];
        }

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
            var created = new DeploymentRecord(name, request.Model!, target, threads, current, null, now, now, 0)
                .WithEvent(new DeploymentEvent(now, "created", current.Version, $"Serving {current.Model} version {current.Version}."));
            if (!await store.AddAsync(created, cancellationToken))
            {
                return Conflict(name);
            }

            return TypedResults.Created($"/api/v1/deployments/{Uri.EscapeDataString(name)}",
                await ResponseAsync(created, agents, observations, agentsOptions.Value, now, cancellationToken));
        }

        var changed = existing.Current != current;
        var updated = existing with
        {
            ModelReference = request.Model!,
            Target = target,
            Threads = threads,
            Current = current,
            Previous = changed ? existing.Current : existing.Previous,
            UpdatedAt = now,
            Revision = existing.Revision + 1,
        };
        if (changed)
        {
            updated = updated.WithEvent(new DeploymentEvent(now, "updated", current.Version,
                $"Serving {current.Model} version {current.Version} in place of version {existing.Current.Version}."));
        }

        if (!await store.UpdateAsync(updated, cancellationToken))
        {
            return Conflict(name);
        }

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

        var status = rows.Any(r => r.State == "failed") ? "degraded"
            : rows.Count > 0 && rows.All(r => r.State == "serving" && r.Version == deployment.Current.Version) ? "healthy"
            : "progressing";
        return new DeploymentResponse(deployment.Name, deployment.ModelReference, status, deployment.Current.Version, deployment.Previous?.Version,
            deployment.Current.Model, deployment.Current.Sha256, deployment.Target, deployment.Threads, "all", rows, deployment.History,
            deployment.CreatedAt, deployment.UpdatedAt);
    }

    private static ProblemHttpResult NotFound(string name) =>
        TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "Not found", detail: $"There is no deployment '{name}'.");

    private static ProblemHttpResult Conflict(string name) =>
        TypedResults.Problem(statusCode: StatusCodes.Status409Conflict, title: "Changed meanwhile", detail: $"Deployment '{name}' was changed by another request; try again.");
}
