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
    private readonly Dictionary<(TelemetryTier, string, string, long), (double Energy, double Covered, long Count)> _agents = [];
    private readonly Dictionary<(TelemetryTier, string, long), (double Energy, long Count)> _zones = [];

    /// <summary>Adds an agent's fresh readings; <paramref name="agentReportsWholeNode"/> says whether any of its domains (stored or in this batch) is whole-node.</summary>
    public void Add(string agentId, string zone, bool agentReportsWholeNode, IEnumerable<ReadingRecord> fresh)
    {
        foreach (var reading in fresh)
        {
            var countsForZone = !agentReportsWholeNode || EnergyDomains.IsWholeNode(reading.Domain);
            foreach (var tier in (ReadOnlySpan<TelemetryTier>)[TelemetryTier.Minute, TelemetryTier.Hour])
            {
                var bucket = TelemetryTiers.BucketIndex(reading.Time, tier.BucketSize());
                var key = (tier, agentId, reading.Domain, bucket);
                var (energy, covered, count) = _agents.GetValueOrDefault(key);
                _agents[key] = (energy + reading.EnergyJoules, covered + reading.Interval.TotalSeconds, count + 1);
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
        _agents.Select(p => new AgentRollupDelta(p.Key.Item1, p.Key.Item2, p.Key.Item3, p.Key.Item4, p.Value.Energy, p.Value.Covered, p.Value.Count));

    public IEnumerable<ZoneRollupDelta> ZoneDeltas =>
        _zones.Select(p => new ZoneRollupDelta(p.Key.Item1, p.Key.Item2, p.Key.Item3, p.Value.Energy, p.Value.Count));

    /// <summary>Whether an agent with these domains reports a whole-node domain.</summary>
    public static bool ReportsWholeNode(IEnumerable<string> domains) => domains.Any(EnergyDomains.IsWholeNode);
}
