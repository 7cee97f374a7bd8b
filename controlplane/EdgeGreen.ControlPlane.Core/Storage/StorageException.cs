namespace EdgeGreen.ControlPlane.Core.Storage;

/// <summary>Why a store could not do what was asked, for reasons outside the caller's control.</summary>
public enum StorageFault
{
    /// <summary>The database cannot be reached or refused the operation; retrying later may succeed.</summary>
    Unavailable,

    /// <summary>The disk or the database is full.</summary>
    Full,

    /// <summary>The stored data is damaged and needs an operator.</summary>
    Corrupt,
}

/// <summary>
/// A storage provider's failure in terms the rest of the control plane understands, so that no
/// engine's exception type leaves its provider: callers map it to gRPC <c>Unavailable</c> or
/// <c>ResourceExhausted</c>, and readiness reports it.
/// </summary>
public sealed class StorageException(StorageFault fault, string message, Exception? innerException = null) : Exception(message, innerException)
{
    public StorageFault Fault { get; } = fault;
}
