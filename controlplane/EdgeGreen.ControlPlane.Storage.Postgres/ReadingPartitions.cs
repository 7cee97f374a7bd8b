using System.Collections.Concurrent;
using System.Globalization;
using NpgsqlTypes;

namespace EdgeGreen.ControlPlane.Storage.Postgres;

/// <summary>
/// The daily partitions of <c>reading_chunks</c> (<c>reading_chunks_pYYYYMMDD</c>, one UTC day each). A group
/// commit makes the days it needs, and the day after each, before its transaction starts, under
/// an advisory lock so that replicas never race to make the same day; days known to exist are
/// remembered so that a commit normally costs nothing here. A day is made as a plain table and
/// then attached (<c>ATTACH PARTITION</c> locks the parent only against other schema changes),
/// because <c>CREATE TABLE … PARTITION OF</c> would lock <c>reading_chunks</c> against every reader and
/// writer until a long streamed read finished. Retention detaches whole days concurrently for
/// the same reason, then drops them. Where TimescaleDB keeps <c>reading_chunks</c> instead, see
/// <see cref="ReadingHypertable"/>.
/// </summary>
internal sealed class ReadingPartitions(PostgresDatabase database) : IReadingTable
{
    /// <summary>The transaction-level advisory lock taken to make partitions (the bytes of "EGpartns").</summary>
    private const long PartitionLock = 0x4547_7061_7274_6E73;

    private const string Parent = "reading_chunks";

    private const string Prefix = Parent + "_p";

    private readonly ConcurrentDictionary<DateOnly, bool> _known = new();

    public static DateOnly DayOf(DateTimeOffset time) => DateOnly.FromDateTime(time.UtcDateTime);

    public static DateTimeOffset StartOf(DateOnly day) => new(day.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero);

    public static string NameOf(DateOnly day) => string.Create(CultureInfo.InvariantCulture, $"{Prefix}{day:yyyyMMdd}");

    /// <summary>Makes the partitions of these days, and of the day after each, where they do not exist yet.</summary>
    public async Task EnsureAsync(IEnumerable<DateOnly> days, CancellationToken cancellationToken)
    {
        List<DateOnly> missing = [.. days.Where(d => !_known.ContainsKey(d)).SelectMany(d => (DateOnly[])[d, d.AddDays(1)]).Distinct().Order()];
        if (missing.Count == 0)
        {
            return;
        }

        if (await database.RefreshReadingsLayoutAsync(cancellationToken))
        {
            // Another replica moved the readings into a TimescaleDB hypertable since this one started:
            // TimescaleDB makes the days, and the telemetry store uses the hypertable from now on.
            return;
        }

        await database.WriteAsync(async (connection, _, token) =>
        {
            await using (var lockCommand = PostgresDatabase.Command(connection, "SELECT pg_advisory_xact_lock(@key)"))
            {
                lockCommand.Parameters.AddWithValue("key", PartitionLock);
                await lockCommand.ExecuteNonQueryAsync(token);
            }

            foreach (var day in missing)
            {
                await using var create = PostgresDatabase.Command(connection, CreateSql(day));
                await create.ExecuteNonQueryAsync(token);
            }

            return missing.Count;
        }, cancellationToken);

        foreach (var day in missing)
        {
            _known[day] = true;
        }
    }

    /// <summary>Forgets which days exist (another replica's retention may have dropped one), so the next commit checks again.</summary>
    public void Forget() => _known.Clear();

    /// <summary>
    /// Deletes the readings whose interval ends before <paramref name="cutoff"/>, a whole hour: the
    /// days that end at or before it are detached and dropped whole (their readings counted
    /// first), then the chunks of the hours before it in the day it falls in are deleted.
    /// </summary>
    /// <returns>How many readings were deleted.</returns>
    public async Task<long> DeleteBeforeAsync(DateTimeOffset cutoff, CancellationToken cancellationToken)
    {
        long deleted = 0;
        foreach (var (day, attached, detachPending) in await ListAsync(cancellationToken))
        {
            if (StartOf(day.AddDays(1)) > cutoff)
            {
                continue;
            }

            cancellationToken.ThrowIfCancellationRequested();
            _known.TryRemove(day, out _);
            var name = NameOf(day);
            if (attached)
            {
                // Outside a transaction, as DETACH CONCURRENTLY requires. It waits for the readers of
                // the day without blocking anyone; a pass interrupted meanwhile is finished by the next.
                await database.ReadAsync(async (connection, token) =>
                {
                    await using var detach = PostgresDatabase.Command(connection,
                        $"ALTER TABLE {Parent} DETACH PARTITION {name} {(detachPending ? "FINALIZE" : "CONCURRENTLY")}");
                    return await detach.ExecuteNonQueryAsync(token);
                }, cancellationToken);
            }

            deleted += await database.WriteAsync(async (connection, _, token) =>
            {
                await using var count = PostgresDatabase.Command(connection, $"SELECT coalesce(sum(readings), 0)::bigint FROM {name}");
                var rows = (long)(await count.ExecuteScalarAsync(token))!;
                await using var drop = PostgresDatabase.Command(connection, $"DROP TABLE {name}");
                await drop.ExecuteNonQueryAsync(token);
                return rows;
            }, cancellationToken);
        }

        deleted += await database.WriteAsync(async (connection, _, token) =>
        {
            await using var command = PostgresDatabase.Command(connection, $"WITH deleted AS (DELETE FROM {Parent} WHERE hour < @cutoff RETURNING readings) SELECT coalesce(sum(readings), 0)::bigint FROM deleted");
            command.Parameters.AddWithValue("cutoff", NpgsqlDbType.TimestampTz, cutoff.UtcDateTime);
            return (long)(await command.ExecuteScalarAsync(token))!;
        }, cancellationToken);
        return deleted;
    }

    /// <summary>Every day's table: attached, being detached, or left detached by an interrupted retention pass.</summary>
    private Task<List<(DateOnly Day, bool Attached, bool DetachPending)>> ListAsync(CancellationToken cancellationToken) =>
        database.ReadAsync(async (connection, token) =>
        {
            await using var command = PostgresDatabase.Command(connection, """
                SELECT c.relname, i.inhrelid IS NOT NULL, COALESCE(i.inhdetachpending, false)
                FROM pg_class c
                LEFT JOIN pg_inherits i ON i.inhrelid = c.oid AND i.inhparent = 'reading_chunks'::regclass
                WHERE c.relkind = 'r' AND c.relname ~ '^reading_chunks_p[0-9]{8}$'
                  AND c.relnamespace = (SELECT relnamespace FROM pg_class WHERE oid = 'reading_chunks'::regclass)
                ORDER BY c.relname
                """);
            await using var reader = await command.ExecuteReaderAsync(token);
            var days = new List<(DateOnly, bool, bool)>();
            while (await reader.ReadAsync(token))
            {
                var day = DateOnly.ParseExact(reader.GetString(0).AsSpan(Prefix.Length), "yyyyMMdd", CultureInfo.InvariantCulture);
                days.Add((day, reader.GetBoolean(1), reader.GetBoolean(2)));
            }

            return days;
        }, cancellationToken);

    private static string CreateSql(DateOnly day)
    {
        var name = NameOf(day);
        return string.Create(CultureInfo.InvariantCulture, $"""
            DO $$
            BEGIN
                IF to_regclass('{name}') IS NULL THEN
                    CREATE TABLE {name} (LIKE {Parent} INCLUDING DEFAULTS INCLUDING CONSTRAINTS);
                    ALTER TABLE {Parent} ATTACH PARTITION {name}
                        FOR VALUES FROM ('{day:yyyy-MM-dd} 00:00:00+00') TO ('{day.AddDays(1):yyyy-MM-dd} 00:00:00+00');
                END IF;
            END
            $$
            """);
    }
}
