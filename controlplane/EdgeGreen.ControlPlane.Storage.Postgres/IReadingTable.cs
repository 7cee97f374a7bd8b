namespace EdgeGreen.ControlPlane.Storage.Postgres;

/// <summary>
/// How <c>reading_chunks</c> is split by time: native day partitions (<see cref="ReadingPartitions"/>)
/// or a TimescaleDB hypertable (<see cref="ReadingHypertable"/>). The telemetry store asks the one
/// its database has before each commit and for raw retention; reads and writes are the same SQL on both.
/// </summary>
internal interface IReadingTable
{
    /// <summary>Makes whatever the readings of these UTC days need before a commit can copy them in.</summary>
    Task EnsureAsync(IEnumerable<DateOnly> days, CancellationToken cancellationToken);

    /// <summary>Forgets what <see cref="EnsureAsync"/> remembers, so that the next commit checks again.</summary>
    void Forget();

    /// <summary>Deletes the readings filed in the hours before <paramref name="cutoff"/>, a whole hour.</summary>
    /// <returns>How many readings were deleted.</returns>
    Task<long> DeleteBeforeAsync(DateTimeOffset cutoff, CancellationToken cancellationToken);
}
