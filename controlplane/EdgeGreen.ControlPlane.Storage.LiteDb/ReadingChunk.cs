using EdgeGreen.ControlPlane.Core.Telemetry;
using LiteDB;

namespace EdgeGreen.ControlPlane.Storage.LiteDb;

/// <summary>
/// Raw readings of one agent that end in one clock hour, packed into one document: the sensor ids
/// and domains once each (<c>s</c>, <c>d</c>), and per reading, in a binary field <c>r</c>, the
/// sequence and time as deltas from the previous reading, the interval, the sensor and domain
/// as indexes, the energy as a double and the provenance: about 20 bytes a reading instead of a
/// document each.
/// </summary>
internal static class ReadingChunk
{
    /// <summary>The indexed key: the agent's numeric key, then the hour since the Unix epoch.</summary>
    public static long Key(long agentKey, long hour) => (agentKey << 32) | hour;

    public static IEnumerable<BsonDocument> Split(long agentKey, IReadOnlyList<ReadingRecord> readings) =>
        readings.GroupBy(r => TelemetryTiers.BucketIndex(r.Time, TelemetryTiers.Hour)).Select(hour => Pack(Key(agentKey, hour.Key), [.. hour]));

    public static IEnumerable<ReadingRecord> Read(BsonDocument chunk)
    {
        var sensors = chunk["s"].AsArray.Select(v => v.AsString).ToArray();
        var domains = chunk["d"].AsArray.Select(v => v.AsString).ToArray();
        using var reader = new BinaryReader(new MemoryStream(chunk["r"].AsBinary));
        long sequence = 0, ticks = 0;
        var readings = new List<ReadingRecord>(chunk["n"].AsInt32);
        for (var i = 0; i < readings.Capacity; i++)
        {
            sequence += reader.Read7BitEncodedInt64();
            ticks += reader.Read7BitEncodedInt64();
            var interval = TimeSpan.FromTicks(reader.Read7BitEncodedInt64());
            var sensor = sensors[reader.Read7BitEncodedInt()];
            var domain = domains[reader.Read7BitEncodedInt()];
            var energy = reader.ReadDouble();
            var provenance = (ReadingProvenance)reader.ReadByte();
            readings.Add(new ReadingRecord(sequence, Ticks.ToInstant(ticks), interval, sensor, domain, energy, provenance));
        }

        return readings;
    }

    private static BsonDocument Pack(long key, IReadOnlyList<ReadingRecord> readings)
    {
        var sensors = new List<string>();
        var domains = new List<string>();
        using var buffer = new MemoryStream(readings.Count * 24);
        using (var writer = new BinaryWriter(buffer))
        {
            long sequence = 0, ticks = 0;
            foreach (var reading in readings)
            {
                writer.Write7BitEncodedInt64(reading.Sequence - sequence);
                writer.Write7BitEncodedInt64(reading.Time.UtcTicks - ticks);
                writer.Write7BitEncodedInt64(reading.Interval.Ticks);
                writer.Write7BitEncodedInt(IndexOf(sensors, reading.SensorId));
                writer.Write7BitEncodedInt(IndexOf(domains, reading.Domain));
                writer.Write(reading.EnergyJoules);
                writer.Write((byte)reading.Provenance);
                (sequence, ticks) = (reading.Sequence, reading.Time.UtcTicks);
            }
        }

        return new BsonDocument
        {
            ["k"] = key,
            ["n"] = readings.Count,
            ["s"] = new BsonArray(sensors.Select(s => new BsonValue(s))),
            ["d"] = new BsonArray(domains.Select(d => new BsonValue(d))),
            ["r"] = buffer.ToArray(),
        };
    }

    private static int IndexOf(List<string> values, string value)
    {
        var index = values.IndexOf(value);
        if (index < 0)
        {
            values.Add(value);
            index = values.Count - 1;
        }

        return index;
    }
}
