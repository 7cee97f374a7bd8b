using NpgsqlTypes;

namespace EdgeGreen.ControlPlane.Storage.Postgres;

/// <summary>
/// <c>reading_chunks</c> as a TimescaleDB hypertable, where the extension is installed in the
/// database (<c>CREATE EXTENSION timescaledb</c>): one-day chunks that TimescaleDB makes as rows
/// arrive, compressed by TimescaleDB's own policy once they are <see cref="CompressAfter"/> old
/// (segmented by agent, ordered by hour and first sequence, as raw reads ask for them), and dropped
/// whole by EdgeGreen's raw retention. Reads and commits are the same SQL as on the native day
/// partitions; the rollups stay the tables the commit keeps (see the provider's README for why
/// they are not continuous aggregates).
/// </summary>
internal sealed class ReadingHypertable(PostgresDatabase database) : IReadingTable
{
    /// <summary>How old a day's chunk is when the compression policy added with the hypertable compresses it.</summary>
    public static readonly TimeSpan CompressAfter = TimeSpan.FromDays(2);

    /// <summary>Whether <c>reading_chunks</c> is a hypertable (after <see cref="AdoptSql"/> it is a plain table only as one), not native partitions.</summary>
    public const string IsHypertableSql = "SELECT coalesce((SELECT relkind = 'r' FROM pg_class WHERE oid = to_regclass('reading_chunks')), false)";

    /// <summary>
    /// Makes <c>reading_chunks</c> a hypertable, once, where TimescaleDB is installed in the database
    /// and the table is still the native partitioned one (a new database, or one that ran without the
    /// extension before): under the migration lock, in the migration's transaction, the native table
    /// is renamed, a hypertable of the same columns made, every chunk copied over, and the old table
    /// dropped with its day partitions (and any day a retention pass had detached but not dropped).
    /// Nothing happens without the extension, or once the table is a hypertable.
    /// </summary>
    public static string AdoptSql { get; } = $$"""
        DO $adopt$
        DECLARE
            name text;
        BEGIN
            IF NOT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb')
               OR (SELECT relkind FROM pg_class WHERE oid = to_regclass('reading_chunks')) <> 'p' THEN
                RETURN;
            END IF;

            -- A replica still writing to the native table waits, then fails: nothing it commits
            -- after the copy below could be dropped with the table once acknowledged.
            LOCK TABLE reading_chunks IN ACCESS EXCLUSIVE MODE;
            ALTER TABLE reading_chunks RENAME TO reading_chunks_native;
            ALTER INDEX reading_chunks_agent_hour RENAME TO reading_chunks_native_agent_hour;
            ALTER INDEX reading_chunks_hour RENAME TO reading_chunks_native_hour;

            CREATE TABLE reading_chunks (LIKE reading_chunks_native INCLUDING DEFAULTS INCLUDING CONSTRAINTS);
            PERFORM create_hypertable('reading_chunks', by_range('hour', INTERVAL '1 day'), create_default_indexes => false);
            CREATE INDEX reading_chunks_agent_hour ON reading_chunks (agent_id, hour);
            INSERT INTO reading_chunks SELECT * FROM reading_chunks_native ORDER BY hour, agent_id, first_seq;

            DROP TABLE reading_chunks_native;
            FOR name IN
                SELECT relname FROM pg_class
                WHERE relkind = 'r' AND relname ~ '^reading_chunks_p[0-9]{8}$'
                  AND relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = current_schema())
            LOOP
                EXECUTE format('DROP TABLE %I', name);
            END LOOP;

            ALTER TABLE reading_chunks SET (timescaledb.compress,
                timescaledb.compress_segmentby = 'agent_id', timescaledb.compress_orderby = 'hour, first_seq');
            PERFORM add_compression_policy('reading_chunks', compress_after => INTERVAL '{{(int)CompressAfter.TotalDays}} days');
        END
        $adopt$
        """;

    /// <summary>TimescaleDB makes a chunk when the first row of its day arrives: nothing to prepare.</summary>
    public Task EnsureAsync(IEnumerable<DateOnly> days, CancellationToken cancellationToken) => Task.CompletedTask;

    public void Forget()
    {
    }

    /// <summary>
    /// In one transaction: no chunk is made meanwhile (the lock TimescaleDB takes to make one, held
    /// here), the chunks wholly before the cutoff are locked against writers, their readings counted
    /// and the chunks dropped; then the chunks of the hours before the cutoff in the chunk it falls in
    /// are deleted. A commit with a reading of a dropped day waits, fails, and is tried again by its
    /// agent (nothing of it was acknowledged); readers of other days are not held up.
    /// </summary>
    public Task<long> DeleteBeforeAsync(DateTimeOffset cutoff, CancellationToken cancellationToken) =>
        database.WriteAsync(async (connection, _, token) =>
        {
            await using (var hold = PostgresDatabase.Command(connection, "LOCK TABLE reading_chunks IN SHARE UPDATE EXCLUSIVE MODE"))
            {
                await hold.ExecuteNonQueryAsync(token);
            }

            var chunks = new List<string>();
            await using (var show = PostgresDatabase.Command(connection, "SELECT show_chunks('reading_chunks', older_than => @cutoff)::text"))
            {
                show.Parameters.AddWithValue("cutoff", NpgsqlDbType.TimestampTz, cutoff.UtcDateTime);
                await using var reader = await show.ExecuteReaderAsync(token);
                while (await reader.ReadAsync(token))
                {
                    chunks.Add(reader.GetString(0));
                }
            }

            long deleted = 0;
            if (chunks.Count > 0)
            {
                // The names come from TimescaleDB's catalog as regclass text, quoted where they need it.
                await using (var lockChunks = PostgresDatabase.Command(connection, $"LOCK TABLE {string.Join(", ", chunks)} IN EXCLUSIVE MODE"))
                {
                    await lockChunks.ExecuteNonQueryAsync(token);
                }

                foreach (var chunk in chunks)
                {
                    await using var count = PostgresDatabase.Command(connection, $"SELECT coalesce(sum(readings), 0)::bigint FROM {chunk}");
                    deleted += (long)(await count.ExecuteScalarAsync(token))!;
                }

                await using var drop = PostgresDatabase.Command(connection, "SELECT count(*) FROM drop_chunks('reading_chunks', older_than => @cutoff)");
                drop.Parameters.AddWithValue("cutoff", NpgsqlDbType.TimestampTz, cutoff.UtcDateTime);
                await drop.ExecuteScalarAsync(token);
            }

            await using var command = PostgresDatabase.Command(connection,
                "WITH deleted AS (DELETE FROM reading_chunks WHERE hour < @cutoff RETURNING readings) SELECT coalesce(sum(readings), 0)::bigint FROM deleted");
            command.Parameters.AddWithValue("cutoff", NpgsqlDbType.TimestampTz, cutoff.UtcDateTime);
            return deleted + (long)(await command.ExecuteScalarAsync(token))!;
        }, cancellationToken);
}
