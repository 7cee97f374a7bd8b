using EdgeGreen.Agent.Sensors;
using EdgeGreen.Shared;
using LiteDB;
using Microsoft.Extensions.Options;

namespace EdgeGreen.Agent.Outbox;

/// <summary>
/// Durable queue of readings between sampling and the uplink (one LiteDB file in the agent's data
/// directory). Every reading gets the next per-agent sequence number and is written before it is
/// sent; it is deleted only once the control plane acknowledges it as durable. When the bound is
/// reached the oldest readings are dropped. A dropped reading that was never sent is lost and
/// counted at once; one dropped while in flight may still be stored by the control plane, so it
/// is held "in doubt" until the control plane's durable sequence settles it: counted as lost only
/// when a new stream resumes below it. <see cref="Dropped"/> thus equals the readings really lost.
/// </summary>
public sealed partial class ReadingOutbox : IDisposable
{
    private const string MetaId = "outbox";

    private readonly Lock _gate = new();
    private readonly LiteDatabase _database;
    private readonly ILiteCollection<OutboxEntry> _readings;
    private readonly ILiteCollection<OutboxMeta> _meta;
    private readonly AsyncSignal _appended = new();
    private readonly int _maxReadings;
    private readonly AgentMetrics _metrics;
    private readonly LogThrottle _throttle;
    private readonly ILogger<ReadingOutbox> _logger;
    private OutboxMeta _state;
    private long _depth;

    /// <summary>The highest sequence handed to the current stream; nothing is in flight after a restart.</summary>
    private long _sentThrough;

    /// <summary>The highest sequence dropped so far (drops take the oldest first).</summary>
    private long _droppedThrough;

    public ReadingOutbox(IOptions<AgentOptions> options, AgentMetrics metrics, LogThrottle throttle, ILogger<ReadingOutbox> logger)
    {
        _throttle = throttle;
        _maxReadings = options.Value.Outbox.MaxReadings;
        _metrics = metrics;
        _logger = logger;
        PrivateDirectory.Create(options.Value.DataDirectory);
        Path = System.IO.Path.GetFullPath(System.IO.Path.Combine(options.Value.DataDirectory, "outbox.db"));
        PrivateFile.RestrictDatabase(Path);
        _database = new LiteDatabase(new ConnectionString { Filename = Path, Connection = ConnectionType.Direct }, new BsonMapper());
        CreateCollections(_database);
        _readings = _database.GetCollection<OutboxEntry>("readings");
        _meta = _database.GetCollection<OutboxMeta>("meta");
        _state = _meta.FindById(MetaId) ?? new OutboxMeta { Id = MetaId };
        var highest = _readings.Query().OrderByDescending(r => r.Id).Select(r => r.Id).FirstOrDefault();
        _state.LastSequence = Math.Max(_state.LastSequence, highest);
        _depth = _readings.LongCount();
        _metrics.OutboxDepth.Set(_depth);
        _metrics.OutboxDroppedInFlight.Set(_state.InDoubt.Sum(r => r.Count));
    }

    public string Path { get; }

    /// <summary>The outbox file's collections: readings, its state, job reports and inference summaries.</summary>
    internal static readonly IReadOnlyList<string> Collections = ["readings", "meta", "job_reports", "inference_summaries"];

    /// <summary>
    /// Creates the collections the file lacks before anything reads them: LiteDB 5 fails a read of a
    /// collection that another transaction is creating at that moment and closes the engine with it
    /// (LiteDB issue #2792), and the senders poll their collections while the first item may be
    /// written. An emptied collection stays, so a placeholder inserted and removed makes one.
    /// </summary>
    private static void CreateCollections(LiteDatabase database)
    {
        var existing = database.GetCollectionNames().ToHashSet(StringComparer.Ordinal);
        foreach (var name in Collections.Where(name => !existing.Contains(name)))
        {
            var collection = database.GetCollection(name);
            collection.Delete(collection.Insert(new BsonDocument { ["placeholder"] = true }));
        }
    }

    /// <summary>The outbox file, shared with the job reports so that the agent keeps one outbox.</summary>
    internal LiteDatabase Database => _database;

    /// <summary>Readings waiting for an acknowledgement.</summary>
    public long Depth
    {
        get { lock (_gate) { return _depth; } }
    }

    /// <summary>The highest sequence number handed out so far.</summary>
    public long LastSequence
    {
        get { lock (_gate) { return _state.LastSequence; } }
    }

    /// <summary>Readings lost over the outbox's life because it was full.</summary>
    public long Dropped
    {
        get { lock (_gate) { return _state.Dropped; } }
    }

    /// <summary>Readings dropped while in flight whose fate the control plane has not told yet.</summary>
    public long DroppedInFlight
    {
        get { lock (_gate) { return _state.InDoubt.Sum(r => r.Count); } }
    }

    /// <summary>Numbers and stores the readings of one sensor, atomically.</summary>
    public IReadOnlyList<OutboxReading> Append(string sensorId, IReadOnlyList<EnergyDelta> deltas) =>
        Append([.. deltas.Select(d => (sensorId, d))]);

    /// <summary>Numbers and stores the readings of one sampling pass (every sensor) in one transaction.</summary>
    public IReadOnlyList<OutboxReading> Append(IReadOnlyList<(string SensorId, EnergyDelta Delta)> deltas)
    {
        if (deltas.Count == 0)
        {
            return [];
        }

        var appended = new List<OutboxReading>(deltas.Count);
        lock (_gate)
        {
            var overflow = _depth + deltas.Count - _maxReadings;
            var next = _state.LastSequence;
            var entries = deltas.Select(d => OutboxEntry.From(++next, d.SensorId, d.Delta)).ToList();
            _database.BeginTrans();
            try
            {
                var dropped = overflow > 0 ? DropOldest(overflow) : [];
                _readings.InsertBulk(entries);
                var inFlight = SequenceRange.Runs(dropped.Where(id => id <= _sentThrough));
                var lost = dropped.Count - inFlight.Sum(r => r.Count);
                var state = _state with
                {
                    LastSequence = next,
                    Dropped = _state.Dropped + lost,
                    InDoubt = [.. _state.InDoubt, .. inFlight],
                };
                _meta.Upsert(state);
                _database.Commit();
                _state = state;
                _depth += entries.Count - dropped.Count;
                if (dropped.Count > 0)
                {
                    _metrics.OutboxDropped.Inc(lost);
                    _metrics.OutboxDroppedInFlight.Set(state.InDoubt.Sum(r => r.Count));
                    if (_throttle.ShouldLog("outbox-full", out var suppressed))
                    {
                        LogDropped(dropped.Count, _maxReadings, suppressed);
                    }
                }
            }
            catch
            {
                _database.Rollback();
                throw;
            }

            appended.AddRange(entries.Select(e => e.ToReading()));
            _metrics.OutboxDepth.Set(_depth);
        }

        _appended.Notify();
        return appended;
    }

    /// <summary>Up to <paramref name="max"/> readings with a sequence above <paramref name="afterSequence"/>, in order.</summary>
    public IReadOnlyList<OutboxReading> ReadAfter(long afterSequence, int max)
    {
        lock (_gate)
        {
            return _readings.Query().Where(r => r.Id > afterSequence).OrderBy(r => r.Id).Limit(max).ToList()
                .Select(e => e.ToReading()).ToList();
        }
    }

    /// <summary>Completes when a reading above <paramref name="afterSequence"/> exists.</summary>
    public async Task WaitForReadingsAfterAsync(long afterSequence, CancellationToken cancellationToken)
    {
        while (true)
        {
            var appended = _appended.WaitAsync(cancellationToken);
            if (LastSequence > afterSequence)
            {
                return;
            }

            await appended;
        }
    }

    /// <summary>
    /// Deletes every reading up to the control plane's durable sequence. Readings dropped in flight
    /// at or below it were stored (a stream's batches commit in order), so they are settled as delivered.
    /// </summary>
    /// <returns>How many readings were deleted.</returns>
    public int Acknowledge(long durableSequence)
    {
        lock (_gate)
        {
            // Predicates as expressions, never Query.LTE and the like: LiteDB 5.0.21 compiles and keeps
            // one expression per distinct value given to those, so each acknowledgement grew the agent for good.
            var deleted = _readings.DeleteMany(r => r.Id <= durableSequence);
            _depth -= deleted;
            _metrics.OutboxDepth.Set(_depth);
            Settle(durableSequence, resumed: false);
            return deleted;
        }
    }

    /// <summary>
    /// Marks readings from <see cref="ReadAfter"/> as handed to the current stream, unless the full
    /// outbox dropped some of them since they were read: then nothing is marked and the caller reads again.
    /// </summary>
    /// <returns>Whether the readings are still held and now count as in flight.</returns>
    public bool MarkSent(IReadOnlyList<OutboxReading> readings)
    {
        lock (_gate)
        {
            if (readings.Count == 0 || readings[0].Sequence <= _droppedThrough)
            {
                return false;
            }

            _sentThrough = Math.Max(_sentThrough, readings[^1].Sequence);
            return true;
        }
    }

    /// <summary>
    /// Starts a new stream at the control plane's durable sequence: what it holds is acknowledged,
    /// and readings dropped in flight above it never reached it, so they are counted as lost.
    /// Nothing is in flight on the new stream yet.
    /// </summary>
    /// <returns>How many readings were deleted as acknowledged.</returns>
    public int Resume(long durableSequence)
    {
        lock (_gate)
        {
            var deleted = Acknowledge(durableSequence);
            Settle(durableSequence, resumed: true);
            _sentThrough = durableSequence;
            EnsureSequenceAbove(durableSequence);
            return deleted;
        }
    }

    /// <summary>Removes readings the control plane refused, so that they do not block the rest.</summary>
    public int Reject(long afterSequence, int count)
    {
        lock (_gate)
        {
            var ids = _readings.Query().Where(r => r.Id > afterSequence).OrderBy(r => r.Id).Select(r => r.Id).Limit(count).ToList();
            if (ids.Count == 0)
            {
                return 0;
            }

            var last = ids[^1];
            var deleted = _readings.DeleteMany(r => r.Id > afterSequence && r.Id <= last);
            _depth -= deleted;
            _metrics.OutboxDepth.Set(_depth);
            return deleted;
        }
    }

    /// <summary>
    /// Moves the sequence past what the control plane already holds for this agent, so that a
    /// recreated outbox never reuses a sequence number (which ingest would treat as a resend).
    /// </summary>
    public void EnsureSequenceAbove(long durableSequence)
    {
        lock (_gate)
        {
            if (_state.LastSequence >= durableSequence)
            {
                return;
            }

            var state = _state with { LastSequence = durableSequence };
            _meta.Upsert(state);
            _state = state;
        }
    }

    public void Dispose() => _database.Dispose();

    /// <summary>Deletes the <paramref name="count"/> oldest readings and returns their sequences.</summary>
    private List<long> DropOldest(long count)
    {
        var dropped = _readings.Query().OrderBy(r => r.Id).Select(r => r.Id).Limit((int)Math.Min(count, int.MaxValue)).ToList();
        if (dropped.Count > 0)
        {
            var last = dropped[^1];
            _readings.DeleteMany(r => r.Id <= last);
            _droppedThrough = Math.Max(_droppedThrough, dropped[^1]);
        }

        return dropped;
    }

    /// <summary>
    /// Settles the readings dropped in flight against the control plane's durable sequence: those at
    /// or below it are delivered; when a stream resumes, those above it are lost.
    /// </summary>
    private void Settle(long durableSequence, bool resumed)
    {
        if (_state.InDoubt.Count == 0)
        {
            return;
        }

        var open = new List<SequenceRange>();
        long lost = 0;
        foreach (var range in _state.InDoubt)
        {
            var above = range.Above(durableSequence);
            if (above is null)
            {
                continue;
            }

            if (resumed)
            {
                lost += above.Count;
            }
            else
            {
                open.Add(above);
            }
        }

        var state = _state with { Dropped = _state.Dropped + lost, InDoubt = open };
        _meta.Upsert(state);
        _state = state;
        _metrics.OutboxDropped.Inc(lost);
        _metrics.OutboxDroppedInFlight.Set(open.Sum(r => r.Count));
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Outbox full ({MaxReadings} readings): dropped the {Dropped} oldest ({Suppressed} more such drops since the last line; edgegreen_agent_outbox_dropped_total counts them all)")]
    private partial void LogDropped(int dropped, int maxReadings, long suppressed);

    private sealed record OutboxMeta
    {
        public string Id { get; set; } = MetaId;

        public long LastSequence { get; set; }

        public long Dropped { get; set; }

        public List<SequenceRange> InDoubt { get; set; } = [];
    }
}
