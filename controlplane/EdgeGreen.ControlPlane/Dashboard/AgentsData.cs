using EdgeGreen.ControlPlane.Api;

namespace EdgeGreen.ControlPlane.Dashboard;

/// <summary>The agents page: every agent as <c>GET /api/v1/agents</c> shows it.</summary>
public sealed record AgentList(DateTimeOffset At, IReadOnlyList<AgentResponse> Agents);

public sealed class AgentsData(AgentViews agents, TimeProvider time)
{
    public async Task<AgentList> LoadAsync(CancellationToken cancellationToken) =>
        new(time.GetUtcNow(), [.. (await agents.ListAsync(cancellationToken)).OrderBy(a => a.Name, StringComparer.OrdinalIgnoreCase).ThenBy(a => a.Id, StringComparer.Ordinal)]);

    /// <summary>
    /// Whether the agent's CPU power comes from a counter or a model: "measured" or "modelled" when
    /// all its CPU sensors agree, "partly measured" when they do not, "not reported" without any
    /// (an agent that has not sent its state yet).
    /// </summary>
    public static string CpuPower(AgentResponse agent)
    {
        var cpu = agent.Sensors.Where(s => s.Domain.StartsWith("cpu", StringComparison.Ordinal)).Select(s => s.Provenance).Distinct(StringComparer.Ordinal).ToList();
        return cpu switch
        {
            [] => "not reported",
            [var only] => only,
            _ => "partly measured",
        };
    }
}
