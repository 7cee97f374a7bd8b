using EdgeGreen.Contracts;
using EdgeGreen.ControlPlane.Core.Storage;

namespace EdgeGreen.ControlPlane.Core.Telemetry;

/// <summary>What one group commit adds to an agent × domain bucket.</summary>
public readonly record struct AgentRollupDelta(TelemetryTier Tier, string AgentId, string Domain, long Bucket, double EnergyJoules, double CoveredSeconds, long Readings);

/// <summary>What one group commit adds to a zone bucket.</summary>
public readonly record struct ZoneRollupDelta(TelemetryTier Tier, string Zone, long Bucket, double EnergyJoules, long Readings);

/// <summary>
/// Folds the fresh readings of a group commit into rollup deltas, so that each bucket a commit
/// touches is written once, whatever the number of readings. A reading belongs to the bucket in
/// which its interval ends (as raw queries place it). A reading counts towards its zone when it
/// is a whole-node domain, or when its agent reports no whole-node domain at all (see
/// <see cref="EnergyDomains"/>): so a zone's energy is the sum of its nodes, nothing twice.
/// </summary>
public sealed class TelemetryRollups
{
    /// <summary>
    /// Per agent, its own small table: a commit of thousands of agents would otherwise grow one
    /// table of tens of thousands of entries, whose arrays land on the large-object heap at every
    /// commit and bring on full collections.
    /// </summary>
    private readonly Dictionary<string, Dictionary<(TelemetryTier, string, long), (double Energy, double Covered, long Count)>> _agents = new(StringComparer.Ordinal);
    private readonly Dictionary<(TelemetryTier, string, long), (double Energy, long Count)> _zones = [];

    /// <summary>Adds an agent's fresh readings; <paramref name="agentReportsWholeNode"/> says whether any of its domains (stored or in this batch) is whole-node.</summary>
    public void Add(string agentId, string zone, bool agentReportsWholeNode, IEnumerable<ReadingRecord> fresh)
    {
        if (!_agents.TryGetValue(agentId, out var agent))
        {
            agent = [];
            _agents[agentId] = agent;
        }

        foreach (var reading in fresh)
        {
            var countsForZone = !agentReportsWholeNode || EnergyDomains.IsWholeNode(reading.Domain);
            foreach (var tier in (ReadOnlySpan<TelemetryTier>)[TelemetryTier.Minute, TelemetryTier.Hour])
            {
                var bucket = TelemetryTiers.BucketIndex(reading.Time, tier.BucketSize());
                var key = (tier, reading.Domain, bucket);
                var (energy, covered, count) = agent.GetValueOrDefault(key);
                agent[key] = (energy + reading.EnergyJoules, covered + reading.Interval.TotalSeconds, count + 1);
                if (countsForZone)
                {
                    var zoneKey = (tier, zone, bucket);
                    var (zoneEnergy, zoneCount) = _zones.GetValueOrDefault(zoneKey);
                    _zones[zoneKey] = (zoneEnergy + reading.EnergyJoules, zoneCount + 1);
                }
            }
        }
    }

    public IEnumerable<AgentRollupDelta> AgentDeltas =>
        _agents.SelectMany(agent => agent.Value.Select(p =>
            new AgentRollupDelta(p.Key.Item1, agent.Key, p.Key.Item2, p.Key.Item3, p.Value.Energy, p.Value.Covered, p.Value.Count)));

    /// <summary>
    /// A tier's agent deltas in key order (agent ordinally, bucket, domain ordinally), sorted an
    /// agent at a time rather than all at once: the order in which concurrent commits must lock
    /// rollup rows so that they never deadlock.
    /// </summary>
    public IEnumerable<AgentRollupDelta> AgentDeltasInKeyOrder(TelemetryTier tier)
    {
        foreach (var agentId in _agents.Keys.Order(StringComparer.Ordinal))
        {
            foreach (var (key, value) in _agents[agentId].Where(p => p.Key.Item1 == tier).OrderBy(p => p.Key.Item3).ThenBy(p => p.Key.Item2, StringComparer.Ordinal))
            {
                yield return new AgentRollupDelta(tier, agentId, key.Item2, key.Item3, value.Energy, value.Covered, value.Count);
            }
        }
    }

    public IEnumerable<ZoneRollupDelta> ZoneDeltas =>
        _zones.Select(p => new ZoneRollupDelta(p.Key.Item1, p.Key.Item2, p.Key.Item3, p.Value.Energy, p.Value.Count));

    /// <summary>Whether an agent with these domains reports a whole-node domain.</summary>
    public static bool ReportsWholeNode(IEnumerable<string> domains) => domains.Any(EnergyDomains.IsWholeNode);
}
