using EdgeGreen.ControlPlane.Api;
using EdgeGreen.ControlPlane.Core.Deployments;
using EdgeGreen.ControlPlane.Deployments;
using Microsoft.Extensions.Options;

namespace EdgeGreen.ControlPlane.Dashboard;

/// <summary>A span of power history and the step it is drawn at (few enough points for a chart).</summary>
public sealed record PowerWindow(string Key, string Label, TimeSpan Span, TimeSpan Step)
{
    public static IReadOnlyList<PowerWindow> All { get; } =
    [
        new("1h", "Last hour", TimeSpan.FromHours(1), TimeSpan.FromMinutes(1)),
        new("24h", "Last 24 hours", TimeSpan.FromHours(24), TimeSpan.FromMinutes(15)),
        new("7d", "Last 7 days", TimeSpan.FromDays(7), TimeSpan.FromHours(1)),
    ];

    /// <summary>The window named <paramref name="key"/>; the last hour for anything else.</summary>
    public static PowerWindow For(string? key) => All.FirstOrDefault(w => w.Key == key) ?? All[0];
}

/// <summary>One energy domain's power over the window, and whether a counter or a model gives it.</summary>
public sealed record DomainPower(string Domain, string Provenance, string? Note, IReadOnlyList<ReadingPoint> Points);

/// <summary>A deployment that targets the agent, with what the agent reports serving for it.</summary>
public sealed record ServedModel(string Deployment, string Model, int CurrentVersion, string DeploymentStatus, DeploymentAgentResponse OnAgent);

public sealed record AgentDetail(
    AgentResponse Agent,
    PowerWindow Window,
    DateTimeOffset From,
    DateTimeOffset To,
    IReadOnlyList<DomainPower> Power,
    IReadOnlyList<JobRecord> Jobs,
    int JobsSearched,
    IReadOnlyList<ServedModel> Models);

/// <summary>The agent page's data; <see cref="Detail"/> is null when no agent has the id.</summary>
public sealed record AgentPage(string Id, AgentDetail? Detail);

public sealed class AgentData(AgentViews agents, TelemetryQueries telemetry, IJobStore jobs, IDeploymentStore deployments, IAgentStore agentStore,
    DeploymentObservations observations, IOptions<AgentsOptions> agentsOptions, TimeProvider time)
{
    /// <summary>The job store lists newest first with no agent filter (as <c>GET /api/v1/jobs</c> does): the agent's jobs among this many.</summary>
    public const int JobsSearched = 1000;

    public const int JobsShown = 50;

    public async Task<AgentPage> LoadAsync(string id, PowerWindow window, CancellationToken cancellationToken)
    {
        if (await agents.GetAsync(id, cancellationToken) is not { } agent)
        {
            return new AgentPage(id, null);
        }

        var to = time.GetUtcNow();
        var from = to - window.Span;
        var power = new List<DomainPower>();
        // A domain may have more than one sensor (a counter and its fallback model): one line each, measured only when all are.
        foreach (var domain in agent.Sensors.GroupBy(s => s.Domain, StringComparer.Ordinal).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            var provenance = domain.All(s => s.Provenance == "measured") ? "measured" : "modelled";
            var note = string.Join("; ", domain.Select(s => s.Note).Where(n => !string.IsNullOrEmpty(n)).Distinct(StringComparer.Ordinal));
            var points = await telemetry.AgentAsync(agent.Id, domain.Key, from, to, window.Step, cancellationToken);
            power.Add(new DomainPower(domain.Key, provenance, note.Length > 0 ? note : null, points));
        }

        var recent = await jobs.ListAsync(new JobQuery(Limit: JobsSearched), cancellationToken);
        var mine = recent.Where(j => j.AgentId == agent.Id).Take(JobsShown).ToList();

        // The same rows GET /api/v1/deployments shows, so the per-agent state here is the API's.
        var listed = (await DeploymentsApi.ListAsync(deployments, agentStore, observations, agentsOptions, time, cancellationToken)).Value ?? [];
        var models = listed
            .SelectMany(d => d.Agents.Where(a => a.AgentId == agent.Id).Select(a => new ServedModel(d.Name, d.Model, d.CurrentVersion, d.Status, a)))
            .OrderBy(m => m.Deployment, StringComparer.Ordinal)
            .ToList();
        return new AgentPage(id, new AgentDetail(agent, window, from, to, power, mine, recent.Count, models));
    }
}
