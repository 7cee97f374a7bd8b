using System.Collections.Concurrent;
using EdgeGreen.Contracts.V1;

namespace EdgeGreen.ControlPlane.Core.Deployments;

/// <summary>
/// What each agent last said it serves for deployments (its heartbeat's <c>serving</c>), held in
/// memory on the leader, which receives every heartbeat: a new leader knows it again within one
/// heartbeat interval. Bounded by the agents and the versions each may report.
/// </summary>
public sealed class DeploymentObservations(TimeProvider timeProvider)
{
    /// <summary>The most versions one agent's report may carry; the rest are not kept.</summary>
    public const int MaxPerAgent = 256;

    private readonly ConcurrentDictionary<string, AgentServing> _byAgent = new(StringComparer.Ordinal);

    public void Record(string agentId, IEnumerable<ServedDeployment> serving) =>
        _byAgent[agentId] = new AgentServing(timeProvider.GetUtcNow(), [.. serving.Take(MaxPerAgent).Select(s => s.Clone())]);

    /// <summary>Every agent's report on the named deployment, with when it came.</summary>
    public IReadOnlyList<(string AgentId, DateTimeOffset ReportedAt, ServedDeployment Served)> For(string deployment) =>
        [.. _byAgent.SelectMany(a => a.Value.Serving.Where(s => s.Deployment == deployment).Select(s => (a.Key, a.Value.ReportedAt, s)))];

    private sealed record AgentServing(DateTimeOffset ReportedAt, IReadOnlyList<ServedDeployment> Serving);
}
