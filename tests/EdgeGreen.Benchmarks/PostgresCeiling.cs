using System.Diagnostics;
using EdgeGreen.ControlPlane.Core.Storage;
using Npgsql;
using NpgsqlTypes;

namespace EdgeGreen.Benchmarks;

/// <summary>
/// PostgreSQL's raw ceiling for the ingest benchmark: the same rows written with binary COPY, one
/// COPY per agent, into a table shaped like the store's <c>readings</c> (same columns and indexes,
/// unpartitioned), with nothing else: no validation, no rollups, no summaries, no gRPC.
/// </summary>
internal static class PostgresCeiling
{
    public static async Task<double> CopyAsync(string connectionString, List<List<ReadingRecord>> rows)
    {
        await using var source = NpgsqlDataSource.Create(connectionString);
        await using (var create = source.CreateCommand("""
            DROP TABLE IF EXISTS ceiling_readings;
            CREATE TABLE ceiling_readings (agent_id text COLLATE "C" NOT NULL, seq bigint NOT NULL, time timestamptz NOT NULL, time_extra_ticks smallint NOT NULL,
                interval_ticks bigint NOT NULL, sensor_id text NOT NULL, domain text COLLATE "C" NOT NULL, energy_joules double precision NOT NULL, provenance smallint NOT NULL);
            CREATE INDEX ON ceiling_readings (agent_id, time);
            CREATE INDEX ON ceiling_readings USING brin (time);
            """))
        {
            await create.ExecuteNonQueryAsync();
        }

        var stopwatch = Stopwatch.StartNew();
        await using var connection = await source.OpenConnectionAsync();
        for (var agent = 0; agent < rows.Count; agent++)
        {
            await using var transaction = await connection.BeginTransactionAsync();
            await using (var writer = await connection.BeginBinaryImportAsync(
                "COPY ceiling_readings (agent_id, seq, time, time_extra_ticks, interval_ticks, sensor_id, domain, energy_joules, provenance) FROM STDIN (FORMAT BINARY)"))
            {
                var id = $"agent-{agent}";
                foreach (var reading in rows[agent])
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

                await writer.CompleteAsync();
            }

            await transaction.CommitAsync();
        }

        stopwatch.Stop();
        return rows.Sum(r => r.Count) / stopwatch.Elapsed.TotalSeconds;
    }
}
