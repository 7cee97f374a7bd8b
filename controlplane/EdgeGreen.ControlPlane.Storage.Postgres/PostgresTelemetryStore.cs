using System.Runtime.CompilerServices;
using EdgeGreen.ControlPlane.Core.Telemetry;
using Npgsql;
using NpgsqlTypes;

namespace EdgeGreen.ControlPlane.Storage.Postgres;

/// <summary>
/// Telemetry in a fixed set of tables, whatever the number of agents:
/// <list type="bullet">
/// <item><c>telemetry_summaries</c>: one row per agent (durable sequence, totals, latest power);</item>
/// <item><c>reading_chunks</c>: raw readings packed a row per agent, hour and commit (see
/// <see cref="ReadingChunk"/>), partitioned by UTC day (see <see cref="ReadingPartitions"/>, or
/// <see cref="ReadingHypertable"/> where TimescaleDB is installed),
/// written with binary COPY and indexed on (agent, hour);</item>
/// <item><c>rollup_minute</c>, <c>rollup_hour_closed</c>: per agent × domain × bucket; the hour
/// tier of the hours before the agent's <c>hours_closed_until</c> only (see
/// <see cref="CloseHoursAsync"/>);</item>
/// <item><c>zone_minute</c>, <c>zone_hour</c>: per zone × bucket.</item>
/// </list>
/// A group commit locks the summaries of its agents, plans with <see cref="TelemetryAppends"/>
/// (the bookkeeping every provider shares), copies the fresh readings in and adds the rollup
/// deltas with one upsert per table, all in one transaction: the rollups always count exactly
/// the stored readings, and replicas committing for the same agent take turns.
/// <para>
/// An agent's open hours (from its mark on) are kept in the minute tier alone: adding every
/// commit's deltas to its hour rows too made a third of a commit's row writes (measured: 10,000
/// agents fell behind with them, and held without). An hour query sums the minutes of the hours
/// not yet closed, in the same statement, so it answers the same.
/// </para>
/// </summary>
public sealed class PostgresTelemetryStore : ITelemetryStore
{
    private const string CopyChunks = "COPY reading_chunks " + ReadingChunk.Columns + " FROM STDIN (FORMAT BINARY)";

    private const string SummaryColumns = "agent_id, durable_sequence, reading_count, energy_joules, last_reading_at_ticks, latest_power, last_received_at_ticks";

    /// <summary>
    /// How many agents one transaction of <see cref="CloseHoursAsync"/> takes: their commits wait
    /// for it, so it is short.
    /// </summary>
    private const int AgentsPerClose = 250;

    private readonly PostgresDatabase _database;
    private readonly ReadingPartitions _partitions;
    private readonly ReadingHypertable _hypertable;

    public PostgresTelemetryStore(PostgresDatabase database)
    {
        _database = database;
        _partitions = new ReadingPartitions(database);
        _hypertable = new ReadingHypertable(database);
    }

    /// <summary>
    /// Commits for different agents lock different summary and rollup rows and overlap, up to the
    /// shared zone rows, which each takes last, just before it commits.
    /// </summary>
    public int ConcurrentCommits => 4;

    public async Task<IReadOnlyList<AppendResult>> AppendAsync(IReadOnlyList<TelemetryBatch> batches, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(batches);
        if (batches.Count == 0)
        {
            return [];
        }

        var days = batches.SelectMany(b => b.Readings).Select(r => ReadingPartitions.DayOf(r.Time)).ToHashSet();
        var table = await ReadingTableAsync(cancellationToken);
        await table.EnsureAsync(days, cancellationToken);
        try
        {
            return await _database.WriteAsync((connection, _, token) => CommitAsync(connection, batches, token), cancellationToken);
        }
        catch (StorageException ex) when (PostgresDatabase.SqlState(ex) == PostgresErrorCodes.CheckViolation)
        {
            // "No partition of relation reading_chunks found for row": another replica's retention dropped
            // a day this one remembered. Nothing was stored; make the day again and commit once more.
            table.Forget();
            await table.EnsureAsync(days, cancellationToken);
            return await _database.WriteAsync((connection, _, token) => CommitAsync(connection, batches, token), cancellationToken);
        }
    }

    public Task<long> GetDurableSequenceAsync(string agentId, CancellationToken cancellationToken) =>
        _database.ReadAsync(async (connection, token) =>
        {
            await using var command = PostgresDatabase.Command(connection, "SELECT durable_sequence FROM telemetry_summaries WHERE agent_id = @agent");
            command.Parameters.AddWithValue("agent", agentId);
            return await command.ExecuteScalarAsync(token) is long sequence ? sequence : 0;
        }, cancellationToken);

    public async Task<TelemetrySummary?> GetSummaryAsync(string agentId, CancellationToken cancellationToken) =>
        (await ReadSummariesAsync($"SELECT {SummaryColumns} FROM telemetry_summaries WHERE agent_id = @agent", p => p.AddWithValue("agent", agentId),
            cancellationToken)).FirstOrDefault();

    public async Task<IReadOnlyList<TelemetrySummary>> ListSummariesAsync(CancellationToken cancellationToken) =>
        await ReadSummariesAsync($"SELECT {SummaryColumns} FROM telemetry_summaries ORDER BY agent_id", _ => { }, cancellationToken);

    public IAsyncEnumerable<EnergyBucket> ReadAgentAsync(string agentId, string? domain, TelemetryTier tier, DateTimeOffset from, DateTimeOffset to,
        CancellationToken cancellationToken)
    {
        if (tier == TelemetryTier.Raw)
        {
            return ReadReadingsAsync(agentId, domain, from, to, cancellationToken)
                .Select(r => new EnergyBucket(r.Time, r.Domain, r.EnergyJoules, r.Interval.TotalSeconds, 1));
        }

        var size = tier.BucketSize();
        var ofDomain = domain is null ? "" : "AND domain = @domain";
        // One statement, so that the mark and both tiers are read as of one instant.
        var sql = tier == TelemetryTier.Minute
            ? $"""
                SELECT bucket, domain, energy_joules, covered_seconds, readings FROM rollup_minute
                WHERE agent_id = @agent AND bucket >= @from AND bucket < @to {ofDomain}
                ORDER BY bucket, domain
                """
            : $"""
                WITH mark AS (SELECT hours_closed_until AS closed FROM telemetry_summaries WHERE agent_id = @agent)
                SELECT bucket, domain, energy_joules, covered_seconds, readings FROM rollup_hour_closed, mark
                WHERE agent_id = @agent AND bucket >= @from AND bucket < LEAST(@to, closed) {ofDomain}
                UNION ALL
                SELECT bucket / {MinutesPerHour}, domain, sum(energy_joules), sum(covered_seconds), sum(readings)::bigint FROM rollup_minute, mark
                WHERE agent_id = @agent AND bucket >= GREATEST(@from, closed) * {MinutesPerHour} AND bucket < @to * {MinutesPerHour} {ofDomain}
                GROUP BY 1, 2
                ORDER BY 1, 2
                """;
        return _database.StreamAsync(sql,
            p =>
            {
                p.AddWithValue("agent", agentId);
                p.AddWithValue("from", Bucket(from, size));
                p.AddWithValue("to", Bucket(to, size));
                if (domain is not null)
                {
                    p.AddWithValue("domain", domain);
                }
            },
            r => new EnergyBucket(TelemetryTiers.BucketStart(r.GetInt64(0), size), r.GetString(1), r.GetDouble(2), r.GetDouble(3), r.GetInt64(4)),
            cancellationToken);
    }

    /// <summary>
    /// The agent's chunks of the hours the range touches, in hour order, from one data reader; an
    /// hour's readings are unpacked, filtered and sorted together (its chunks may overlap in time),
    /// so memory holds one hour of one agent, whatever the range.
    /// </summary>
    public async IAsyncEnumerable<ReadingRecord> ReadReadingsAsync(string agentId, string? domain, DateTimeOffset from, DateTimeOffset to,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        if (to <= from)
        {
            yield break;
        }

        var chunks = _database.StreamAsync($"""
            SELECT hour, first_seq, sensors, domains, data FROM reading_chunks
            WHERE agent_id = @agent AND hour >= @from AND hour <= @last {(domain is null ? "" : "AND @domain = ANY(domains)")}
            ORDER BY hour, first_seq
            """,
            p =>
            {
                p.AddWithValue("agent", agentId);
                p.AddWithValue("from", NpgsqlDbType.TimestampTz, HourOf(from));
                p.AddWithValue("last", NpgsqlDbType.TimestampTz, HourOf(to - TimeSpan.FromTicks(1)));
                if (domain is not null)
                {
                    p.AddWithValue("domain", domain);
                }
            },
            r => new ReadingChunk(agentId, r.GetFieldValue<DateTime>(0), r.GetInt64(1), r.GetFieldValue<string[]>(2), r.GetFieldValue<string[]>(3),
                r.GetFieldValue<byte[]>(4)),
            cancellationToken);
        var hour = new List<ReadingChunk>();
        await foreach (var chunk in chunks)
        {
            if (hour.Count > 0 && hour[0].Hour != chunk.Hour)
            {
                foreach (var reading in InRange(hour))
                {
                    yield return reading;
                }

                hour.Clear();
            }

            hour.Add(chunk);
        }

        foreach (var reading in InRange(hour))
        {
            yield return reading;
        }

        IEnumerable<ReadingRecord> InRange(List<ReadingChunk> chunks) => chunks.SelectMany(Unpack)
            .Where(r => r.Time >= from && r.Time < to && (domain is null || r.Domain == domain))
            .OrderBy(r => r.Time).ThenBy(r => r.Sequence);
    }

    public IAsyncEnumerable<ZoneBucket> ReadZonesAsync(TelemetryTier tier, DateTimeOffset from, DateTimeOffset to, CancellationToken cancellationToken)
    {
        var size = tier.BucketSize();
        return _database.StreamAsync($"""
            SELECT bucket, zone, energy_joules, readings FROM {ZoneRollupTable(tier)}
            WHERE bucket >= @from AND bucket < @to
            ORDER BY bucket, zone
            """,
            p =>
            {
                p.AddWithValue("from", Bucket(from, size));
                p.AddWithValue("to", Bucket(to, size));
            },
            r => new ZoneBucket(TelemetryTiers.BucketStart(r.GetInt64(0), size), r.GetString(1), r.GetDouble(2), r.GetInt64(3)),
            cancellationToken);
    }

    /// <summary>A chunk that does not decode is damaged data: a fault of the store, as a damaged page would be.</summary>
    private static IReadOnlyList<ReadingRecord> Unpack(ReadingChunk chunk)
    {
        try
        {
            return chunk.Unpack();
        }
        catch (Exception ex) when (ex is InvalidDataException or IndexOutOfRangeException)
        {
            throw new StorageException(StorageFault.Corrupt, $"A reading chunk of agent {chunk.AgentId} at {chunk.Hour:O} cannot be read: {ex.Message}", ex);
        }
    }

    /// <summary>
    /// Folds the minute rollups of each agent's hours that ended before <paramref name="now"/>'s
    /// clock hour into the hour tier and moves the agent's mark past them, a few hundred agents per
    /// transaction. Each transaction locks its agents' summary rows first, as their commits do, and
    /// sums the minutes in a statement after that: a commit that was under way is in the sum, and
    /// one that comes after finds the hour closed and adds to the hour row itself.
    /// </summary>
    public async Task<long> CloseHoursAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        var until = Bucket(now, TelemetryTiers.Hour);
        var after = "";
        long closed = 0;
        while (true)
        {
            var from = after;
            var locked = await _database.WriteAsync(async (connection, _, token) =>
            {
                var agents = new List<string>();
                await using (var select = PostgresDatabase.Command(connection, """
                    SELECT agent_id FROM telemetry_summaries WHERE agent_id > @after AND hours_closed_until < @until
                    ORDER BY agent_id LIMIT @limit FOR UPDATE
                    """))
                {
                    select.Parameters.AddWithValue("after", from);
                    select.Parameters.AddWithValue("until", until);
                    select.Parameters.AddWithValue("limit", AgentsPerClose);
                    await using var reader = await select.ExecuteReaderAsync(token);
                    while (await reader.ReadAsync(token))
                    {
                        agents.Add(reader.GetString(0));
                    }
                }

                if (agents.Count > 0)
                {
                    // A statement of its own, so that it sees every commit that held these rows before.
                    await using var fold = PostgresDatabase.Command(connection, $"""
                        WITH marks AS (
                            SELECT agent_id, hours_closed_until AS closed FROM telemetry_summaries WHERE agent_id = ANY(@agents)),
                        folded AS (
                            INSERT INTO rollup_hour_closed (agent_id, domain, bucket, energy_joules, covered_seconds, readings)
                            SELECT m.agent_id, m.domain, m.bucket / {MinutesPerHour}, sum(m.energy_joules), sum(m.covered_seconds), sum(m.readings)
                            FROM rollup_minute m JOIN marks ON marks.agent_id = m.agent_id
                            WHERE m.bucket >= marks.closed * {MinutesPerHour} AND m.bucket < @until * {MinutesPerHour}
                            GROUP BY m.agent_id, m.bucket / {MinutesPerHour}, m.domain)
                        UPDATE telemetry_summaries SET hours_closed_until = @until WHERE agent_id = ANY(@agents)
                        """);
                    // No timeout: an hourly fold sums an hour, but the first after a copy from LiteDB
                    // (every agent's mark at 0) sums every minute kept, and failing would repeat at every pass.
                    fold.CommandTimeout = 0;
                    fold.Parameters.AddWithValue("agents", agents.ToArray());
                    fold.Parameters.AddWithValue("until", until);
                    await fold.ExecuteNonQueryAsync(token);
                }

                return agents;
            }, cancellationToken);
            closed += locked.Count;
            if (locked.Count < AgentsPerClose)
            {
                return closed;
            }

            after = locked[^1];
        }
    }

    public async Task<RetentionResult> DeleteBeforeAsync(RetentionCutoffs cutoffs, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(cutoffs);
        // Raw readings go by whole hours, as the LiteDB provider files them, so both keep the same.
        // Looked at again each pass: another replica may have moved the readings into a hypertable.
        var raw = cutoffs.Raw is { } rawCutoff
            ? await (await _database.RefreshReadingsLayoutAsync(cancellationToken) ? (IReadingTable)_hypertable : _partitions).DeleteBeforeAsync(TelemetryTiers.BucketStart(Bucket(rawCutoff, TelemetryTiers.Hour), TelemetryTiers.Hour), cancellationToken)
            : 0;
        // Minutes go only once their hour is folded (the delete checks the mark too), and an hour the
        // hour tier drops must be folded first: closing an hour early is correct, the commits after it
        // add to the hour row.
        if (new[] { cutoffs.Minute + TelemetryTiers.Hour, cutoffs.Hour }.Max() is { } foldBefore)
        {
            await CloseHoursAsync(foldBefore, cancellationToken);
        }

        var minute = await DeleteRollupsAsync(TelemetryTier.Minute, cutoffs.Minute, cancellationToken);
        var hour = await DeleteRollupsAsync(TelemetryTier.Hour, cutoffs.Hour, cancellationToken);
        return new RetentionResult(raw, minute, hour);
    }

    /// <summary>How <c>reading_chunks</c> is split by time in this database, the schema migrated first when it has not been.</summary>
    private async Task<IReadingTable> ReadingTableAsync(CancellationToken cancellationToken)
    {
        await _database.EnsureMigratedAsync(cancellationToken);
        return _database.ReadingsInHypertable ? _hypertable : _partitions;
    }

    private static async Task<IReadOnlyList<AppendResult>> CommitAsync(NpgsqlConnection connection, IReadOnlyList<TelemetryBatch> batches, CancellationToken cancellationToken)
    {
        var stored = await LockSummariesAsync(connection, [.. batches.Select(b => b.AgentId).Distinct().Order(StringComparer.Ordinal)], cancellationToken);
        var plan = TelemetryAppends.Plan(batches, agentId => stored.GetValueOrDefault(agentId).Summary);
        await CopyAsync(connection, plan, cancellationToken);

        await using var batch = new NpgsqlBatch(connection);
        AddAgentRollups(batch, TelemetryTier.Minute, plan.Rollups.AgentDeltasInKeyOrder(TelemetryTier.Minute));
        // Hours not yet closed are summed from the minutes when read (the row locked above holds the
        // agent's mark still until this commits).
        AddAgentRollups(batch, TelemetryTier.Hour,
            plan.Rollups.AgentDeltasInKeyOrder(TelemetryTier.Hour).Where(d => d.Bucket < stored.GetValueOrDefault(d.AgentId).HoursClosedUntil));

        AddSummaries(batch, [.. plan.ChangedSummaries.OrderBy(s => s.AgentId, StringComparer.Ordinal)]);
        // Last: every commit of every agent shares the zone rows, and holds their locks from here
        // to its end, so concurrent commits wait for each other only this long.
        foreach (var tier in (ReadOnlySpan<TelemetryTier>)[TelemetryTier.Minute, TelemetryTier.Hour])
        {
            AddZoneRollups(batch, tier, [.. plan.Rollups.ZoneDeltas.Where(d => d.Tier == tier).OrderBy(d => d.Bucket).ThenBy(d => d.Zone, StringComparer.Ordinal)]);
        }

        await batch.ExecuteNonQueryAsync(cancellationToken);
        return plan.Results;
    }

    /// <summary>
    /// Locks the summary rows of the group's agents (in id order, so that commits never deadlock
    /// on them) and returns them with the hour each agent's hours are closed until. An agent's
    /// first commit inserts its row first, so that a second commit for the same new agent waits
    /// for this one and then sees what it stored.
    /// </summary>
    private static async Task<Dictionary<string, (TelemetrySummary Summary, long HoursClosedUntil)>> LockSummariesAsync(NpgsqlConnection connection, string[] agentIds, CancellationToken cancellationToken)
    {
        // One round trip: the insert, then the lock, in order.
        await using var batch = new NpgsqlBatch(connection)
        {
            BatchCommands =
            {
                new NpgsqlBatchCommand("INSERT INTO telemetry_summaries (agent_id) SELECT unnest(@agents) ORDER BY 1 ON CONFLICT (agent_id) DO NOTHING")
                {
                    Parameters = { new NpgsqlParameter("agents", agentIds) },
                },
                new NpgsqlBatchCommand($"SELECT {SummaryColumns}, hours_closed_until FROM telemetry_summaries WHERE agent_id = ANY(@agents) ORDER BY agent_id FOR UPDATE")
                {
                    Parameters = { new NpgsqlParameter("agents", agentIds) },
                },
            },
        };
        await using var reader = await batch.ExecuteReaderAsync(cancellationToken);
        var summaries = new Dictionary<string, (TelemetrySummary, long)>(StringComparer.Ordinal);
        while (await reader.ReadAsync(cancellationToken))
        {
            var summary = ReadSummary(reader);
            summaries[summary.AgentId] = (summary, reader.GetInt64(7));
        }

        return summaries;
    }

    private static async Task CopyAsync(NpgsqlConnection connection, TelemetryAppends plan, CancellationToken cancellationToken)
    {
        if (plan.Fresh.Count == 0)
        {
            return;
        }

        await using var importer = await connection.BeginBinaryImportAsync(CopyChunks, cancellationToken);
        foreach (var chunk in plan.Fresh.SelectMany(f => ReadingChunk.Split(f.Batch.AgentId, f.Fresh)))
        {
            await chunk.WriteRowAsync(importer, cancellationToken);
        }

        await importer.CompleteAsync(cancellationToken);
    }

    /// <summary>One upsert for all of a tier's deltas, in key order so that concurrent commits lock rows in the same order.</summary>
    private static void AddAgentRollups(NpgsqlBatch batch, TelemetryTier tier, IEnumerable<AgentRollupDelta> deltas)
    {
        // Column lists, not one list of deltas: thousands of agents' deltas in one array would be a
        // large object at every commit.
        List<string> agents = [], domains = [];
        List<long> buckets = [], readings = [];
        List<double> energy = [], covered = [];
        foreach (var delta in deltas)
        {
            agents.Add(delta.AgentId);
            domains.Add(delta.Domain);
            buckets.Add(delta.Bucket);
            energy.Add(delta.EnergyJoules);
            covered.Add(delta.CoveredSeconds);
            readings.Add(delta.Readings);
        }

        if (agents.Count == 0)
        {
            return;
        }

        var command = new NpgsqlBatchCommand($"""
            INSERT INTO {AgentRollupTable(tier)} AS t (agent_id, domain, bucket, energy_joules, covered_seconds, readings)
            SELECT * FROM unnest(@agents, @domains, @buckets, @energy, @covered, @readings)
            ON CONFLICT (agent_id, bucket, domain) DO UPDATE SET
                energy_joules = t.energy_joules + excluded.energy_joules,
                covered_seconds = t.covered_seconds + excluded.covered_seconds,
                readings = t.readings + excluded.readings
            """);
        command.Parameters.AddWithValue("agents", agents);
        command.Parameters.AddWithValue("domains", domains);
        command.Parameters.AddWithValue("buckets", buckets);
        command.Parameters.AddWithValue("energy", energy);
        command.Parameters.AddWithValue("covered", covered);
        command.Parameters.AddWithValue("readings", readings);
        batch.BatchCommands.Add(command);
    }

    private static void AddZoneRollups(NpgsqlBatch batch, TelemetryTier tier, List<ZoneRollupDelta> deltas)
    {
        if (deltas.Count == 0)
        {
            return;
        }

        var command = new NpgsqlBatchCommand($"""
            INSERT INTO {ZoneRollupTable(tier)} AS t (zone, bucket, energy_joules, readings)
            SELECT * FROM unnest(@zones, @buckets, @energy, @readings)
            ON CONFLICT (bucket, zone) DO UPDATE SET
                energy_joules = t.energy_joules + excluded.energy_joules,
                readings = t.readings + excluded.readings
            """);
        command.Parameters.AddWithValue("zones", deltas.Select(d => d.Zone).ToArray());
        command.Parameters.AddWithValue("buckets", deltas.Select(d => d.Bucket).ToArray());
        command.Parameters.AddWithValue("energy", deltas.Select(d => d.EnergyJoules).ToArray());
        command.Parameters.AddWithValue("readings", deltas.Select(d => d.Readings).ToArray());
        batch.BatchCommands.Add(command);
    }

    private static void AddSummaries(NpgsqlBatch batch, List<TelemetrySummary> summaries)
    {
        if (summaries.Count == 0)
        {
            return;
        }

        var command = new NpgsqlBatchCommand($"""
            INSERT INTO telemetry_summaries AS s ({SummaryColumns})
            SELECT a, d, n, e, l, p::jsonb, r FROM unnest(@agents, @durable, @counts, @energy, @last, @power, @received) AS u(a, d, n, e, l, p, r)
            ON CONFLICT (agent_id) DO UPDATE SET
                durable_sequence = excluded.durable_sequence,
                reading_count = excluded.reading_count,
                energy_joules = excluded.energy_joules,
                last_reading_at_ticks = excluded.last_reading_at_ticks,
                latest_power = excluded.latest_power,
                last_received_at_ticks = excluded.last_received_at_ticks
            """);
        command.Parameters.AddWithValue("agents", summaries.Select(s => s.AgentId).ToArray());
        command.Parameters.AddWithValue("durable", summaries.Select(s => s.DurableSequence).ToArray());
        command.Parameters.AddWithValue("counts", summaries.Select(s => s.ReadingCount).ToArray());
        command.Parameters.AddWithValue("energy", summaries.Select(s => s.EnergyJoules).ToArray());
        command.Parameters.AddWithValue("last", summaries.Select(s => s.LastReadingAt?.UtcTicks).ToArray());
        command.Parameters.AddWithValue("power", summaries.Select(s => PostgresJson.Write(s.LatestPowerWattsByDomain)).ToArray());
        command.Parameters.AddWithValue("received", summaries.Select(s => s.LastReceivedAt?.UtcTicks).ToArray());
        batch.BatchCommands.Add(command);
    }

    private Task<List<TelemetrySummary>> ReadSummariesAsync(string sql, Action<NpgsqlParameterCollection> bind, CancellationToken cancellationToken) =>
        _database.ReadAsync(async (connection, token) =>
        {
            await using var command = PostgresDatabase.Command(connection, sql);
            bind(command.Parameters);
            await using var reader = await command.ExecuteReaderAsync(token);
            var summaries = new List<TelemetrySummary>();
            while (await reader.ReadAsync(token))
            {
                summaries.Add(ReadSummary(reader));
            }

            return summaries;
        }, cancellationToken);

    private static TelemetrySummary ReadSummary(NpgsqlDataReader reader) => new(
        reader.GetString(0),
        reader.GetInt64(1),
        reader.GetInt64(2),
        reader.GetDouble(3),
        reader.IsDBNull(4) ? null : Ticks.ToInstant(reader.GetInt64(4)),
        PostgresJson.Read<Dictionary<string, double>>(reader.GetString(5), "latest power"),
        reader.IsDBNull(6) ? null : Ticks.ToInstant(reader.GetInt64(6)));

    private Task<long> DeleteRollupsAsync(TelemetryTier tier, DateTimeOffset? cutoff, CancellationToken cancellationToken) => cutoff is { } before
        ? _database.WriteAsync(async (connection, _, token) =>
        {
            var bucket = Bucket(before, tier.BucketSize());
            await using var zones = PostgresDatabase.Command(connection, $"DELETE FROM {ZoneRollupTable(tier)} WHERE bucket < @bucket");
            zones.Parameters.AddWithValue("bucket", bucket);
            await zones.ExecuteNonQueryAsync(token);
            // The minutes of an hour not yet closed are its only count: they stay until it is.
            await using var agents = PostgresDatabase.Command(connection, tier == TelemetryTier.Minute
                ? $"""
                    DELETE FROM rollup_minute m USING telemetry_summaries s
                    WHERE m.agent_id = s.agent_id AND m.bucket < @bucket AND m.bucket < s.hours_closed_until * {MinutesPerHour}
                    """
                : $"DELETE FROM {AgentRollupTable(tier)} WHERE bucket < @bucket");
            agents.Parameters.AddWithValue("bucket", bucket);
            return (long)await agents.ExecuteNonQueryAsync(token);
        }, cancellationToken)
        : Task.FromResult(0L);

    private static DateTime HourOf(DateTimeOffset time) => TelemetryTiers.BucketStart(Bucket(time, TelemetryTiers.Hour), TelemetryTiers.Hour).UtcDateTime;

    /// <summary>Buckets before the epoch hold nothing (readings are validated to be recent): ranges start at 0.</summary>
    private static long Bucket(DateTimeOffset time, TimeSpan size) => Math.Max(0, TelemetryTiers.BucketIndex(time, size));

    private const int MinutesPerHour = 60;

    private static string AgentRollupTable(TelemetryTier tier) => tier switch
    {
        TelemetryTier.Minute => "rollup_minute",
        TelemetryTier.Hour => "rollup_hour_closed",
        _ => throw new ArgumentOutOfRangeException(nameof(tier), tier, "Raw readings have no rollup table."),
    };

    private static string ZoneRollupTable(TelemetryTier tier) => tier switch
    {
        TelemetryTier.Minute => "zone_minute",
        TelemetryTier.Hour => "zone_hour",
        _ => throw new ArgumentOutOfRangeException(nameof(tier), tier, "Zones are kept in the minute and hour tiers only."),
    };
}
