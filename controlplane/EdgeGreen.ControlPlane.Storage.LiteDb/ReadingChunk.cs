using System.Buffers.Binary;
using EdgeGreen.ControlPlane.Core.Telemetry;
using LiteDB;

namespace EdgeGreen.ControlPlane.Storage.LiteDb;

/// <summary>
/// Raw readings of one agent, one batch and one <see cref="Window"/>, packed into one document: the
/// sensor ids and domains once each (<c>s</c>, <c>d</c>), and per reading, in a binary field
/// <c>r</c>, the sequence and time as deltas from the previous reading, the interval, the sensor
/// and domain as indexes, the energy as a double and the provenance: about 20 bytes a reading
/// instead of a document each.
/// <para>
/// The <c>_id</c> sorts by window first, then agent, then the chunk's first sequence (see
/// <see cref="Id"/>), and is the collection's only index. So every commit inserts into the newest
/// window's few index pages, whatever the number of agents and the data kept: LiteDB holds every
/// page a write transaction visits, and an index sorted by agent first (as files before this one
/// were, on <c>k</c> = <see cref="LegacyKey"/>) had each agent's insert walk its own path through
/// pages written at every earlier time, a transaction's pages growing for as long as the store
/// ran. An agent's range is read a window at a time, an index seek each.
/// </para>
/// </summary>
internal static class ReadingChunk
{
    /// <summary>Ten seconds: a batch at 1 Hz mostly falls in one, and a range of hours is a few thousand seeks.</summary>
    public static readonly TimeSpan Window = TimeSpan.FromSeconds(10);

    public const int WindowsPerHour = 360;

    /// <summary>The window a reading falls in, by the end of its interval (times before the epoch hold nothing).</summary>
    public static long WindowOf(DateTimeOffset time) => Math.Max(0, TelemetryTiers.BucketIndex(time, Window));

    /// <summary>
    /// Window, agent key and the chunk's first sequence, big-endian in 16 bytes: LiteDB orders
    /// binary values byte by byte, so their order is the numbers' whatever the file's collation
    /// (which orders strings, by the culture the file was made in). A sequence is stored once per
    /// agent, so the id is unique.
    /// </summary>
    public static BsonValue Id(long window, long agentKey, long firstSequence)
    {
        var id = new byte[16];
        BinaryPrimitives.WriteUInt32BigEndian(id, checked((uint)window));
        BinaryPrimitives.WriteUInt32BigEndian(id.AsSpan(4), checked((uint)agentKey));
        BinaryPrimitives.WriteUInt64BigEndian(id.AsSpan(8), checked((ulong)firstSequence));
        return new BsonValue(id);
    }

    /// <summary>The window an <see cref="Id"/> names.</summary>
    public static long WindowOfId(BsonValue id) => BinaryPrimitives.ReadUInt32BigEndian(id.AsBinary);

    /// <summary>The key files from before windows index their chunks on: agent key, then the hour their readings end in.</summary>
    public static long LegacyKey(long agentKey, long hour) => (agentKey << 32) | hour;

    public static IEnumerable<BsonDocument> Split(long agentKey, IReadOnlyList<ReadingRecord> readings) =>
        readings.GroupBy(r => WindowOf(r.Time)).Select(window => Pack(Id(window.Key, agentKey, window.First().Sequence), [.. window]));

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

    private static BsonDocument Pack(BsonValue id, IReadOnlyList<ReadingRecord> readings)
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
            ["_id"] = id,
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
