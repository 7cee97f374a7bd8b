using EdgeGreen.Shared;
using EdgeGreen.ControlPlane.Security;
using Microsoft.AspNetCore.Http.HttpResults;

namespace EdgeGreen.ControlPlane.Api;

public sealed record ReadingsResponse(string AgentId, string? Domain, DateTimeOffset From, DateTimeOffset To, TimeSpan Step, IReadOnlyList<ReadingPoint> Points);

public sealed record SetZoneRequest(string? Zone);

public sealed record FleetSummaryResponse(int Agents, int Online, double PowerWatts, double EnergyJoules);

public sealed record FleetEnergyResponse(DateTimeOffset From, DateTimeOffset To, TimeSpan Step, double EnergyJoules, IReadOnlyList<ZoneSeries> Zones);

public static class AgentsApi
{
    public static IEndpointRouteBuilder MapAgentsApi(this IEndpointRouteBuilder routes)
    {
        var agents = routes.MapGroup("/api/v1/agents").RequireAuthorization(Policies.Viewer).WithTags("Agents");
        agents.MapGet("/", ListAgents).WithName("ListAgents").WithSummary("All enrolled agents with status, power and energy.");
        agents.MapGet("/{id}", GetAgent).WithName("GetAgent").ProducesProblem(StatusCodes.Status404NotFound).WithSummary("One agent.");
        agents.MapPut("/{id}/zone", SetZone).WithName("SetAgentZone").ProducesProblem(StatusCodes.Status404NotFound).RequireAuthorization(Policies.Operator)
            .WithSummary("Sets the agent's grid zone (one of /api/v1/carbon/zones), overriding what it reports; {\"zone\": null} clears it.");
        agents.MapGet("/{id}/readings", GetReadings).WithName("GetAgentReadings").ProducesProblem(StatusCodes.Status404NotFound)
            .WithSummary("An agent's power and energy over time in steps aligned to the epoch (ISO 8601 instants and duration; the range is widened to whole steps; all domains summed unless domain is given).");

        routes.MapGet("/api/v1/fleet/summary", GetFleetSummary).WithName("GetFleetSummary").RequireAuthorization(Policies.Viewer).WithTags("Fleet")
            .WithSummary("Agent counts and total power and energy of the fleet.");
        routes.MapGet("/api/v1/fleet/energy", GetFleetEnergy).WithName("GetFleetEnergy").RequireAuthorization(Policies.Viewer).WithTags("Fleet")
            .WithSummary("The fleet's node energy per zone over time (step a whole number of minutes, default PT1H; the last 24 hours unless from/to are given).");
        return routes;
    }

    public static async Task<Ok<IReadOnlyList<AgentResponse>>> ListAgents(AgentViews views, CancellationToken cancellationToken) =>
        TypedResults.Ok(await views.ListAsync(cancellationToken));

    public static async Task<Results<Ok<AgentResponse>, ProblemHttpResult>> GetAgent(string id, AgentViews views, CancellationToken cancellationToken) =>
        await views.GetAsync(id, cancellationToken) is { } agent ? TypedResults.Ok(agent) : AgentNotFound(id);

    public static async Task<Results<Ok<ReadingsResponse>, ProblemHttpResult, ValidationProblem>> GetReadings(
        string id,
        DateTimeOffset? from,
        DateTimeOffset? to,
        string? step,
        string? domain,
        IAgentStore agents,
        TelemetryQueries queries,
        TimeProvider timeProvider,
        CancellationToken cancellationToken)
    {
        if (Instants.Problems(("from", from), ("to", to)) is { } implausible)
        {
            return TypedResults.ValidationProblem(implausible);
        }

        var end = to ?? timeProvider.GetUtcNow();
        var start = from ?? end.AddHours(-1);
        if (!Durations.TryParse(step ?? "PT1M", out var stepSize) || stepSize <= TimeSpan.Zero)
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["step"] = ["step must be a positive ISO 8601 duration, e.g. PT1M."] });
        }

        if (TelemetryQueries.CheckRange(start, end, stepSize) is { } problem)
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { [start >= end ? "from" : "step"] = [problem] });
        }

        if (await agents.GetAsync(id, cancellationToken) is null)
        {
            return AgentNotFound(id);
        }

        var points = await queries.AgentAsync(id, string.IsNullOrEmpty(domain) ? null : domain, start, end, stepSize, cancellationToken);
        var (alignedFrom, alignedTo) = TelemetryQueries.Align(start, end, stepSize);
        return TypedResults.Ok(new ReadingsResponse(id, domain, alignedFrom, alignedTo, stepSize, points));
    }

    public static async Task<Results<Ok<FleetEnergyResponse>, ValidationProblem>> GetFleetEnergy(
        DateTimeOffset? from, DateTimeOffset? to, string? step, TelemetryQueries queries, TimeProvider timeProvider, CancellationToken cancellationToken)
    {
        if (Instants.Problems(("from", from), ("to", to)) is { } implausible)
        {
            return TypedResults.ValidationProblem(implausible);
        }

        var end = to ?? timeProvider.GetUtcNow();
        var start = from ?? end.AddDays(-1);
        if (!Durations.TryParse(step ?? "PT1H", out var stepSize) || stepSize <= TimeSpan.Zero || TelemetryTiers.For(stepSize) == TelemetryTier.Raw)
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["step"] = ["step must be a whole number of minutes as an ISO 8601 duration, e.g. PT1H or P1D."] });
        }

        if (TelemetryQueries.CheckRange(start, end, stepSize) is { } problem)
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { [start >= end ? "from" : "step"] = [problem] });
        }

        var zones = await queries.ZonesAsync(start, end, stepSize, cancellationToken);
        var (alignedFrom, alignedTo) = TelemetryQueries.Align(start, end, stepSize);
        return TypedResults.Ok(new FleetEnergyResponse(alignedFrom, alignedTo, stepSize, zones.Sum(z => z.EnergyJoules), zones));
    }

    public static async Task<Results<Ok<AgentResponse>, ValidationProblem, ProblemHttpResult>> SetZone(
        string id, SetZoneRequest request, IAgentStore agents, CarbonIntensity carbon, AgentViews views, CancellationToken cancellationToken)
    {
        if (request.Zone is { } zone && !(await carbon.GetZonesAsync(cancellationToken)).Contains(zone, StringComparer.Ordinal))
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]>
            {
                ["zone"] = [$"'{zone}' is not a zone with intensity data; see GET /api/v1/carbon/zones."],
            });
        }

        return await agents.SetZoneOverrideAsync(id, request.Zone, cancellationToken) && await views.GetAsync(id, cancellationToken) is { } agent
            ? TypedResults.Ok(agent)
            : AgentNotFound(id);
    }

    public static async Task<Ok<FleetSummaryResponse>> GetFleetSummary(AgentViews views, CancellationToken cancellationToken)
    {
        var agents = await views.ListAsync(cancellationToken);
        var online = agents.Where(a => a.Status == AgentViews.Online).ToList();
        return TypedResults.Ok(new FleetSummaryResponse(agents.Count, online.Count, online.Sum(a => a.PowerWatts), agents.Sum(a => a.EnergyJoules)));
    }

    private static ProblemHttpResult AgentNotFound(string id) =>
        TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "Agent not found", detail: $"No agent has the id '{id}'.");
}
