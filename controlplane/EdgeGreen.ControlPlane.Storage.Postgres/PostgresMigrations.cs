using Npgsql;

namespace EdgeGreen.ControlPlane.Storage.Postgres;

/// <summary>
/// The schema as numbered scripts, applied in order, each once, and recorded in
/// <c>schema_migrations</c>. All of a start's pending scripts run in one transaction that first
/// takes <see cref="MigrationLock"/>, so replicas starting together apply each script exactly
/// once: the others wait, then find nothing left to do. A script, once released, is never
/// edited; a change to the schema is a new script at the end. After the scripts, in the same
/// transaction, <c>reading_chunks</c> becomes a TimescaleDB hypertable where the extension is
/// installed in the database and the table is not one yet (<see cref="ReadingHypertable.AdoptSql"/>).
/// </summary>
internal static class PostgresMigrations
{
    /// <summary>The transaction-level advisory lock every replica takes to migrate (the bytes of "EGschema").</summary>
    public const long MigrationLock = 0x4547_7363_6865_6D61;

    public static IReadOnlyList<(int Version, string Sql)> Scripts { get; } =
    [
        (1, Initial),
        (2, Cluster),
        (3, Pipelines),
        (4, Deployments),
        (5, Monitoring),
        (6, Alerts),
        (7, PackedReadings),
        (8, ClosedHours),
    ];

    public static int LatestVersion => Scripts[^1].Version;

    /// <summary>What a start's migration did, and how <c>reading_chunks</c> is split by time after it.</summary>
    /// <param name="Applied">The versions of the scripts applied (empty when the schema was current).</param>
    /// <param name="Adopted">Whether <c>reading_chunks</c> became a hypertable in this migration.</param>
    /// <param name="Hypertable">Whether <c>reading_chunks</c> is a TimescaleDB hypertable (else native day partitions).</param>
    /// <param name="Compressed">Whether the hypertable has TimescaleDB compression on (not in TimescaleDB's Apache-licensed edition).</param>
    public sealed record Outcome(IReadOnlyList<int> Applied, bool Adopted, bool Hypertable, bool Compressed);

    /// <summary>
    /// Applies the scripts the database lacks, then, unless <paramref name="timescaleDb"/> is
    /// <see cref="TimescaleDbUse.Off"/>, adopts TimescaleDB where it is installed. Where raw readings
    /// are in a hypertable, <see cref="ReadingHypertable.LoadedSql"/> runs, so that a server that does
    /// not preload TimescaleDB fails the start instead of taking readings into the hypertable's root table.
    /// </summary>
    public static async Task<Outcome> ApplyAsync(NpgsqlConnection connection, TimescaleDbUse timescaleDb, CancellationToken cancellationToken)
    {
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        // No command timeout here or below: a replica waits for another's migration to finish, and
        // a script that repacks a table takes as long as the table needs.
        await using (var lockCommand = new NpgsqlCommand("SELECT pg_advisory_xact_lock(@key)", connection) { CommandTimeout = 0 })
        {
            lockCommand.Parameters.AddWithValue("key", MigrationLock);
            await lockCommand.ExecuteNonQueryAsync(cancellationToken);
        }

        await Execute(connection, "CREATE TABLE IF NOT EXISTS schema_migrations (version int PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())", cancellationToken);
        var present = new HashSet<int>();
        await using (var select = new NpgsqlCommand("SELECT version FROM schema_migrations", connection))
        await using (var reader = await select.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                present.Add(reader.GetInt32(0));
            }
        }

        var applied = new List<int>();
        foreach (var (version, sql) in Scripts.Where(s => !present.Contains(s.Version)))
        {
            await Execute(connection, sql, cancellationToken);
            await using var record = new NpgsqlCommand("INSERT INTO schema_migrations (version) VALUES (@version)", connection);
            record.Parameters.AddWithValue("version", version);
            await record.ExecuteNonQueryAsync(cancellationToken);
            applied.Add(version);
        }

        var wasHypertable = await ScalarAsync<bool>(connection, ReadingHypertable.IsHypertableSql, cancellationToken);
        if (timescaleDb == TimescaleDbUse.Auto)
        {
            await Execute(connection, ReadingHypertable.AdoptSql, cancellationToken);
        }

        var hypertable = await ScalarAsync<bool>(connection, ReadingHypertable.IsHypertableSql, cancellationToken);
        if (hypertable)
        {
            await Execute(connection, ReadingHypertable.LoadedSql, cancellationToken);
        }

        var compressed = hypertable && await ScalarAsync<bool>(connection, ReadingHypertable.IsCompressedSql, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return new Outcome(applied, hypertable && !wasHypertable, hypertable, compressed);
    }

    private static async Task<T> ScalarAsync<T>(NpgsqlConnection connection, string sql, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        return (T)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    private static async Task Execute(NpgsqlConnection connection, string sql, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(sql, connection) { CommandTimeout = 0 };
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>
    /// Version 1. Identifiers and other keys compare byte-wise (<c>COLLATE "C"</c>), as the other
    /// provider compares them ordinally. Instants outside the telemetry tables are UTC ticks
    /// (<c>bigint</c>), as <see cref="Ticks"/> asks: exact to 100 ns, where <c>timestamptz</c> keeps
    /// microseconds. Records that grow field by field are <c>jsonb</c> bodies beside the columns
    /// their queries filter and sort on.
    /// </summary>
    private const string Initial = """
        CREATE TABLE agents (
            id text COLLATE "C" PRIMARY KEY,
            name text COLLATE "C" NOT NULL,
            credential_hash text COLLATE "C" NOT NULL UNIQUE,
            body jsonb NOT NULL);

        CREATE TABLE api_keys (
            id text COLLATE "C" PRIMARY KEY,
            name text NOT NULL,
            role text NOT NULL,
            key_hash text COLLATE "C" NOT NULL UNIQUE,
            created_at_ticks bigint NOT NULL);

        CREATE TABLE enrollment_tokens (
            token_hash text COLLATE "C" PRIMARY KEY,
            created_at_ticks bigint NOT NULL,
            expires_at_ticks bigint NOT NULL);
        CREATE INDEX enrollment_tokens_expiry ON enrollment_tokens (expires_at_ticks);

        CREATE TABLE jobs (
            id text COLLATE "C" PRIMARY KEY,
            name text COLLATE "C" NOT NULL,
            status text COLLATE "C" NOT NULL,
            submitted_at_ticks bigint NOT NULL,
            finished_at_ticks bigint,
            body jsonb NOT NULL);
        CREATE INDEX jobs_submitted ON jobs (submitted_at_ticks);
        CREATE INDEX jobs_status ON jobs (status, submitted_at_ticks);
        CREATE INDEX jobs_name ON jobs (name, submitted_at_ticks);
        CREATE INDEX jobs_finished ON jobs (finished_at_ticks) WHERE finished_at_ticks IS NOT NULL;

        CREATE TABLE dataset_versions (
            name text COLLATE "C" NOT NULL,
            version int NOT NULL,
            sha256 text COLLATE "C" NOT NULL,
            body jsonb NOT NULL,
            PRIMARY KEY (name, version));
        CREATE INDEX dataset_versions_sha256 ON dataset_versions (sha256);

        CREATE TABLE models (
            name text COLLATE "C" PRIMARY KEY,
            body jsonb NOT NULL);

        CREATE TABLE model_versions (
            name text COLLATE "C" NOT NULL,
            version int NOT NULL,
            job_id text COLLATE "C",
            body jsonb NOT NULL,
            PRIMARY KEY (name, version));
        CREATE INDEX model_versions_job ON model_versions (name, job_id) WHERE job_id IS NOT NULL;

        CREATE TABLE webhooks (
            id text COLLATE "C" PRIMARY KEY,
            url text NOT NULL,
            events text[] NOT NULL,
            secret text NOT NULL,
            created_at_ticks bigint NOT NULL);

        -- Readiness writes here while a write has failed for a full disk, to see it clear.
        CREATE TABLE storage_probe (
            id int PRIMARY KEY,
            at timestamptz NOT NULL);

        -- One row per agent, locked by each group commit that touches the agent.
        CREATE TABLE telemetry_summaries (
            agent_id text COLLATE "C" PRIMARY KEY,
            durable_sequence bigint NOT NULL DEFAULT 0,
            reading_count bigint NOT NULL DEFAULT 0,
            energy_joules double precision NOT NULL DEFAULT 0,
            last_reading_at_ticks bigint,
            latest_power jsonb NOT NULL DEFAULT '{}',
            last_received_at_ticks bigint);

        -- Raw readings, one partition per UTC day (readings_pYYYYMMDD, made as commits need them),
        -- so that retention drops whole days. A reading is filed by the end of its interval; time is
        -- that instant to the microsecond and time_extra_ticks the 100 ns ticks below it (0-9).
        CREATE TABLE readings (
            agent_id text COLLATE "C" NOT NULL,
            seq bigint NOT NULL,
            time timestamptz NOT NULL,
            time_extra_ticks smallint NOT NULL,
            interval_ticks bigint NOT NULL,
            sensor_id text NOT NULL,
            domain text COLLATE "C" NOT NULL,
            energy_joules double precision NOT NULL,
            provenance smallint NOT NULL)
            PARTITION BY RANGE (time);
        CREATE INDEX readings_agent_time ON readings (agent_id, time);
        -- Retention deletes by time alone in the day its cutoff falls in.
        CREATE INDEX readings_time ON readings USING brin (time);

        -- Rollups per agent x domain and per zone; bucket = TelemetryTiers.BucketIndex (minutes or
        -- hours since the Unix epoch). Rows arrive in bucket order, so a BRIN index serves retention.
        CREATE TABLE rollup_minute (
            agent_id text COLLATE "C" NOT NULL,
            domain text COLLATE "C" NOT NULL,
            bucket bigint NOT NULL,
            energy_joules double precision NOT NULL,
            covered_seconds double precision NOT NULL,
            readings bigint NOT NULL,
            PRIMARY KEY (agent_id, bucket, domain));
        CREATE INDEX rollup_minute_bucket ON rollup_minute USING brin (bucket);

        CREATE TABLE rollup_hour (
            agent_id text COLLATE "C" NOT NULL,
            domain text COLLATE "C" NOT NULL,
            bucket bigint NOT NULL,
            energy_joules double precision NOT NULL,
            covered_seconds double precision NOT NULL,
            readings bigint NOT NULL,
            PRIMARY KEY (agent_id, bucket, domain));
        CREATE INDEX rollup_hour_bucket ON rollup_hour USING brin (bucket);

        CREATE TABLE zone_minute (
            zone text COLLATE "C" NOT NULL,
            bucket bigint NOT NULL,
            energy_joules double precision NOT NULL,
            readings bigint NOT NULL,
            PRIMARY KEY (bucket, zone));

        CREATE TABLE zone_hour (
            zone text COLLATE "C" NOT NULL,
            bucket bigint NOT NULL,
            energy_joules double precision NOT NULL,
            readings bigint NOT NULL,
            PRIMARY KEY (bucket, zone));
        """;

    /// <summary>Replicas and the leadership lease (one row), on the database's clock.</summary>
    private const string Cluster = """
        CREATE TABLE cluster_replicas (
            id text COLLATE "C" PRIMARY KEY,
            http_url text,
            grpc_url text,
            version text NOT NULL,
            started_at timestamptz NOT NULL,
            last_seen timestamptz NOT NULL);

        CREATE TABLE cluster_leader (
            id int PRIMARY KEY CHECK (id = 1),
            holder text COLLATE "C" NOT NULL,
            expires_at timestamptz NOT NULL);
        """;

    /// <summary>Pipeline versions, runs (with a revision for optimistic updates) and the step cache.</summary>
    private const string Pipelines = """
        CREATE TABLE pipeline_versions (
            name text COLLATE "C" NOT NULL,
            version int NOT NULL,
            definition jsonb NOT NULL,
            body jsonb NOT NULL,
            PRIMARY KEY (name, version));

        CREATE TABLE pipeline_runs (
            id text COLLATE "C" PRIMARY KEY,
            pipeline text COLLATE "C" NOT NULL,
            created_at_ticks bigint NOT NULL,
            active boolean NOT NULL,
            revision bigint NOT NULL,
            body jsonb NOT NULL);
        CREATE INDEX pipeline_runs_pipeline ON pipeline_runs (pipeline, created_at_ticks DESC);
        CREATE INDEX pipeline_runs_active ON pipeline_runs (active) WHERE active;

        CREATE TABLE pipeline_cache (
            key text COLLATE "C" PRIMARY KEY,
            body jsonb NOT NULL);
        """;

    /// <summary>Deployments (desired state), with a revision for optimistic updates.</summary>
    private const string Deployments = """
        CREATE TABLE deployments (
            name text COLLATE "C" PRIMARY KEY,
            revision bigint NOT NULL,
            body jsonb NOT NULL);
        """;

    private const string Monitoring = """
        CREATE TABLE monitoring_seen (
            agent_id text COLLATE "C" NOT NULL,
            id text COLLATE "C" NOT NULL,
            at_ticks bigint NOT NULL,
            PRIMARY KEY (agent_id, id));
        CREATE INDEX monitoring_seen_at ON monitoring_seen (at_ticks);
        CREATE TABLE monitoring_hours (
            deployment text COLLATE "C" NOT NULL,
            model text COLLATE "C" NOT NULL,
            version int NOT NULL,
            hour_ticks bigint NOT NULL,
            body jsonb NOT NULL,
            PRIMARY KEY (deployment, hour_ticks, model, version));
        CREATE INDEX monitoring_hours_hour ON monitoring_hours (hour_ticks);
        CREATE TABLE monitoring_predictions (
            deployment text COLLATE "C" NOT NULL,
            request_id text COLLATE "C" NOT NULL,
            time_ticks bigint NOT NULL,
            body jsonb NOT NULL,
            PRIMARY KEY (deployment, request_id));
        CREATE INDEX monitoring_predictions_time ON monitoring_predictions (time_ticks);
        CREATE INDEX monitoring_predictions_deployment_time ON monitoring_predictions (deployment, time_ticks);
        CREATE TABLE monitoring_samples (
            id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            deployment text COLLATE "C" NOT NULL,
            time_ticks bigint NOT NULL,
            body jsonb NOT NULL);
        CREATE INDEX monitoring_samples_deployment_time ON monitoring_samples (deployment, time_ticks);
        CREATE INDEX monitoring_samples_time ON monitoring_samples (time_ticks);
        """;

    /// <summary>Alert rules, and each rule's alerts by label key (state and history in the body).</summary>
    private const string Alerts = """
        CREATE TABLE alert_rules (
            name text COLLATE "C" PRIMARY KEY,
            body jsonb NOT NULL);
        CREATE TABLE alerts (
            rule text COLLATE "C" NOT NULL,
            key text COLLATE "C" NOT NULL,
            body jsonb NOT NULL,
            PRIMARY KEY (rule, key));
        """;
    /// <summary>
    /// Version 7. Raw readings packed (see <see cref="ReadingChunk"/>): a row per agent, hour and
    /// commit instead of a row per reading, in day partitions of <c>reading_chunks</c>. The readings
    /// of version 1's <c>readings</c> are packed here, a chunk per agent and hour, and the old table
    /// is dropped with its partitions (and any day a retention pass had detached but not dropped).
    /// A reading's ticks are its time to the microsecond, times 10, plus the ticks below it, plus
    /// the ticks from 0001-01-01 to the Unix epoch; sensor and domain are 0-based array indexes.
    /// </summary>
    private const string PackedReadings = """
        -- A replica of an older version still writing here waits, then fails: nothing it commits
        -- after the copy below could be dropped with the table once acknowledged.
        LOCK TABLE readings IN ACCESS EXCLUSIVE MODE;

        CREATE TABLE reading_chunks (
            agent_id text COLLATE "C" NOT NULL,
            hour timestamptz NOT NULL,
            first_seq bigint NOT NULL,
            readings integer NOT NULL,
            sensors text[] NOT NULL,
            domains text[] NOT NULL,
            data bytea NOT NULL)
            PARTITION BY RANGE (hour);
        CREATE INDEX reading_chunks_agent_hour ON reading_chunks (agent_id, hour);
        -- Retention deletes by hour alone in the day its cutoff falls in.
        CREATE INDEX reading_chunks_hour ON reading_chunks USING brin (hour);

        DO $$
        DECLARE
            day date;
        BEGIN
            FOR day IN
                SELECT to_date(substr(c.relname, 11), 'YYYYMMDD')
                FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
                WHERE i.inhparent = 'readings'::regclass
            LOOP
                EXECUTE format('CREATE TABLE %I (LIKE reading_chunks INCLUDING DEFAULTS INCLUDING CONSTRAINTS)', 'reading_chunks_p' || to_char(day, 'YYYYMMDD'));
                EXECUTE format('ALTER TABLE reading_chunks ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)',
                    'reading_chunks_p' || to_char(day, 'YYYYMMDD'), day::text || ' 00:00:00+00', (day + 1)::text || ' 00:00:00+00');
            END LOOP;
        END
        $$;

        WITH r AS (
            SELECT *, date_bin('1 hour', time, timestamptz '1970-01-01 00:00:00+00') AS hour FROM readings),
        names AS (
            SELECT agent_id, hour, array_agg(DISTINCT sensor_id) AS sensors, array_agg(DISTINCT domain) AS domains
            FROM r GROUP BY agent_id, hour)
        INSERT INTO reading_chunks (agent_id, hour, first_seq, readings, sensors, domains, data)
        SELECT r.agent_id, r.hour, min(r.seq), count(*)::integer, n.sensors, n.domains,
            string_agg(
                int8send(r.seq)
                || int8send((extract(epoch FROM r.time) * 10000000)::bigint + r.time_extra_ticks + 621355968000000000)
                || int8send(r.interval_ticks)
                || int2send((array_position(n.sensors, r.sensor_id) - 1)::smallint)
                || int2send((array_position(n.domains, r.domain) - 1)::smallint)
                || float8send(r.energy_joules)
                || int2send(r.provenance),
                ''::bytea ORDER BY r.seq)
        FROM r JOIN names n ON n.agent_id = r.agent_id AND n.hour = r.hour
        GROUP BY r.agent_id, r.hour, n.sensors, n.domains;

        DROP TABLE readings;
        DO $$
        DECLARE
            name text;
        BEGIN
            FOR name IN
                SELECT relname FROM pg_class
                WHERE relkind = 'r' AND relname ~ '^readings_p[0-9]{8}$'
                  AND relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = current_schema())
            LOOP
                EXECUTE format('DROP TABLE %I', name);
            END LOOP;
        END
        $$;
        """;

    /// <summary>
    /// Version 8. Commits write an agent's hour rollups only for the hours before its
    /// <c>hours_closed_until</c> (an hour index); the hours from there on are summed from the minute
    /// rollups when read, and folded into the hour tier once they have ended (see
    /// <see cref="PostgresTelemetryStore.CloseHoursAsync"/>). Every hour row that exists was kept up
    /// to date by the commits before this version, so each agent starts closed up to the hour after
    /// its newest one or the present's, whichever is later. The table is renamed, so that a replica
    /// of an older version, which would add to hours this one has not closed, fails instead.
    /// </summary>
    private const string ClosedHours = """
        -- In the order every commit takes them, so that an old replica's commit either finishes
        -- first or fails after.
        LOCK TABLE telemetry_summaries, rollup_hour IN ACCESS EXCLUSIVE MODE;

        ALTER TABLE rollup_hour RENAME TO rollup_hour_closed;
        ALTER INDEX rollup_hour_pkey RENAME TO rollup_hour_closed_pkey;
        ALTER INDEX rollup_hour_bucket RENAME TO rollup_hour_closed_bucket;

        ALTER TABLE telemetry_summaries ADD COLUMN hours_closed_until bigint NOT NULL DEFAULT 0;
        UPDATE telemetry_summaries s SET hours_closed_until = GREATEST(
            floor(extract(epoch FROM now()) / 3600)::bigint + 1,
            COALESCE((SELECT max(h.bucket) + 1 FROM rollup_hour_closed h WHERE h.agent_id = s.agent_id), 0));
        """;
}
