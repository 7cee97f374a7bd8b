using System.Diagnostics;
using EdgeGreen.ControlPlane.Core.Storage;
using EdgeGreen.ControlPlane.Storage.Postgres;
using Npgsql;
using NpgsqlTypes;

namespace EdgeGreen.Benchmarks;

/// <summary>
/// PostgreSQL's raw ceilings for the ingest benchmark, with nothing else (no validation, rollups,
/// summaries or gRPC), one COPY and one transaction per agent, into unpartitioned tables with the
/// store's indexes: the same readings as a row each (<see cref="CopyAsync"/>, the ceiling:
/// what plain rows cost), and as the store's packed chunks alone (<see cref="CopyPackedAsync"/>,
/// its storage format's bare write).
/// </summary>
internal static class PostgresCeiling
{
    public static async Task<double> CopyAsync(string connectionString, List<List<ReadingRecord>> rows) =>
        await MeasureAsync(connectionString, rows, """
            DROP TABLE IF EXISTS ceiling_readings;
            CREATE TABLE ceiling_readings (agent_id text COLLATE "C" NOT NULL, seq bigint NOT NULL, time timestamptz NOT NULL, time_extra_ticks smallint NOT NULL,
                interval_ticks bigint NOT NULL, sensor_id text NOT NULL, domain text COLLATE "C" NOT NULL, energy_joules double precision NOT NULL, provenance smallint NOT NULL);
            CREATE INDEX ON ceiling_readings (agent_id, time);
            CREATE INDEX ON ceiling_readings USING brin (time);
            """,
            "COPY ceiling_readings (agent_id, seq, time, time_extra_ticks, interval_ticks, sensor_id, domain, energy_joules, provenance) FROM STDIN (FORMAT BINARY)",
            async (writer, id, readings) =>
            {
                foreach (var reading in readings)
                {
                    await writer.StartRowAsync();
                    await writer.WriteAsync(id, NpgsqlDbType.Text);
                    await writer.WriteAsync(reading.Sequence, NpgsqlDbType.Bigint);
                    await writer.WriteAsync(reading.Time, NpgsqlDbType.TimestampTz);
                    await writer.WriteAsync((short)(reading.Time.UtcTicks % 10), NpgsqlDbType.Smallint);
                    await writer.WriteAsync(reading.Interval.Ticks, NpgsqlDbType.Bigint);
                    await writer.WriteAsync(reading.SensorId, NpgsqlDbType.Text);
                    await writer.WriteAsync(reading.Domain, NpgsqlDbType.Text);
                    await writer.WriteAsync(reading.EnergyJoules, NpgsqlDbType.Double);
                    await writer.WriteAsync((short)reading.Provenance, NpgsqlDbType.Smallint);
                }
            });

    public static async Task<double> CopyPackedAsync(string connectionString, List<List<ReadingRecord>> rows) =>
        await MeasureAsync(connectionString, rows, """
            DROP TABLE IF EXISTS ceiling_chunks;
            CREATE TABLE ceiling_chunks (agent_id text COLLATE "C" NOT NULL, hour timestamptz NOT NULL, first_seq bigint NOT NULL, readings integer NOT NULL,
                sensors text[] NOT NULL, domains text[] NOT NULL, data bytea NOT NULL);
            CREATE INDEX ON ceiling_chunks (agent_id, hour);
            CREATE INDEX ON ceiling_chunks USING brin (hour);
            """,
            "COPY ceiling_chunks " + ReadingChunk.Columns + " FROM STDIN (FORMAT BINARY)",
            async (writer, id, readings) =>
            {
                foreach (var chunk in ReadingChunk.Split(id, readings))
                {
                    await chunk.WriteRowAsync(writer, CancellationToken.None);
                }
            });

    private static async Task<double> MeasureAsync(string connectionString, List<List<ReadingRecord>> rows, string create, string copy,
        Func<NpgsqlBinaryImporter, string, List<ReadingRecord>, Task> write)
    {
        await using var source = NpgsqlDataSource.Create(connectionString);
        await using (var command = source.CreateCommand(create))
        {
            await command.ExecuteNonQueryAsync();
        }

        var stopwatch = Stopwatch.StartNew();
        await using var connection = await source.OpenConnectionAsync();
        for (var agent = 0; agent < rows.Count; agent++)
        {
            await using var transaction = await connection.BeginTransactionAsync();
            await using (var writer = await connection.BeginBinaryImportAsync(copy))
            {
                await write(writer, $"agent-{agent}", rows[agent]);
                await writer.CompleteAsync();
            }

            await transaction.CommitAsync();
        }

        stopwatch.Stop();
        return rows.Sum(r => r.Count) / stopwatch.Elapsed.TotalSeconds;
    }
}
