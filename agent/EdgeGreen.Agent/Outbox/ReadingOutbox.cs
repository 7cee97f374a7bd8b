using EdgeGreen.Agent.Sensors;
using EdgeGreen.Shared;
using LiteDB;
using Microsoft.Extensions.Options;

namespace EdgeGreen.Agent.Outbox;

/// <summary>
/// Durable queue of readings between sampling and the uplink (one LiteDB file in the agent's data
/// directory). Every reading gets the next per-agent sequence number and is written before it is
/// sent; it is deleted only once the control plane acknowledges it as durable. When the bound is
/// reached the oldest readings are dropped and counted.
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
    private readonly ILogger<ReadingOutbox> _logger;
    private OutboxMeta _state;
    private long _depth;

    public ReadingOutbox(IOptions<AgentOptions> options, AgentMetrics metrics, ILogger<ReadingOutbox> logger)
    {
        _maxReadings = options.Value.Outbox.MaxReadings;
        _metrics = metrics;
        _logger = logger;
        PrivateDirectory.Create(options.Value.DataDirectory);
        Path = System.IO.Path.GetFullPath(System.IO.Path.Combine(options.Value.DataDirectory, "outbox.db"));
        PrivateFile.RestrictDatabase(Path);
        _database = new LiteDatabase(new ConnectionString { Filename = Path, Connection = ConnectionType.Direct }, new BsonMapper());
        _readings = _database.GetCollection<OutboxEntry>("readings");
        _meta = _database.GetCollection<OutboxMeta>("meta");
        _state = _meta.FindById(MetaId) ?? new OutboxMeta { Id = MetaId };
        var highest = _readings.Query().OrderByDescending(r => r.Id).Select(r => r.Id).FirstOrDefault();
        _state.LastSequence = Math.Max(_state.LastSequence, highest);
        _depth = _readings.LongCount();
        _metrics.OutboxDepth.Set(_depth);
    }

    public string Path { get; }

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

    /// <summary>Readings dropped over the outbox's life because it was full.</summary>
    public long Dropped
    {
        get { lock (_gate) { return _state.Dropped; } }
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
                var dropped = overflow > 0 ? DropOldest(overflow) : 0;
                _readings.InsertBulk(entries);
                var state = _state with { LastSequence = next, Dropped = _state.Dropped + dropped };
                _meta.Upsert(state);
                _database.Commit();
                _state = state;
                _depth += entries.Count - dropped;
                if (dropped > 0)
                {
                    _metrics.OutboxDropped.Inc(dropped);
                    LogDropped(dropped, _maxReadings);
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

    /// <summary>Deletes every reading up to the control plane's durable sequence.</summary>
    /// <returns>How many readings were deleted.</returns>
    public int Acknowledge(long durableSequence)
    {
        lock (_gate)
        {
            var deleted = _readings.DeleteMany(Query.LTE("_id", durableSequence));
            _depth -= deleted;
            _metrics.OutboxDepth.Set(_depth);
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

            var deleted = _readings.DeleteMany(Query.And(Query.GT("_id", afterSequence), Query.LTE("_id", ids[^1])));
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

    private int DropOldest(long count)
    {
        var lastDropped = _readings.Query().OrderBy(r => r.Id).Select(r => r.Id).Limit((int)Math.Min(count, int.MaxValue)).ToList();
        return lastDropped.Count == 0 ? 0 : _readings.DeleteMany(Query.LTE("_id", lastDropped[^1]));
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Outbox full ({MaxReadings} readings): dropped the {Dropped} oldest")]
    private partial void LogDropped(int dropped, int maxReadings);

    private sealed record OutboxMeta
    {
        public string Id { get; set; } = MetaId;

        public long LastSequence { get; set; }

        public long Dropped { get; set; }
    }
}
