using EdgeGreen.ControlPlane.Storage;

namespace EdgeGreen.ControlPlane.Api;

/// <summary>
/// Folds readings into buckets of one step, aligned to multiples of the step since the Unix epoch
/// (so a one-minute step starts on the minute) by the end of their interval: energy is summed, and power
/// is the sum over domains of each domain's energy divided by the time its readings cover, so a
/// bucket that is only partly covered (an agent that just started) still shows the true draw.
/// Empty buckets are left out rather than shown as zero.
/// </summary>
public static class ReadingDownsampler
{
    public static IReadOnlyList<ReadingPoint> Downsample(IEnumerable<ReadingRecord> readings, TimeSpan step)
    {
        var buckets = new SortedDictionary<long, Dictionary<string, (double EnergyJoules, double CoveredSeconds)>>();
        foreach (var reading in readings)
        {
            var index = (reading.Time - DateTimeOffset.UnixEpoch).Ticks / step.Ticks;
            if (!buckets.TryGetValue(index, out var domains))
            {
                buckets[index] = domains = [];
            }

            var (energy, covered) = domains.GetValueOrDefault(reading.Domain);
            domains[reading.Domain] = (energy + reading.EnergyJoules, covered + reading.Interval.TotalSeconds);
        }

        return [.. buckets.Select(b => new ReadingPoint(
            DateTimeOffset.UnixEpoch + (step * b.Key),
            b.Value.Values.Sum(d => d.EnergyJoules / d.CoveredSeconds),
            b.Value.Values.Sum(d => d.EnergyJoules)))];
    }
}

public sealed record ReadingPoint(DateTimeOffset Time, double PowerWatts, double EnergyJoules);
