using EdgeGreen.ControlPlane.Core.Storage;

namespace EdgeGreen.ControlPlane.Core.Telemetry;

/// <summary>An agent's power and energy in one step.</summary>
public sealed record ReadingPoint(DateTimeOffset Time, double PowerWatts, double EnergyJoules);

/// <summary>A zone's node energy in one step, and its mean power over the step.</summary>
public sealed record ZonePoint(DateTimeOffset Time, double PowerWatts, double EnergyJoules);

public sealed record ZoneSeries(string Zone, double EnergyJoules, IReadOnlyList<ZonePoint> Points);

/// <summary>
/// Time-series queries over the telemetry tiers. Steps are aligned to the Unix epoch (a one-minute
/// step starts on the minute) and the range is widened to whole steps, so every step is answered
/// from the coarsest tier that tiles it (<see cref="TelemetryTiers.For"/>) and gives what the raw
/// readings would give. An agent's power in a step is the sum over domains of each domain's
/// energy over the time its readings cover, so a partly covered step (an agent that just started)
/// still shows the true draw. Empty steps are left out rather than shown as zero. Memory is
/// bounded by the number of points (at most <see cref="MaxPoints"/>), never by the range.
/// </summary>
public sealed class TelemetryQueries(ITelemetryStore store)
{
    /// <summary>More points than this in one answer is refused; ask for a coarser step.</summary>
    public const int MaxPoints = 10_000;

    /// <summary>The range widened to whole steps.</summary>
    public static (DateTimeOffset From, DateTimeOffset To) Align(DateTimeOffset from, DateTimeOffset to, TimeSpan step)
    {
        var first = TelemetryTiers.BucketIndex(from, step);
        var last = TelemetryTiers.BucketIndex(to - TimeSpan.FromTicks(1), step);
        return (TelemetryTiers.BucketStart(first, step), TelemetryTiers.BucketStart(last + 1, step));
    }

    /// <summary>Null when the range at this step is answerable; otherwise why not.</summary>
    public static string? CheckRange(DateTimeOffset from, DateTimeOffset to, TimeSpan step) =>
        step <= TimeSpan.Zero ? "step must be a positive duration."
        : from >= to ? "from must be before to."
        : (to - from) / step > MaxPoints ? $"from..to at this step gives more than {MaxPoints} points; use a larger step."
        : null;

    public async Task<IReadOnlyList<ReadingPoint>> AgentAsync(string agentId, string? domain, DateTimeOffset from, DateTimeOffset to, TimeSpan step, CancellationToken cancellationToken)
    {
        (from, to) = Align(from, to, step);
        var steps = new SortedDictionary<long, Dictionary<string, (double EnergyJoules, double CoveredSeconds)>>();
        await foreach (var bucket in store.ReadAgentAsync(agentId, domain, TelemetryTiers.For(step), from, to, cancellationToken))
        {
            var index = TelemetryTiers.BucketIndex(bucket.Time, step);
            if (!steps.TryGetValue(index, out var domains))
            {
                steps[index] = domains = new(StringComparer.Ordinal);
            }

            var (energy, covered) = domains.GetValueOrDefault(bucket.Domain);
            domains[bucket.Domain] = (energy + bucket.EnergyJoules, covered + bucket.CoveredSeconds);
        }

        return [.. steps.Select(s => new ReadingPoint(
            TelemetryTiers.BucketStart(s.Key, step),
            s.Value.Values.Sum(d => d.CoveredSeconds > 0 ? d.EnergyJoules / d.CoveredSeconds : 0),
            s.Value.Values.Sum(d => d.EnergyJoules)))];
    }

    /// <summary>Each zone's energy per step; <paramref name="step"/> must be a whole number of minutes.</summary>
    public async Task<IReadOnlyList<ZoneSeries>> ZonesAsync(DateTimeOffset from, DateTimeOffset to, TimeSpan step, CancellationToken cancellationToken)
    {
        var tier = TelemetryTiers.For(step);
        if (tier == TelemetryTier.Raw)
        {
            throw new ArgumentException("Zone energy is kept per minute and per hour: step must be a whole number of minutes.", nameof(step));
        }

        (from, to) = Align(from, to, step);
        var zones = new SortedDictionary<string, SortedDictionary<long, double>>(StringComparer.Ordinal);
        await foreach (var bucket in store.ReadZonesAsync(tier, from, to, cancellationToken))
        {
            if (!zones.TryGetValue(bucket.Zone, out var points))
            {
                zones[bucket.Zone] = points = [];
            }

            var index = TelemetryTiers.BucketIndex(bucket.Time, step);
            points[index] = points.GetValueOrDefault(index) + bucket.EnergyJoules;
        }

        return [.. zones.Select(z => new ZoneSeries(
            z.Key,
            z.Value.Values.Sum(),
            [.. z.Value.Select(p => new ZonePoint(TelemetryTiers.BucketStart(p.Key, step), p.Value / step.TotalSeconds, p.Value))]))];
    }
}
