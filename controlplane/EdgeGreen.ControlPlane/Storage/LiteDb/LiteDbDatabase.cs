using LiteDB;
using Microsoft.Extensions.Options;

namespace EdgeGreen.ControlPlane.Storage.LiteDb;

/// <summary>
/// The embedded database (<c>edgegreen.db</c> in the data directory), shared by the LiteDB stores.
/// Writes take <see cref="WriteGate"/> so that each multi-document change is one transaction on
/// one thread, as LiteDB's per-thread transactions require.
/// </summary>
public sealed class LiteDbDatabase : IDisposable
{
    public LiteDbDatabase(IOptions<StorageOptions> options)
    {
        Directory.CreateDirectory(options.Value.DataDirectory);
        Path = System.IO.Path.GetFullPath(System.IO.Path.Combine(options.Value.DataDirectory, "edgegreen.db"));
        Database = new LiteDatabase(new ConnectionString { Filename = Path, Connection = ConnectionType.Direct }, new BsonMapper());
    }

    public string Path { get; }

    public LiteDatabase Database { get; }

    public Lock WriteGate { get; } = new();

    /// <summary>Runs <paramref name="write"/> in one transaction under the write gate.</summary>
    public T Write<T>(Func<LiteDatabase, T> write)
    {
        lock (WriteGate)
        {
            Database.BeginTrans();
            try
            {
                var result = write(Database);
                Database.Commit();
                return result;
            }
            catch
            {
                Database.Rollback();
                throw;
            }
        }
    }

    public void Dispose() => Database.Dispose();
}
