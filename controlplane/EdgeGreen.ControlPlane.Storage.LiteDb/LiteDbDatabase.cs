using System.Reflection;
using EdgeGreen.Shared;
using LiteDB;
using Microsoft.Extensions.Options;

namespace EdgeGreen.ControlPlane.Storage.LiteDb;

/// <summary>
/// The embedded database (<c>edgegreen.db</c> in the data directory), shared by the LiteDB stores.
/// Writes take <see cref="WriteGate"/> so that each multi-document change is one transaction on
/// one thread, as LiteDB's per-thread transactions require; a transaction is always committed or
/// rolled back before the gate is released, whatever fails. Engine failures leave this class as
/// <see cref="StorageException"/>: a full disk as <see cref="StorageFault.Full"/>.
/// <para>
/// LiteDB keeps a transaction's pages in memory even when writing them to disk failed, so after
/// a failed write its in-memory state may claim what the file does not hold (a durable sequence
/// that a restart would lose). The database is therefore set aside at the first such failure:
/// reads and writes are refused, readiness says why, and once the disk takes a write again the
/// file is reopened, which replays only what was really written.
/// </para>
/// </summary>
public sealed class LiteDbDatabase : IStorageHealth, IDisposable
{
    private const int DiskFullErrno = 28; // ENOSPC
    private static readonly TimeSpan RecoveryInterval = TimeSpan.FromSeconds(2);
    private LiteDatabase _database;
    private volatile StorageException? _setAside;
    private long _lastRecoveryAttempt;

    public LiteDbDatabase(IOptions<StorageOptions> options)
    {
        var directory = options.Value.DataDirectory;
        PrivateDirectory.Create(directory);
        Path = System.IO.Path.GetFullPath(System.IO.Path.Combine(directory, "edgegreen.db"));
        _database = Open(Path, dropRetired: true);
    }

    public string Path { get; }

    public LiteDatabase Database => _database;

    public Lock WriteGate { get; } = new();

    /// <summary>Runs <paramref name="write"/> in one transaction under the write gate.</summary>
    /// <exception cref="StorageException">The engine or the disk failed; nothing of the transaction is stored.</exception>
    public T Write<T>(Func<LiteDatabase, T> write)
    {
        lock (WriteGate)
        {
            ThrowIfSetAside();
            try
            {
                _database.BeginTrans();
            }
            catch (Exception ex) when (Translate(ex) is { } failure)
            {
                throw SetAside(failure);
            }

            try
            {
                var result = write(_database);
                _database.Commit();
                return result;
            }
            catch (Exception ex)
            {
                RollbackQuietly();
                if (Translate(ex) is { } failure)
                {
                    throw ex is LiteException ? failure : SetAside(failure);
                }

                throw;
            }
        }
    }

    /// <summary>Runs a read, with engine failures as <see cref="StorageException"/>.</summary>
    public T Read<T>(Func<T> read)
    {
        ThrowIfSetAside();
        try
        {
            return read();
        }
        catch (Exception ex) when (Translate(ex) is { } failure)
        {
            throw failure;
        }
    }

    public Task<string?> GetProblemAsync(CancellationToken cancellationToken)
    {
        if (_setAside is not null)
        {
            TryRecover(force: true);
            if (_setAside is { } failure)
            {
                return Task.FromResult<string?>($"Storage cannot take writes ({Path}): {failure.Message}");
            }
        }

        try
        {
            _ = _database.UserVersion;
            return Task.FromResult<string?>(null);
        }
        catch (Exception ex) when (Translate(ex) is { } failure)
        {
            return Task.FromResult<string?>($"Storage is not readable ({Path}): {failure.Message}");
        }
    }

    public void Dispose() => _database.Dispose();

    /// <summary>The engine's and the file system's exceptions in the core's terms; null for the caller's own exceptions.</summary>
    internal static StorageException? Translate(Exception exception) => exception switch
    {
        StorageException storage => storage,
        IOException io when (io.HResult & 0xFFFF) == DiskFullErrno || io.Message.Contains("No space left", StringComparison.OrdinalIgnoreCase) =>
            new StorageException(StorageFault.Full, "the disk is full: " + io.Message, io),
        IOException or UnauthorizedAccessException => new StorageException(StorageFault.Unavailable, exception.Message, exception),
        LiteException lite when lite.ErrorCode is LiteException.INVALID_DATAFILE_STATE or LiteException.FILE_NOT_FOUND =>
            new StorageException(StorageFault.Corrupt, lite.Message, lite),
        LiteException lite => new StorageException(StorageFault.Unavailable, lite.Message, lite),
        _ => null,
    };

    /// <summary>Every collection the stores use; <see cref="CreateCollections"/> makes them all when the file is opened.</summary>
    internal static readonly IReadOnlyList<string> Collections =
    [
        "agents", "api_keys", "enrollment_tokens", "cluster_replicas", "cluster_leader", "dataset_versions", "deployments", "jobs",
        "models", "model_versions", "pipeline_versions", "pipeline_runs", "pipeline_cache", "webhooks",
        "raw_chunks", "telemetry_summaries", "telemetry_meta", "rollup_minute", "rollup_hour", "zone_minute", "zone_hour",
        "monitoring_seen", "monitoring_hours", "monitoring_predictions", "monitoring_samples", "alert_rules", "alerts",
    ];

    /// <summary>
    /// Collections of an earlier layout that the stores still read while they hold anything and
    /// that are dropped when the control plane opens a file with them empty (at its start only, never
    /// at a reopen after a failure while reads may still run on the file, for the reason
    /// <see cref="CreateCollections"/> gives): <c>readings</c>, raw chunks by agent and hour.
    /// </summary>
    internal static readonly IReadOnlyList<string> RetiredCollections = ["readings"];

    private static void DropEmptyRetiredCollections(LiteDatabase database)
    {
        foreach (var name in RetiredCollections.Intersect(database.GetCollectionNames(), StringComparer.Ordinal).ToList())
        {
            if (database.GetCollection(name).FindOne(Query.All()) is null)
            {
                database.DropCollection(name);
            }
        }
    }

    /// <summary>
    /// Creates the collections the file lacks, in one transaction, before anything else can use it.
    /// LiteDB 5 fails a read of a collection that another transaction is creating at that moment
    /// (LiteDB issue #2792: "page type must be collection page") and closes the engine with it, so no
    /// collection may come into being while the control plane runs (a deployment's first PUT while
    /// the rollouts poll the collection, say). A collection is made by a placeholder inserted and
    /// removed: LiteDB keeps an emptied collection.
    /// </summary>
    private static void CreateCollections(LiteDatabase database)
    {
        var existing = database.GetCollectionNames().ToHashSet(StringComparer.Ordinal);
        var missing = Collections.Where(name => !existing.Contains(name)).ToList();
        if (missing.Count == 0)
        {
            return;
        }

        database.BeginTrans();
        foreach (var name in missing)
        {
            var collection = database.GetCollection(name);
            collection.Delete(collection.Insert(new BsonDocument { ["placeholder"] = true }));
        }

        database.Commit();
    }

    /// <summary>
    /// Opens the file and reads every collection's first document, so that a damaged file stops
    /// the start with its name and the way out instead of failing requests later.
    /// </summary>
    private static LiteDatabase Open(string path, bool dropRetired = false)
    {
        // LiteDB creates its files with the process's umask (often world-readable).
        PrivateFile.RestrictDatabase(path);
        LiteDatabase? database = null;
        try
        {
            database = new LiteDatabase(new ConnectionString { Filename = path, Connection = ConnectionType.Direct }, MapperWithDocuments());
            foreach (var name in database.GetCollectionNames().ToList())
            {
                _ = database.GetCollection(name).FindOne(Query.All());
            }

            CreateCollections(database);
            if (dropRetired)
            {
                DropEmptyRetiredCollections(database);
            }

            return database;
        }
        catch (Exception ex) when (ex is LiteException or InvalidCastException or ArgumentException or IndexOutOfRangeException or InvalidOperationException
            or OverflowException or FormatException or EndOfStreamException)
        {
            if (database is not null)
            {
                FailedInstances.Keep(database);
            }

            throw new StorageException(StorageFault.Corrupt,
                $"The database file {path} is damaged and cannot be opened ({ex.GetType().Name}: {ex.Message}). " +
                "Stop the control plane, move the file aside (or restore it from a backup, see the README's 'Backup and restore'), and start again; " +
                "a moved-aside file starts the control plane empty.", ex);
        }
    }

    /// <summary>
    /// A mapper whose type mappings are all built before any request uses it. LiteDB builds a type's
    /// mapping lazily, on first use, without a lock: two requests deserializing an agent at once just
    /// after a start could see it half built (LiteDB issues #2536 and #2565) and fail, or read a
    /// document with fields missing. So every document type the stores use, and every type inside
    /// them, is mapped here, on one thread.
    /// </summary>
    private static readonly MethodInfo Entity = typeof(BsonMapper).GetMethod(nameof(BsonMapper.Entity))!;

    private static BsonMapper MapperWithDocuments()
    {
        var mapper = new BsonMapper();
        var seen = new HashSet<Type>();
        var pending = new Stack<Type>(typeof(LiteDbDatabase).Assembly.GetTypes().Where(t => t.Name.EndsWith("Document", StringComparison.Ordinal) && t.IsClass));
        while (pending.TryPop(out var type))
        {
            if (!seen.Add(type) || type.IsPrimitive || type.IsEnum || type == typeof(string) || type == typeof(decimal) || type.Namespace?.StartsWith("System", StringComparison.Ordinal) == true && !type.IsGenericType)
            {
                continue;
            }

            if (type.IsGenericType || type.IsArray)
            {
                foreach (var argument in type.IsArray ? [type.GetElementType()!] : type.GetGenericArguments())
                {
                    pending.Push(argument);
                }

                // A dictionary (an agent's labels) is deserialized through a mapping of its own type,
                // built as lazily: map those too. Lists and arrays are read without one.
                if (!typeof(System.Collections.IDictionary).IsAssignableFrom(type))
                {
                    continue;
                }
            }

            // Entity<T>() builds and caches the type's mapping, and deserializing an empty document its
            // constructor (cached apart, as lazily); its members' types are mapped in turn.
            Entity.MakeGenericMethod(type).Invoke(mapper, null);
            try
            {
                mapper.ToObject(type, new BsonDocument());
            }
            catch (Exception ex) when (ex is LiteException or MissingMethodException or ArgumentException or InvalidCastException or NullReferenceException)
            {
                // A type that cannot be made from nothing still had its constructor looked up and cached.
            }

            if (type.IsGenericType)
            {
                continue;
            }

            foreach (var property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance))
            {
                pending.Push(property.PropertyType);
            }
        }

        return mapper;
    }

    private StorageException SetAside(StorageException failure)
    {
        _setAside = failure;
        Interlocked.Exchange(ref _lastRecoveryAttempt, Environment.TickCount64);
        return failure;
    }

    /// <summary>Throws the failure that set the database aside, unless the disk takes writes again and the file reopens.</summary>
    private void ThrowIfSetAside()
    {
        if (_setAside is not null)
        {
            TryRecover(force: false);
            if (_setAside is { } failure)
            {
                throw failure;
            }
        }
    }

    /// <summary>Reopens the file once a probe file can be written beside it (at most every two seconds unless forced).</summary>
    private void TryRecover(bool force)
    {
        var last = Interlocked.Read(ref _lastRecoveryAttempt);
        if (!force && Environment.TickCount64 - last < RecoveryInterval.TotalMilliseconds)
        {
            return;
        }

        lock (WriteGate)
        {
            if (_setAside is null)
            {
                return;
            }

            Interlocked.Exchange(ref _lastRecoveryAttempt, Environment.TickCount64);
            var probe = Path + ".space-probe";
            try
            {
                // Room for a transaction's log pages, then the file as it really is on disk.
                using (var file = new FileStream(probe, FileMode.Create, FileAccess.Write, FileShare.None, 4096, FileOptions.WriteThrough))
                {
                    file.Write(new byte[1024 * 1024]);
                }

                File.Delete(probe);
                var reopened = Open(Path);
                FailedInstances.Keep(_database);
                _database = reopened;
                _setAside = null;
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or StorageException)
            {
                TryDelete(probe);
            }
        }
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
            // Nothing was written, or it goes with the next probe.
        }
    }

    private void RollbackQuietly()
    {
        try
        {
            _database.Rollback();
        }
        catch (Exception ex) when (Translate(ex) is not null)
        {
            // The transaction is gone with the failure that interrupted it; the original error is what the caller sees.
        }
    }
}
