using EdgeGreen.Agent.Outbox;
using EdgeGreen.Contracts.V1;
using EdgeGreen.Shared;
using Google.Protobuf;
using LiteDB;
using Microsoft.Extensions.Options;

namespace EdgeGreen.Agent.Monitoring;

/// <summary>
/// Summaries of monitored traffic waiting for the control plane, kept in the agent's outbox file
/// beside the readings and job reports: written before they are sent, deleted only once the control
/// plane took them, so they survive a restart or a long disconnection. Bounded by
/// <see cref="MonitoringOptions.MaxPendingSummaries"/>: when full, the oldest is dropped and counted
/// (<c>edgegreen_agent_inference_summaries_dropped_total{reason="outbox_full"}</c>).
/// </summary>
public sealed partial class InferenceSummaryOutbox
{
    /// <summary>
    /// The largest summary kept whole, under the control plane's default 4 MiB per message; a larger
    /// one (a huge sample or prediction log) loses its sample, then its prediction log, and is counted.
    /// </summary>
    public const int MaxSummaryBytes = 3 * 1024 * 1024;

    private readonly Lock _gate = new();
    private readonly ILiteCollection<SummaryEntry> _summaries;
    private readonly AsyncSignal _added = new();
    private readonly int _maxPending;
    private readonly AgentMetrics _metrics;
    private readonly LogThrottle _throttle;
    private readonly ILogger<InferenceSummaryOutbox> _logger;

    public InferenceSummaryOutbox(ReadingOutbox outbox, IOptions<AgentOptions> options, AgentMetrics metrics, LogThrottle throttle, ILogger<InferenceSummaryOutbox> logger)
    {
        ArgumentNullException.ThrowIfNull(outbox);
        ArgumentNullException.ThrowIfNull(options);
        _summaries = outbox.Database.GetCollection<SummaryEntry>("inference_summaries");
        _maxPending = options.Value.Monitoring.MaxPendingSummaries;
        _metrics = metrics;
        _throttle = throttle;
        _logger = logger;
        _metrics.InferenceSummariesPending.Set(_summaries.Count());
    }

    public int Count => _summaries.Count();

    /// <summary>Stores a summary, dropping the oldest when the outbox holds its bound.</summary>
    public void Add(InferenceSummary summary)
    {
        ArgumentNullException.ThrowIfNull(summary);
        var bytes = Fitted(summary);
        lock (_gate)
        {
            var overflow = _summaries.Count() + 1 - _maxPending;
            if (overflow > 0)
            {
                var oldest = _summaries.Query().OrderBy(e => e.Id).Select(e => e.Id).Limit(overflow).ToList();
                var newestDropped = oldest[^1];
                _summaries.DeleteMany(e => e.Id <= newestDropped);
                _metrics.InferenceSummariesDropped.WithLabels("outbox_full").Inc(oldest.Count);
                if (_throttle.ShouldLog("summaries-full", out var suppressed))
                {
                    LogDropped(oldest.Count, _maxPending, suppressed);
                }
            }

            _summaries.Insert(new SummaryEntry { SummaryId = summary.Id, Summary = bytes });
            _metrics.InferenceSummariesPending.Set(_summaries.Count());
        }

        _added.Notify();
    }

    /// <summary>Up to <paramref name="max"/> summaries, oldest first, each with its outbox key.</summary>
    public IReadOnlyList<PendingSummary> Pending(int max) =>
        [.. _summaries.Query().OrderBy(e => e.Id).Limit(max).ToList().Select(e => new PendingSummary(e.Id, InferenceSummary.Parser.ParseFrom(e.Summary), e.Summary.Length))];

    /// <summary>Deletes summaries the control plane took (or refused).</summary>
    public void Remove(IEnumerable<long> keys)
    {
        ArgumentNullException.ThrowIfNull(keys);
        lock (_gate)
        {
            foreach (var key in keys)
            {
                _summaries.Delete(key);
            }

            _metrics.InferenceSummariesPending.Set(_summaries.Count());
        }
    }

    /// <summary>Completes when a summary is added.</summary>
    internal Task WaitAsync(CancellationToken cancellationToken) => _added.WaitAsync(cancellationToken);

    /// <summary>The summary's bytes, its sample and then its prediction log left out while it is larger than <see cref="MaxSummaryBytes"/>.</summary>
    private byte[] Fitted(InferenceSummary summary)
    {
        if (summary.CalculateSize() <= MaxSummaryBytes)
        {
            return summary.ToByteArray();
        }

        var trimmed = summary.Clone();
        trimmed.Samples.Clear();
        if (trimmed.CalculateSize() > MaxSummaryBytes)
        {
            trimmed.Predictions.Clear();
        }

        _metrics.InferenceSummariesTrimmed.Inc();
        LogTrimmed(summary.Id, summary.Samples.Count, summary.Predictions.Count - trimmed.Predictions.Count, MaxSummaryBytes);
        return trimmed.ToByteArray();
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Summary outbox full ({MaxPending} summaries): dropped the {Dropped} oldest ({Suppressed} more such drops since the last line; edgegreen_agent_inference_summaries_dropped_total counts them all)")]
    private partial void LogDropped(int dropped, int maxPending, long suppressed);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Summary {SummaryId} was over {MaxBytes} bytes: left out its {Samples} sampled requests and {Predictions} logged predictions")]
    private partial void LogTrimmed(string summaryId, int samples, int predictions, int maxBytes);

    internal sealed class SummaryEntry
    {
        /// <summary>Insertion order (LiteDB numbers it), so the oldest goes first when the outbox is full.</summary>
        public long Id { get; set; }

        public string SummaryId { get; set; } = "";

        public byte[] Summary { get; set; } = [];
    }
}

/// <summary>A summary waiting in the outbox, its key there, and its size on the wire.</summary>
public sealed record PendingSummary(long Key, InferenceSummary Summary, int Bytes);
