using EdgeGreen.ControlPlane.Api;
using Microsoft.Extensions.Options;

namespace EdgeGreen.ControlPlane.Feed;

/// <summary>
/// Each agent as <c>GET /api/v1/agents</c> shows it, published when it is first seen and whenever
/// it goes online or offline (looked at every <see cref="FeedOptions.AgentInterval"/>); its power
/// and energy are in the message but do not by themselves cause one (the readings topic has those).
/// </summary>
public sealed class AgentStatusFeed(TelemetryFeed feed, ClusterMembership cluster, AgentViews agents, IOptions<FeedOptions> options, ILogger<AgentStatusFeed> logger)
    : ChangeFeed<AgentResponse>(feed, cluster, options.Value.AgentInterval, logger)
{
    protected override string What => "the agents";

    protected override async Task<IEnumerable<(string Key, object State, AgentResponse Item)>> ReadAsync(CancellationToken cancellationToken) =>
        (await agents.ListAsync(cancellationToken)).Select(agent => (agent.Id, (object)agent.Status, agent));

    protected override void Publish(TelemetryFeed feed, AgentResponse item) => feed.PublishAgent(item);
}
