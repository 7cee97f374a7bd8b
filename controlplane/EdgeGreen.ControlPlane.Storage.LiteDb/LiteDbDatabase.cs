using LiteDB;
using Microsoft.Extensions.Options;

namespace EdgeGreen.ControlPlane.Storage.LiteDb;

/// <summary>
/// The embedded database (<c>edgegreen.db</c> in the data directory), shared by the LiteDB stores.
/// Writes take <see cref="WriteGate"/> so that each multi-document change is one transaction on
/// one thread, as LiteDB's per-thread transactions require; a transaction is always committed or
/// rolled back before the gate is released, whatever fails. Engine failures leave this class as
/// <see cref="StorageException"/>: a full disk as <see cref="StorageFault.Full"/>, which also
/// turns readiness off until a write succeeds again.
/// </summary>
public sealed class LiteDbDatabase : IStorageHealth, IDisposable
{
    private const int DiskFullErrno = 28; // ENOSPC
    private readonly ILiteCollection<BsonDocument> _probe;
    private volatile StorageException? _lastWriteFailure;

    public LiteDbDatabase(IOptions<StorageOptions> options)
    {
        var directory = options.Value.DataDirectory;
        Directory.CreateDirectory(directory);
        Path = System.IO.Path.GetFullPath(System.IO.Path.Combine(directory, "edgegreen.db"));
        Database = Open(Path);
        _probe = Database.GetCollection("storage_probe");
    }

    public string Path { get; }

    public LiteDatabase Database { get; }

    public Lock WriteGate { get; } = new();

    /// <summary>Runs <paramref name="write"/> in one transaction under the write gate.</summary>
    /// <exception cref="StorageException">The engine or the disk failed; nothing of the transaction is stored.</exception>
    public T Write<T>(Func<LiteDatabase, T> write)
    {
        lock (WriteGate)
        {
            try
            {
                Database.BeginTrans();
            }
            catch (Exception ex) when (Translate(ex) is { } failure)
            {
                throw Failed(failure);
            }

            try
            {
                var result = write(Database);
                Database.Commit();
                _lastWriteFailure = null;
                return result;
            }
            catch (Exception ex)
            {
                RollbackQuietly();
                if (Translate(ex) is { } failure)
                {
                    throw Failed(failure);
                }

                throw;
            }
        }
    }

    /// <summary>Runs a read, with engine failures as <see cref="StorageException"/>.</summary>
    public T Read<T>(Func<T> read)
    {
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
        if (_lastWriteFailure is not null)
        {
            // A write proves the fault cleared (space freed, file writable again).
            try
            {
                Write(_ => _probe.Upsert(new BsonDocument { ["_id"] = 1, ["at"] = DateTime.UtcNow.Ticks }));
            }
            catch (StorageException ex)
            {
                return Task.FromResult<string?>($"Storage cannot take writes ({Path}): {ex.Message}");
            }
        }

        try
        {
            _ = Database.UserVersion;
            return Task.FromResult<string?>(null);
        }
        catch (Exception ex) when (Translate(ex) is { } failure)
        {
            return Task.FromResult<string?>($"Storage is not readable ({Path}): {failure.Message}");
        }
    }

    public void Dispose() => Database.Dispose();

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

    /// <summary>
    /// Opens the file and reads every collection's first document, so that a damaged file stops
    /// the start with its name and the way out instead of failing requests later.
    /// </summary>
    private static LiteDatabase Open(string path)
    {
        LiteDatabase? database = null;
        try
        {
            database = new LiteDatabase(new ConnectionString { Filename = path, Connection = ConnectionType.Direct }, new BsonMapper());
            foreach (var name in database.GetCollectionNames().ToList())
            {
                _ = database.GetCollection(name).FindOne(Query.All());
            }

            return database;
        }
        catch (Exception ex) when (ex is LiteException or InvalidCastException or ArgumentException or IndexOutOfRangeException or InvalidOperationException
            or OverflowException or FormatException or EndOfStreamException)
        {
            database?.Dispose();
            throw new StorageException(StorageFault.Corrupt,
                $"The database file {path} is damaged and cannot be opened ({ex.GetType().Name}: {ex.Message}). " +
                "Stop the control plane, move the file aside (or restore it from a backup, see the README's 'Backup and restore'), and start again; " +
                "a moved-aside file starts the control plane empty.", ex);
        }
    }

    private StorageException Failed(StorageException failure)
    {
        _lastWriteFailure = failure;
        return failure;
    }

    private void RollbackQuietly()
    {
        try
        {
            Database.Rollback();
        }
        catch (Exception ex) when (Translate(ex) is not null)
        {
            // The transaction is gone with the failure that interrupted it; the original error is what the caller sees.
        }
    }
}
