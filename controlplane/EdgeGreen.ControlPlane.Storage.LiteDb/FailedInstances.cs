using System.Collections.Concurrent;
using LiteDB;

namespace EdgeGreen.ControlPlane.Storage.LiteDb;

/// <summary>
/// Where LiteDB instances that failed are kept for the life of the process. LiteDB 5 finalizes a
/// transaction it was never told to end on the garbage collector's finalizer thread, and the
/// exception that can throw there ends the process (LiteDB issue #2828, open in 5.0.21). An
/// instance that failed (a write the disk refused, a damaged file) may hold such a transaction,
/// and disposing it may leave one behind, so it is neither disposed nor allowed to be collected:
/// one instance per failure, a small cost beside a crash long after the fault cleared.
/// </summary>
internal static class FailedInstances
{
    private static readonly ConcurrentBag<LiteDatabase> Kept = [];

    public static void Keep(LiteDatabase database) => Kept.Add(database);
}
