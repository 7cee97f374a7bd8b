using EdgeGreen.Agent.Sensors;

namespace EdgeGreen.Agent.Outbox;

/// <summary>A reading waiting in the outbox, numbered with its per-agent sequence.</summary>
public sealed record OutboxReading(long Sequence, string SensorId, EnergyDelta Delta);

/// <summary>Storage shape of <see cref="OutboxReading"/>: instants and durations as ticks, so nothing depends on LiteDB's date handling.</summary>
internal sealed class OutboxEntry
{
    public long Id { get; set; }

    public long TimeUtcTicks { get; set; }

    public long IntervalTicks { get; set; }

    public string SensorId { get; set; } = "";

    public string Domain { get; set; } = "";

    public double EnergyJoules { get; set; }

    public EnergyProvenance Provenance { get; set; }

    public static OutboxEntry From(long sequence, string sensorId, EnergyDelta delta) => new()
    {
        Id = sequence,
        TimeUtcTicks = delta.Time.UtcTicks,
        IntervalTicks = delta.Interval.Ticks,
        SensorId = sensorId,
        Domain = delta.Domain,
        EnergyJoules = delta.EnergyJoules,
        Provenance = delta.Provenance,
    };

    public OutboxReading ToReading() => new(Id, SensorId,
        new EnergyDelta(Domain, new DateTimeOffset(TimeUtcTicks, TimeSpan.Zero), TimeSpan.FromTicks(IntervalTicks), EnergyJoules, Provenance));
}
