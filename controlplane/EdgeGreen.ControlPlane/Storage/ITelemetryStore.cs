namespace EdgeGreen.ControlPlane.Storage;

public interface ITelemetryStore
{
    /// <summary>
    /// Appends one batch atomically. Readings must be in strictly increasing sequence order;
    /// those at or below the agent's durable sequence are resends and are skipped, so appending
    /// the same batch twice stores it once.
    /// </summary>
    Task<AppendResult> AppendAsync(string agentId, IReadOnlyList<ReadingRecord> readings, DateTimeOffset receivedAt, CancellationToken cancellationToken);

    /// <summary>The highest sequence stored for the agent, 0 when none.</summary>
    Task<long> GetDurableSequenceAsync(string agentId, CancellationToken cancellationToken);

    Task<TelemetrySummary?> GetSummaryAsync(string agentId, CancellationToken cancellationToken);

    Task<IReadOnlyList<TelemetrySummary>> ListSummariesAsync(CancellationToken cancellationToken);

    /// <summary>Readings whose interval ends in [from, to), ordered by time, optionally of one domain.</summary>
    Task<IReadOnlyList<ReadingRecord>> ReadAsync(string agentId, DateTimeOffset from, DateTimeOffset to, string? domain, CancellationToken cancellationToken);
}
