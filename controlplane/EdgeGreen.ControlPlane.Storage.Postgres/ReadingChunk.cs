using System.Buffers.Binary;
using EdgeGreen.ControlPlane.Core.Telemetry;
using Npgsql;
using NpgsqlTypes;

namespace EdgeGreen.ControlPlane.Storage.Postgres;

/// <summary>
/// Raw readings of one agent whose times fall in one UTC hour, from one commit, packed into one row
/// of <c>reading_chunks</c>: the sensor ids and domains once each (<c>sensors</c>, <c>domains</c>),
/// and in <c>data</c> a fixed 38-byte record per reading, big-endian as PostgreSQL's
/// <c>int8send</c>, <c>int2send</c> and <c>float8send</c> write them (so that migration 7 packs the
/// old one-row-per-reading table in SQL alone): sequence, UTC ticks and interval ticks (8 bytes
/// each), sensor and domain index (2 each), energy (8), provenance (2). A row per reading cost
/// about 150 bytes with its index entries; a commit's readings now cost one row and one index entry.
/// </summary>
internal sealed record ReadingChunk(string AgentId, DateTime Hour, long FirstSequence, string[] Sensors, string[] Domains, byte[] Data)
{
    public const int RecordBytes = 38;

    /// <summary>The columns a chunk fills, in the order <see cref="WriteRowAsync"/> writes them.</summary>
    public const string Columns = "(agent_id, hour, first_seq, readings, sensors, domains, data)";

    public int Count => Data.Length / RecordBytes;

    /// <summary>Writes the chunk as one row of a binary COPY into <see cref="Columns"/>.</summary>
    public async Task WriteRowAsync(NpgsqlBinaryImporter importer, CancellationToken cancellationToken)
    {
        await importer.StartRowAsync(cancellationToken);
        await importer.WriteAsync(AgentId, NpgsqlDbType.Text, cancellationToken);
        await importer.WriteAsync(Hour, NpgsqlDbType.TimestampTz, cancellationToken);
        await importer.WriteAsync(FirstSequence, NpgsqlDbType.Bigint, cancellationToken);
        await importer.WriteAsync(Count, NpgsqlDbType.Integer, cancellationToken);
        await importer.WriteAsync(Sensors, NpgsqlDbType.Array | NpgsqlDbType.Text, cancellationToken);
        await importer.WriteAsync(Domains, NpgsqlDbType.Array | NpgsqlDbType.Text, cancellationToken);
        await importer.WriteAsync(Data, NpgsqlDbType.Bytea, cancellationToken);
    }

    /// <summary>A commit's fresh readings of one agent, a chunk per hour they fall in.</summary>
    public static IEnumerable<ReadingChunk> Split(string agentId, IReadOnlyList<ReadingRecord> readings) =>
        readings.GroupBy(r => TelemetryTiers.BucketIndex(r.Time, TelemetryTiers.Hour))
            .Select(hour => Pack(agentId, TelemetryTiers.BucketStart(hour.Key, TelemetryTiers.Hour).UtcDateTime, [.. hour]));

    public IReadOnlyList<ReadingRecord> Unpack()
    {
        if (Data.Length % RecordBytes != 0)
        {
            throw new InvalidDataException($"A reading chunk of agent {AgentId} at {Hour:O} holds {Data.Length} bytes, not a whole number of {RecordBytes}-byte readings.");
        }

        var readings = new List<ReadingRecord>(Count);
        for (var offset = 0; offset < Data.Length; offset += RecordBytes)
        {
            var record = Data.AsSpan(offset, RecordBytes);
            readings.Add(new ReadingRecord(
                BinaryPrimitives.ReadInt64BigEndian(record),
                Ticks.ToInstant(BinaryPrimitives.ReadInt64BigEndian(record[8..])),
                TimeSpan.FromTicks(BinaryPrimitives.ReadInt64BigEndian(record[16..])),
                Sensors[BinaryPrimitives.ReadInt16BigEndian(record[24..])],
                Domains[BinaryPrimitives.ReadInt16BigEndian(record[26..])],
                BinaryPrimitives.ReadDoubleBigEndian(record[28..]),
                (ReadingProvenance)BinaryPrimitives.ReadInt16BigEndian(record[36..])));
        }

        return readings;
    }

    private static ReadingChunk Pack(string agentId, DateTime hour, IReadOnlyList<ReadingRecord> readings)
    {
        var sensors = new List<string>();
        var domains = new List<string>();
        var data = new byte[readings.Count * RecordBytes];
        for (var i = 0; i < readings.Count; i++)
        {
            var reading = readings[i];
            var record = data.AsSpan(i * RecordBytes, RecordBytes);
            BinaryPrimitives.WriteInt64BigEndian(record, reading.Sequence);
            BinaryPrimitives.WriteInt64BigEndian(record[8..], reading.Time.UtcTicks);
            BinaryPrimitives.WriteInt64BigEndian(record[16..], reading.Interval.Ticks);
            BinaryPrimitives.WriteInt16BigEndian(record[24..], IndexOf(sensors, reading.SensorId));
            BinaryPrimitives.WriteInt16BigEndian(record[26..], IndexOf(domains, reading.Domain));
            BinaryPrimitives.WriteDoubleBigEndian(record[28..], reading.EnergyJoules);
            BinaryPrimitives.WriteInt16BigEndian(record[36..], (short)reading.Provenance);
        }

        return new ReadingChunk(agentId, hour, readings.Min(r => r.Sequence), [.. sensors], [.. domains], data);
    }

    private static short IndexOf(List<string> values, string value)
    {
        var index = values.IndexOf(value);
        if (index < 0)
        {
            values.Add(value);
            index = values.Count - 1;
        }

        return checked((short)index);
    }
}
