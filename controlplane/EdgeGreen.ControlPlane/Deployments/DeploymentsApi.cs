using EdgeGreen.ControlPlane.Cluster;
using EdgeGreen.ControlPlane.Core.Deployments;
using EdgeGreen.ControlPlane.Security;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace EdgeGreen.ControlPlane.Deployments;

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
    DeploymentMonitoring Monitoring,
    IReadOnlyList<DeploymentAgentResponse> Agents,
    IReadOnlyList<DeploymentEvent> History,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt)
{
    /// <summary>When and how the model is retrained; null when it is not.</summary>
    public DeploymentRetraining? Retraining { get; init; }

    /// <summary>The last retraining started or refused.</summary>
    public LastRetraining? LastRetraining { get; init; }
}

public static class DeploymentsApi
{


    /// <summary>Fleet deployments: desired state answered with every agent heartbeat, rollouts analysed on the leader (<c>EdgeGreen:Deployments</c>).</summary>
    public static IHostApplicationBuilder AddDeployments(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<DeploymentOptions>().BindConfiguration(DeploymentOptions.SectionName)
            .Validate(o => o.AnalysisInterval >= TimeSpan.FromMilliseconds(10) && o.AnalysisInterval <= TimeSpan.FromHours(1),
                "EdgeGreen:Deployments:AnalysisInterval must be between 00:00:00.010 and 01:00:00.")
            .Validate(o => o.RetrainingInterval >= TimeSpan.FromSeconds(1) && o.RetrainingInterval <= TimeSpan.FromDays(1),
                "EdgeGreen:Deployments:RetrainingInterval must be between 00:00:01 and 1.00:00:00.")
            .ValidateOnStart();
        builder.Services.AddSingleton<IDeploymentEventSink, WebhookDeploymentEvents>();
        builder.Services.AddSingleton<DeploymentEvents>();
        builder.Services.AddSingleton<DeploymentChanges>();
        builder.Services.AddSingleton<DeploymentCatalog>();
        builder.Services.AddSingleton<DeploymentObservations>();
        builder.Services.AddSingleton<DeploymentRollouts>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<DeploymentRollouts>());
        builder.Services.AddSingleton<DeploymentRetrainer>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<DeploymentRetrainer>());
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
        string name, PutDeploymentRequest request, DeploymentChanges changes, IAgentStore agents, DeploymentObservations observations,
        IOptions<AgentsOptions> agentsOptions, TimeProvider timeProvider, CancellationToken cancellationToken)
    {
        var (deployment, created, errors) = await changes.PutAsync(name, request, cancellationToken);
        if (errors is not null)
        {
            return TypedResults.ValidationProblem(errors);
        }

        if (deployment is null)
        {
            return Conflict(name);
        }

        var response = await ResponseAsync(deployment, agents, observations, agentsOptions.Value, timeProvider.GetUtcNow(), cancellationToken);
        return created ? TypedResults.Created($"/api/v1/deployments/{Uri.EscapeDataString(name)}", response) : TypedResults.Ok(response);
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

    public static async Task<Results<NoContent, ProblemHttpResult>> DeleteAsync(string name, IDeploymentStore store, CancellationToken cancellationToken) =>
        await store.DeleteAsync(name, cancellationToken) ? TypedResults.NoContent() : NotFound(name);

    /// <summary>
    /// The deployment with each online target agent's report: <c>healthy</c> when every one serves
    /// the current version, <c>degraded</c> when one failed to load it, else <c>progressing</c>.
    /// Energy per 1,000 inferences is the agent's attributed serving energy over its inferences.
    /// The dashboard shows deployments through this too, so that it says what the API says.
    /// </summary>
    public static async Task<DeploymentResponse> ResponseAsync(DeploymentRecord deployment, IAgentStore agents, DeploymentObservations observations,
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
            deployment.Current.Model, deployment.Current.Sha256, deployment.Target, deployment.Threads, deployment.Strategy, deployment.Monitoring, rows, deployment.History,
            deployment.CreatedAt, deployment.UpdatedAt) { Retraining = deployment.Retraining, LastRetraining = deployment.LastRetraining };
    }

    private static ProblemHttpResult NotFound(string name) =>
        TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "Not found", detail: $"There is no deployment '{name}'.");

    private static ProblemHttpResult Conflict(string name) =>
        TypedResults.Problem(statusCode: StatusCodes.Status409Conflict, title: "Changed meanwhile", detail: $"Deployment '{name}' was changed by another request; try again.");
}
