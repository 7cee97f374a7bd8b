using NpgsqlTypes;

namespace EdgeGreen.ControlPlane.Storage.Postgres;

/// <summary>
/// <c>reading_chunks</c> as a TimescaleDB hypertable, where the extension (2.13 or later) is
/// installed in the database (<c>CREATE EXTENSION timescaledb</c>) and
/// <c>EdgeGreen:Storage:TimescaleDb</c> is not <c>Off</c>: one-day chunks that TimescaleDB makes as
/// rows arrive, compressed by TimescaleDB's own policy once they are <see cref="CompressAfter"/> old
/// (segmented by agent, ordered by hour and first sequence, as raw reads ask for them; only under
/// the Timescale License, which compression needs), and dropped whole by EdgeGreen's raw retention.
/// Reads and commits are the same SQL as on the native day partitions; the rollups stay the tables
/// the commit keeps (see the provider's README for why they are not continuous aggregates).
/// </summary>
internal sealed class ReadingHypertable(PostgresDatabase database) : IReadingTable
{
    /// <summary>How old a day's chunk is when the compression policy added with the hypertable compresses it.</summary>
    public static readonly TimeSpan CompressAfter = TimeSpan.FromDays(2);

    /// <summary>How long raw retention waits for a lock before it gives up until its next pass, rather than queue readers and writers behind it.</summary>
    public static readonly TimeSpan RetentionLockTimeout = TimeSpan.FromSeconds(5);

    /// <summary>Whether <c>reading_chunks</c> is a hypertable: a plain table where TimescaleDB is installed (<see cref="AdoptSql"/> makes it only as one), not native partitions.</summary>
    public const string IsHypertableSql = """
        SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb')
           AND coalesce((SELECT relkind = 'r' FROM pg_class WHERE oid = to_regclass('reading_chunks')), false)
        """;

    /// <summary>
    /// A TimescaleDB function, cheap: calling it loads the extension's library, which fails where the
    /// server does not preload it (TimescaleDB's own message, translated to name
    /// <c>shared_preload_libraries</c>). Run at every start and on every new connection once raw
    /// readings are in a hypertable, so that nothing reads or writes them where TimescaleDB would not.
    /// </summary>
    public const string LoadedSql = "SELECT time_bucket(INTERVAL '1 hour', timestamptz '2000-01-01 00:00:00+00')";

    /// <summary>Whether the hypertable has compression on (not in TimescaleDB's Apache-licensed edition).</summary>
    public const string IsCompressedSql = """
        SELECT coalesce((SELECT compression_enabled FROM timescaledb_information.hypertables
                         WHERE hypertable_name = 'reading_chunks' AND hypertable_schema = current_schema()), false)
        """;

    /// <summary>
    /// Makes <c>reading_chunks</c> a hypertable, once, where TimescaleDB is installed in the database
    /// and the table is still the native partitioned one (a new database, or one that ran without the
    /// extension before): under the migration lock, in the migration's transaction, the native table
    /// is renamed, a hypertable of the same columns made, every chunk copied over day by day (those
    /// of days a retention pass had detached, wholly or halfway, but not dropped too, for the next
    /// pass to count and drop), and the native tables dropped. A row trigger refuses any row that
    /// lands in the hypertable's own root table (TimescaleDB itself routes every row to a chunk):
    /// that happens where the server no longer preloads TimescaleDB, and to a statement that began
    /// while the table was being moved (TimescaleDB had looked at the native table); readings
    /// written there would vanish from reads once TimescaleDB reads the table again. Nothing happens without the extension, or once the table is a hypertable; a
    /// TimescaleDB older than 2.13 (no <c>by_range</c>) fails the start with the reason.
    /// </summary>
    public static string AdoptSql { get; } = $$"""
        DO $adopt$
        DECLARE
            version text;
            name text;
        BEGIN
            SELECT extversion INTO version FROM pg_extension WHERE extname = 'timescaledb';
            IF version IS NULL OR (SELECT relkind FROM pg_class WHERE oid = to_regclass('reading_chunks')) IS DISTINCT FROM 'p' THEN
                RETURN;
            END IF;

            IF ARRAY[split_part(version, '.', 1)::int, split_part(version, '.', 2)::int] < ARRAY[2, 13] THEN
                RAISE EXCEPTION 'TimescaleDB % is installed in this database; EdgeGreen keeps raw readings in a hypertable with TimescaleDB 2.13 or later: update the extension (ALTER EXTENSION timescaledb UPDATE), or set EdgeGreen:Storage:TimescaleDb to Off', version
                    USING ERRCODE = 'feature_not_supported';
            END IF;

            -- A replica still writing to the native table waits, then writes to the hypertable by name.
            LOCK TABLE reading_chunks IN ACCESS EXCLUSIVE MODE;
            ALTER TABLE reading_chunks RENAME TO reading_chunks_native;
            ALTER INDEX reading_chunks_agent_hour RENAME TO reading_chunks_native_agent_hour;
            ALTER INDEX reading_chunks_hour RENAME TO reading_chunks_native_hour;

            CREATE TABLE reading_chunks (LIKE reading_chunks_native INCLUDING DEFAULTS INCLUDING CONSTRAINTS);
            PERFORM create_hypertable('reading_chunks', by_range('hour', INTERVAL '1 day'), create_default_indexes => false);
            CREATE INDEX reading_chunks_agent_hour ON reading_chunks (agent_id, hour);
            CREATE FUNCTION reading_chunks_in_chunks_only() RETURNS trigger LANGUAGE plpgsql AS $trigger$
            BEGIN
                IF TG_TABLE_NAME = 'reading_chunks' THEN
                    RAISE EXCEPTION 'raw readings reached the root table of the reading_chunks hypertable, where TimescaleDB does not read them: either the server does not load TimescaleDB (add timescaledb to shared_preload_libraries and restart PostgreSQL), or the statement began while the table was being moved into the hypertable (sent again, it goes to the hypertable)'
                        USING ERRCODE = 'object_not_in_prerequisite_state';
                END IF;
                RETURN NEW;
            END
            $trigger$;
            CREATE TRIGGER reading_chunks_in_chunks_only BEFORE INSERT ON reading_chunks
                FOR EACH ROW EXECUTE FUNCTION reading_chunks_in_chunks_only();

            -- Day by day, each table read alone and then dropped: attached, detached, or left
            -- half-detached by an interrupted DETACH CONCURRENTLY (which a scan of the parent would not read).
            FOR name IN
                SELECT relname FROM pg_class
                WHERE relkind = 'r' AND relname ~ '^reading_chunks_p[0-9]{8}$'
                  AND relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = current_schema())
                ORDER BY relname
            LOOP
                EXECUTE format('INSERT INTO reading_chunks SELECT * FROM ONLY %I ORDER BY hour, agent_id, first_seq', name);
                EXECUTE format('DROP TABLE %I', name);
            END LOOP;
            DROP TABLE reading_chunks_native;

            -- Compression is a Timescale License feature; the Apache-licensed edition keeps chunks as they are.
            IF current_setting('timescaledb.license', true) = 'timescale' THEN
                ALTER TABLE reading_chunks SET (timescaledb.compress,
                    timescaledb.compress_segmentby = 'agent_id', timescaledb.compress_orderby = 'hour, first_seq');
                PERFORM add_compression_policy('reading_chunks', compress_after => INTERVAL '{{(int)CompressAfter.TotalDays}} days');
            END IF;
        END
        $adopt$
        """;

    /// <summary>TimescaleDB makes a chunk when the first row of its day arrives: nothing to prepare.</summary>
    public Task EnsureAsync(IEnumerable<DateOnly> days, CancellationToken cancellationToken) => Task.CompletedTask;

    public void Forget()
    {
    }

    /// <summary>
    /// In one transaction: no chunk is made meanwhile (the lock TimescaleDB takes on the root to make
    /// one, held here), the chunks with any hour before the cutoff are locked against writers, the
    /// readings before the cutoff counted, the chunks wholly before it dropped and the rest of those
    /// hours deleted. Each lock is waited for at most <see cref="RetentionLockTimeout"/>; past it the
    /// pass fails and the next one tries again. A commit that needs a new chunk, or writes a late
    /// reading into a chunk being dropped, waits for the pass.
    /// </summary>
    public Task<long> DeleteBeforeAsync(DateTimeOffset cutoff, CancellationToken cancellationToken) =>
        database.WriteAsync(async (connection, _, token) =>
        {
            await using (var hold = PostgresDatabase.Command(connection, $"""
                SET LOCAL lock_timeout = '{(int)RetentionLockTimeout.TotalMilliseconds}ms';
                LOCK TABLE ONLY reading_chunks IN SHARE UPDATE EXCLUSIVE MODE
                """))
            {
                await hold.ExecuteNonQueryAsync(token);
            }

            var chunks = new List<string>();
            await using (var show = PostgresDatabase.Command(connection, """
                SELECT format('%I.%I', chunk_schema, chunk_name) FROM timescaledb_information.chunks
                WHERE hypertable_name = 'reading_chunks' AND hypertable_schema = current_schema() AND range_start < @cutoff
                """))
            {
                show.Parameters.AddWithValue("cutoff", NpgsqlDbType.TimestampTz, cutoff.UtcDateTime);
                await using var reader = await show.ExecuteReaderAsync(token);
                while (await reader.ReadAsync(token))
                {
                    chunks.Add(reader.GetString(0));
                }
            }

            if (chunks.Count == 0)
            {
                return 0L;
            }

            // Quoted by format('%I.%I') above.
            await using (var lockChunks = PostgresDatabase.Command(connection, $"LOCK TABLE {string.Join(", ", chunks)} IN EXCLUSIVE MODE"))
            {
                await lockChunks.ExecuteNonQueryAsync(token);
            }

            // Counted before anything goes: a DELETE that returned its rows would decompress every
            // compressed batch it touched, where a plain one deletes whole batches as they are.
            var deleted = (long)(await RunAsync("SELECT coalesce(sum(readings), 0)::bigint FROM reading_chunks WHERE hour < @cutoff"))!;
            await RunAsync("SELECT count(*) FROM drop_chunks('reading_chunks', older_than => @cutoff)");
            await RunAsync("DELETE FROM reading_chunks WHERE hour < @cutoff");
            return deleted;

            async Task<object?> RunAsync(string sql)
            {
                await using var step = PostgresDatabase.Command(connection, sql);
                step.Parameters.AddWithValue("cutoff", NpgsqlDbType.TimestampTz, cutoff.UtcDateTime);
                return await step.ExecuteScalarAsync(token);
            }
        }, cancellationToken);
}
