using EdgeGreen.ControlPlane.Core.Storage;

namespace EdgeGreen.ControlPlane.Core.Telemetry;

/// <summary>
/// The bookkeeping every telemetry store does the same way in a group commit: which readings are
/// fresh, how each agent's summary advances, and the rollup deltas they add. The store only loads
/// and writes.
/// </summary>
public sealed class TelemetryAppends
{
    private readonly Dictionary<string, TelemetrySummary> _summaries = new(StringComparer.Ordinal);

    public TelemetryRollups Rollups { get; } = new();

    /// <summary>Fresh readings per batch, in the order given: what the store writes as raw rows.</summary>
    public List<(TelemetryBatch Batch, IReadOnlyList<ReadingRecord> Fresh)> Fresh { get; } = [];

    public IReadOnlyList<AppendResult> Results => _results;

    /// <summary>The summaries that changed, to be written.</summary>
    public IEnumerable<TelemetrySummary> ChangedSummaries => _summaries.Values;

    private readonly List<AppendResult> _results = [];

    /// <summary>
    /// Plans a group commit. <paramref name="load"/> returns an agent's stored summary (or null);
    /// it is called once per agent.
    /// </summary>
    public static TelemetryAppends Plan(IReadOnlyList<TelemetryBatch> batches, Func<string, TelemetrySummary?> load)
    {
        var plan = new TelemetryAppends();
        foreach (var batch in batches)
        {
            if (!plan._summaries.TryGetValue(batch.AgentId, out var summary))
            {
                summary = load(batch.AgentId) ?? Empty(batch.AgentId);
            }

            var durable = summary.DurableSequence;
            IReadOnlyList<ReadingRecord> fresh = [.. batch.Readings.Where(r => r.Sequence > durable)];
            if (fresh.Count > 0)
            {
                var wholeNode = TelemetryRollups.ReportsWholeNode(summary.LatestPowerWattsByDomain.Keys.Concat(fresh.Select(r => r.Domain)));
                plan.Rollups.Add(batch.AgentId, batch.Zone, wholeNode, fresh);
                plan.Fresh.Add((batch, fresh));
                summary = Advance(summary, fresh);
            }

            summary = summary with { LastReceivedAt = batch.ReceivedAt };
            plan._summaries[batch.AgentId] = summary;
            plan._results.Add(new AppendResult(summary.DurableSequence, fresh.Count, batch.Readings.Count - fresh.Count));
        }

        return plan;
    }

    public static TelemetrySummary Empty(string agentId) => new(agentId, 0, 0, 0, null, new Dictionary<string, double>(), null);

    private static TelemetrySummary Advance(TelemetrySummary summary, IReadOnlyList<ReadingRecord> fresh)
    {
        var latest = new Dictionary<string, (DateTimeOffset Time, double PowerWatts)>();
        foreach (var reading in fresh)
        {
            if (!latest.TryGetValue(reading.Domain, out var known) || reading.Time >= known.Time)
            {
                latest[reading.Domain] = (reading.Time, reading.PowerWatts);
            }
        }

        var lastReadingAt = fresh.Max(r => r.Time);
        var power = new Dictionary<string, double>(summary.LatestPowerWattsByDomain);
        foreach (var (domain, value) in latest)
        {
            power[domain] = value.PowerWatts;
        }

        return summary with
        {
            DurableSequence = fresh[^1].Sequence,
            ReadingCount = summary.ReadingCount + fresh.Count,
            EnergyJoules = summary.EnergyJoules + fresh.Sum(r => r.EnergyJoules),
            LastReadingAt = summary.LastReadingAt is { } previous && previous > lastReadingAt ? previous : lastReadingAt,
            LatestPowerWattsByDomain = power,
        };
    }
}
