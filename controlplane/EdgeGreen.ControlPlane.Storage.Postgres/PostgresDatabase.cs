using System.Net.Sockets;
using System.Runtime.CompilerServices;
using Npgsql;

namespace EdgeGreen.ControlPlane.Storage.Postgres;

/// <summary>
/// The PostgreSQL database at <c>ConnectionStrings:EdgeGreen</c>, shared by the PostgreSQL stores:
/// one pooled <see cref="NpgsqlDataSource"/>, the schema migrations, and the translation of every
/// Npgsql failure into <see cref="StorageException"/> (a full disk as <see cref="StorageFault.Full"/>,
/// damaged pages as <see cref="StorageFault.Corrupt"/>, everything else, an unreachable server
/// first, as <see cref="StorageFault.Unavailable"/>), so that no Npgsql type leaves this project.
/// The first use migrates the schema when nothing has yet (see <see cref="MigrateAsync"/>).
/// </summary>
public sealed partial class PostgresDatabase : IStorageHealth, IAsyncDisposable, IDisposable
{
    /// <summary>A transaction that lost a deadlock or a serialization conflict is tried again, from the start, this many times in all.</summary>
    private const int WriteAttempts = 3;

    private readonly NpgsqlDataSource _dataSource;
    private readonly ILogger _logger;
    private readonly TimescaleDbUse _timescaleDb;
    private volatile bool _migrated;
    private volatile bool _readingsInHypertable;
    private volatile StorageException? _lastWriteFailure;

    /// <param name="connectionString">An Npgsql connection string (<c>Host=…;Database=…;Username=…;Password=…</c>).</param>
    /// <param name="logger">Where applied migrations are logged; none when null.</param>
    /// <param name="timescaleDb">Whether raw readings move into a TimescaleDB hypertable where the extension is installed (see <see cref="ReadingHypertable"/>).</param>
    public PostgresDatabase(string connectionString, ILogger<PostgresDatabase>? logger = null, TimescaleDbUse timescaleDb = TimescaleDbUse.Auto)
    {
        _timescaleDb = timescaleDb;
        var settings = new NpgsqlConnectionStringBuilder(connectionString);
        if (!Names(connectionString, "Connection Idle Lifetime", "ConnectionIdleLifetime"))
        {
            settings.ConnectionIdleLifetime = (int)DefaultConnectionIdleLifetime.TotalSeconds;
        }

        if (!Names(connectionString, "Max Auto Prepare", "MaxAutoPrepare"))
        {
            settings.MaxAutoPrepare = DefaultMaxAutoPrepare;
        }

        // Where the data lives, for messages: never the password.
        Location = $"{settings.Host}:{settings.Port}/{settings.Database ?? settings.Username}";
        ConnectionIdleLifetime = TimeSpan.FromSeconds(settings.ConnectionIdleLifetime);
        var builder = new NpgsqlDataSourceBuilder(settings.ConnectionString);
        // Where raw readings are in a hypertable, every new connection first checks that TimescaleDB is
        // loaded: a server restarted without preloading it then fails every read and write with the
        // cause, where it would serve reads without the compressed days.
        builder.UsePhysicalConnectionInitializer(
            connection =>
            {
                if (_readingsInHypertable)
                {
                    using var check = Command(connection, ReadingHypertable.LoadedSql);
                    check.ExecuteScalar();
                }
            },
            async connection =>
            {
                if (_readingsInHypertable)
                {
                    await using var check = Command(connection, ReadingHypertable.LoadedSql);
                    await check.ExecuteScalarAsync();
                }
            });
        _dataSource = builder.Build();
        _logger = (ILogger?)logger ?? Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;
    }

    /// <summary>
    /// How long pooled connections may sit idle before the pool closes them, unless the connection
    /// string says otherwise (Npgsql's own default is 5 minutes). A fleet reconnecting at once grows
    /// the pool; closing most of it five minutes later stalled every telemetry commit for seconds
    /// (measured with 3,000 agents: ack p99 from 0.2 s to 4 s in that half minute).
    /// </summary>
    public static readonly TimeSpan DefaultConnectionIdleLifetime = TimeSpan.FromHours(1);

    /// <summary>
    /// How many statements each connection keeps prepared on the server, unless the connection
    /// string says otherwise (Npgsql's own default is none): the telemetry commit sends the same
    /// few statements many times a second, and PostgreSQL parsed and planned each of them anew.
    /// </summary>
    public const int DefaultMaxAutoPrepare = 32;

    /// <summary>How long the pool keeps an idle connection (the connection string's, or <see cref="DefaultConnectionIdleLifetime"/>).</summary>
    internal TimeSpan ConnectionIdleLifetime { get; }

    /// <summary>
    /// Whether raw readings are kept in a TimescaleDB hypertable (the extension is installed in the
    /// database; see <see cref="ReadingHypertable"/>) rather than native day partitions, as the last
    /// migration found, or later <see cref="RefreshReadingsLayoutAsync"/> (another replica moved them);
    /// false until the schema has been migrated.
    /// </summary>
    public bool ReadingsInHypertable => _readingsInHypertable;

    /// <summary>
    /// Looks again whether raw readings are in a hypertable: a replica that started before another
    /// moved them there finds out before it would make a day partition or run raw retention.
    /// </summary>
    /// <returns>Whether they are.</returns>
    internal async Task<bool> RefreshReadingsLayoutAsync(CancellationToken cancellationToken)
    {
        _readingsInHypertable = await ReadAsync(async (connection, token) =>
        {
            await using var command = Command(connection, ReadingHypertable.IsHypertableSql);
            return (bool)(await command.ExecuteScalarAsync(token))!;
        }, cancellationToken);
        return _readingsInHypertable;
    }

    /// <summary>Host, port and database, as operators are told where the problem is.</summary>
    public string Location { get; }

    /// <summary>
    /// Brings the schema to the latest version (see <see cref="PostgresMigrations"/>): safe to call
    /// from several replicas at once, and a no-op when the schema is current.
    /// </summary>
    /// <exception cref="StorageException">The database could not be reached or refused a migration.</exception>
    public async Task MigrateAsync(CancellationToken cancellationToken)
    {
        await using var connection = await ConnectAsync(cancellationToken);
        try
        {
            var outcome = await PostgresMigrations.ApplyAsync(connection, _timescaleDb, cancellationToken);
            foreach (var version in outcome.Applied)
            {
                LogMigrated(version, Location);
            }

            if (outcome.Adopted)
            {
                LogAdoptedTimescaleDb(Location, outcome.Compressed ? "with a compression policy" : "without compression (this TimescaleDB is not under the Timescale License)");
            }

            _readingsInHypertable = outcome.Hypertable;
        }
        catch (Exception ex) when (Translate(ex) is { } failure)
        {
            throw new StorageException(failure.Fault, $"The schema of PostgreSQL at {Location} could not be migrated: {failure.Message}", ex);
        }

        _migrated = true;
    }

    public async Task<string?> GetProblemAsync(CancellationToken cancellationToken)
    {
        if (_lastWriteFailure is not null)
        {
            // SELECT 1 still works on a full disk: only a write proves that the fault cleared.
            try
            {
                await WriteAsync(async (connection, _, token) =>
                {
                    await using var probe = Command(connection, "INSERT INTO storage_probe (id, at) VALUES (1, now()) ON CONFLICT (id) DO UPDATE SET at = excluded.at");
                    return await probe.ExecuteNonQueryAsync(token);
                }, cancellationToken);
            }
            catch (StorageException ex)
            {
                return $"PostgreSQL at {Location} cannot take writes: {ex.Message}";
            }
        }

        try
        {
            await ReadAsync(async (connection, token) =>
            {
                await using var select = Command(connection, "SELECT 1");
                return await select.ExecuteScalarAsync(token);
            }, cancellationToken);
            return null;
        }
        catch (StorageException ex)
        {
            return $"PostgreSQL at {Location} is not usable: {ex.Message}";
        }
    }

    public ValueTask DisposeAsync() => _dataSource.DisposeAsync();

    public void Dispose() => _dataSource.Dispose();

    /// <summary>Runs a read on a pooled connection, with Npgsql's failures as <see cref="StorageException"/>.</summary>
    internal async Task<T> ReadAsync<T>(Func<NpgsqlConnection, CancellationToken, Task<T>> read, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        try
        {
            return await read(connection, cancellationToken);
        }
        catch (Exception ex) when (Translate(ex) is { } failure)
        {
            throw failure;
        }
    }

    /// <summary>Reads the <c>jsonb</c> bodies the query's first column returns, each as a <typeparamref name="T"/>.</summary>
    internal Task<IReadOnlyList<T>> ListBodiesAsync<T>(string sql, Action<NpgsqlParameterCollection> bind, string what, CancellationToken cancellationToken) =>
        ReadAsync<IReadOnlyList<T>>(async (connection, token) =>
        {
            await using var command = Command(connection, sql);
            bind(command.Parameters);
            await using var reader = await command.ExecuteReaderAsync(token);
            var items = new List<T>();
            while (await reader.ReadAsync(token))
            {
                items.Add(PostgresJson.Read<T>(reader.GetString(0), what));
            }

            return items;
        }, cancellationToken);

    /// <summary>
    /// Runs <paramref name="write"/> in one transaction and commits it; a deadlock or serialization
    /// conflict runs it again from the start. The caller's own exceptions roll back and pass unchanged.
    /// </summary>
    /// <exception cref="StorageException">The database failed; nothing of the transaction is stored.</exception>
    internal async Task<T> WriteAsync<T>(Func<NpgsqlConnection, NpgsqlTransaction, CancellationToken, Task<T>> write, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                var result = await WriteOnceAsync(write, cancellationToken);
                _lastWriteFailure = null;
                return result;
            }
            catch (StorageException ex) when (attempt < WriteAttempts && IsConflict(ex))
            {
                // Lost to a concurrent transaction: nothing of this one is stored, so it can run again.
            }
            catch (StorageException ex) when (ex.Fault == StorageFault.Full)
            {
                _lastWriteFailure = ex;
                throw;
            }
        }
    }

    /// <summary>Streams the rows of one query; memory holds one row at a time, whatever the result's size.</summary>
    internal async IAsyncEnumerable<T> StreamAsync<T>(string sql, Action<NpgsqlParameterCollection> bind, Func<NpgsqlDataReader, T> map,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = Command(connection, sql);
        bind(command.Parameters);
        NpgsqlDataReader reader;
        try
        {
            reader = await command.ExecuteReaderAsync(cancellationToken);
        }
        catch (Exception ex) when (Translate(ex) is { } failure)
        {
            throw failure;
        }

        await using (reader)
        {
            while (true)
            {
                T row;
                try
                {
                    if (!await reader.ReadAsync(cancellationToken))
                    {
                        yield break;
                    }

                    row = map(reader);
                }
                catch (Exception ex) when (Translate(ex) is { } failure)
                {
                    throw failure;
                }

                yield return row;
            }
        }
    }

    /// <summary>Migrates the schema when nothing has yet (see <see cref="MigrateAsync"/>).</summary>
    internal async Task EnsureMigratedAsync(CancellationToken cancellationToken)
    {
        if (!_migrated)
        {
            await MigrateAsync(cancellationToken);
        }
    }

    /// <summary>Opens a pooled connection, migrating the schema first when nothing has yet.</summary>
    private async Task<NpgsqlConnection> OpenAsync(CancellationToken cancellationToken)
    {
        await EnsureMigratedAsync(cancellationToken);
        return await ConnectAsync(cancellationToken);
    }

    internal static NpgsqlCommand Command(NpgsqlConnection connection, string sql) => new(sql, connection);

    /// <summary>Whether the connection string sets the keyword under any of its names.</summary>
    private static bool Names(string connectionString, params string[] keywords)
    {
        var given = new System.Data.Common.DbConnectionStringBuilder { ConnectionString = connectionString };
        return keywords.Any(given.ContainsKey);
    }

    /// <summary>Npgsql's, the server's and the network's exceptions in the core's terms; null for the caller's own exceptions.</summary>
    internal static StorageException? Translate(Exception exception) => exception switch
    {
        StorageException storage => storage,
        PostgresException { SqlState: PostgresErrorCodes.DiskFull } full =>
            new StorageException(StorageFault.Full, "the database's disk is full: " + full.MessageText, full),
        PostgresException { SqlState: PostgresErrorCodes.InternalError } unloaded when unloaded.MessageText.Contains("must be preloaded", StringComparison.Ordinal) =>
            new StorageException(StorageFault.Unavailable,
                "TimescaleDB is installed in the database but the server does not load it: add timescaledb to shared_preload_libraries in postgresql.conf "
                + $"and restart PostgreSQL ({unloaded.MessageText})", unloaded),
        PostgresException { SqlState: PostgresErrorCodes.DataCorrupted or PostgresErrorCodes.IndexCorrupted } corrupt =>
            new StorageException(StorageFault.Corrupt, $"the database reports damaged data ({corrupt.SqlState}): {corrupt.MessageText}", corrupt),
        PostgresException server => new StorageException(StorageFault.Unavailable, $"{server.SqlState}: {server.MessageText}", server),
        NpgsqlException npgsql => new StorageException(StorageFault.Unavailable, npgsql.Message, npgsql),
        SocketException or IOException or TimeoutException => new StorageException(StorageFault.Unavailable, exception.Message, exception),
        _ => null,
    };

    /// <summary>The SQLSTATE the server answered with, when the failure came from the server.</summary>
    internal static string? SqlState(StorageException exception) => (exception.InnerException as PostgresException)?.SqlState;

    private static bool IsConflict(StorageException exception) =>
        SqlState(exception) is PostgresErrorCodes.DeadlockDetected or PostgresErrorCodes.SerializationFailure;

    private async Task<NpgsqlConnection> ConnectAsync(CancellationToken cancellationToken)
    {
        try
        {
            return await _dataSource.OpenConnectionAsync(cancellationToken);
        }
        catch (Exception ex) when (Translate(ex) is { } failure)
        {
            throw failure;
        }
    }

    private async Task<T> WriteOnceAsync<T>(Func<NpgsqlConnection, NpgsqlTransaction, CancellationToken, Task<T>> write, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        try
        {
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
            var result = await write(connection, transaction, cancellationToken);
            await transaction.CommitAsync(cancellationToken);
            return result;
        }
        catch (Exception ex) when (Translate(ex) is { } failure)
        {
            // Disposing the transaction rolled it back.
            throw failure;
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Applied schema migration {Version} to PostgreSQL at {Location}")]
    private partial void LogMigrated(int version, string location);

    [LoggerMessage(Level = LogLevel.Information,
        Message = "TimescaleDB is installed in PostgreSQL at {Location}: raw readings moved into a hypertable (reading_chunks), {Compression}")]
    private partial void LogAdoptedTimescaleDb(string location, string compression);
}
