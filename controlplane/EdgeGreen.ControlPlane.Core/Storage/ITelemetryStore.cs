namespace EdgeGreen.ControlPlane.Core.Storage;

/// <summary>
/// Telemetry as a time series in three tiers: the raw readings, and rollups per agent × domain
/// and per zone at one minute and one hour, kept in the same transaction as the readings they
/// count. Queries name the tier; <see cref="Telemetry.TelemetryTiers.For"/> picks the coarsest
/// one that answers a step exactly.
/// </summary>
public interface ITelemetryStore
{
    /// <summary>
    /// Appends several batches in one transaction (a group commit) and returns one result per
    /// batch, in order. Each batch's readings are in strictly increasing sequence order; those at
    /// or below the agent's durable sequence (including earlier batches of the same call) are
    /// resends and are skipped, so appending the same batch twice stores it once. Nothing of the
    /// call is stored when it throws.
    /// </summary>
    /// <exception cref="StorageException">The database failed; no batch of the call is stored.</exception>
    Task<IReadOnlyList<AppendResult>> AppendAsync(IReadOnlyList<TelemetryBatch> batches, CancellationToken cancellationToken);

    /// <summary>
    /// How many <see cref="AppendAsync"/> calls, each for a different set of agents, the store
    /// runs faster at once than one after another: 1 for an engine with a single writer.
    /// </summary>
    int ConcurrentCommits => 1;

    /// <summary>
    /// The most agents' batches one <see cref="AppendAsync"/> call should take, where the engine's
    /// memory grows with the largest transaction it has run.
    /// </summary>
    int MaxBatchesPerCommit => 4096;

    /// <summary>The highest sequence stored for the agent, 0 when none.</summary>
    Task<long> GetDurableSequenceAsync(string agentId, CancellationToken cancellationToken);

    Task<TelemetrySummary?> GetSummaryAsync(string agentId, CancellationToken cancellationToken);

    Task<IReadOnlyList<TelemetrySummary>> ListSummariesAsync(CancellationToken cancellationToken);

    /// <summary>
    /// One agent's energy in [from, to) from one tier, in time order, optionally of one domain:
    /// each raw reading (at the end of its interval), or each rollup bucket (at its start). Streamed:
    /// memory does not grow with the range.
    /// </summary>
    IAsyncEnumerable<EnergyBucket> ReadAgentAsync(string agentId, string? domain, TelemetryTier tier, DateTimeOffset from, DateTimeOffset to, CancellationToken cancellationToken);

    /// <summary>One agent's raw readings whose interval ends in [from, to), in time order, optionally of one domain; streamed.</summary>
    IAsyncEnumerable<ReadingRecord> ReadReadingsAsync(string agentId, string? domain, DateTimeOffset from, DateTimeOffset to, CancellationToken cancellationToken);

    /// <summary>Every zone's energy in [from, to) from a rollup tier (<see cref="TelemetryTier.Minute"/> or <see cref="TelemetryTier.Hour"/>), in time order.</summary>
    IAsyncEnumerable<ZoneBucket> ReadZonesAsync(TelemetryTier tier, DateTimeOffset from, DateTimeOffset to, CancellationToken cancellationToken);

    /// <summary>
    /// For a store that keeps its agents' open hours in the minute tier alone (and answers hour
    /// queries for them from there): folds the hours that ended before <paramref name="now"/>'s
    /// clock hour into the hour tier, and returns how many agents it moved on. Queries answer the
    /// same before and after. The leader calls it before each retention pass.
    /// </summary>
    Task<long> CloseHoursAsync(DateTimeOffset now, CancellationToken cancellationToken) => Task.FromResult(0L);

    /// <summary>Deletes what each tier keeps no longer: raw readings and rollup buckets that end before the tier's cutoff (null keeps the tier).</summary>
    Task<RetentionResult> DeleteBeforeAsync(RetentionCutoffs cutoffs, CancellationToken cancellationToken);
}

public enum TelemetryTier
{
    Raw,
    Minute,
    Hour,
}

/// <summary>One agent's batch as it arrived: the zone its energy counts in at the time, and its readings.</summary>
public sealed record TelemetryBatch(string AgentId, string Zone, IReadOnlyList<ReadingRecord> Readings, DateTimeOffset ReceivedAt);

/// <summary>
/// Energy of one domain of one agent over a bucket starting at <see cref="Time"/> (a raw reading:
/// the end of its interval): <see cref="CoveredSeconds"/> is the time its readings span, so power
/// is energy over covered time even in a partly covered bucket.
/// </summary>
public readonly record struct EnergyBucket(DateTimeOffset Time, string Domain, double EnergyJoules, double CoveredSeconds, long Readings);

/// <summary>The node energy of a zone's agents over a bucket: each agent's whole-node domains where it reports them, else its components.</summary>
public readonly record struct ZoneBucket(DateTimeOffset Time, string Zone, double EnergyJoules, long Readings);

public sealed record RetentionCutoffs(DateTimeOffset? Raw, DateTimeOffset? Minute, DateTimeOffset? Hour);

public sealed record RetentionResult(long RawReadings, long MinuteBuckets, long HourBuckets);
