using System.Collections.Concurrent;
using LiteDB;

namespace EdgeGreen.ControlPlane.Storage.LiteDb;

/// <summary>
/// Readings in one collection per agent keyed by sequence (<c>_id</c>) with an index on time, and
/// a summary document per agent (durable sequence, totals, latest power) updated in the same
/// transaction as the readings it counts.
/// </summary>
public sealed class LiteDbTelemetryStore : ITelemetryStore
{
    private readonly LiteDbDatabase _database;
    private readonly ILiteCollection<BsonDocument> _summaries;
    private readonly ConcurrentDictionary<string, ILiteCollection<BsonDocument>> _readings = new();

    public LiteDbTelemetryStore(LiteDbDatabase database)
    {
        _database = database;
        _summaries = database.Database.GetCollection("telemetry_summaries");
    }

    public Task<AppendResult> AppendAsync(string agentId, IReadOnlyList<ReadingRecord> readings, DateTimeOffset receivedAt, CancellationToken cancellationToken)
    {
        var collection = Readings(agentId);
        var result = _database.Write(_ =>
        {
            var summary = _summaries.FindById(agentId) is { } existing ? FromDocument(existing) : Empty(agentId);
            var fresh = readings.Where(r => r.Sequence > summary.DurableSequence).ToList();
            if (fresh.Count > 0)
            {
                collection.InsertBulk(fresh.Select(ToDocument), batchSize: 10_000);
                summary = Advance(summary, fresh);
            }

            _summaries.Upsert(ToDocument(summary with { LastReceivedAt = receivedAt }));
            return new AppendResult(summary.DurableSequence, fresh.Count, readings.Count - fresh.Count);
        });
        return Task.FromResult(result);
    }

    public Task<long> GetDurableSequenceAsync(string agentId, CancellationToken cancellationToken) =>
        Task.FromResult(_summaries.FindById(agentId) is { } summary ? summary["durableSequence"].AsInt64 : 0);

    public Task<TelemetrySummary?> GetSummaryAsync(string agentId, CancellationToken cancellationToken) =>
        Task.FromResult(_summaries.FindById(agentId) is { } summary ? FromDocument(summary) : null);

    public Task<IReadOnlyList<TelemetrySummary>> ListSummariesAsync(CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<TelemetrySummary>>(_summaries.FindAll().Select(FromDocument).ToList());

    public Task<IReadOnlyList<ReadingRecord>> ReadAsync(string agentId, DateTimeOffset from, DateTimeOffset to, string? domain, CancellationToken cancellationToken)
    {
        var query = Query.And(Query.GTE("t", from.UtcTicks), Query.LT("t", to.UtcTicks));
        if (domain is not null)
        {
            query = Query.And(query, Query.EQ("d", domain));
        }

        // A read never creates anything: an agent without readings has no collection yet.
        IReadOnlyList<ReadingRecord> readings = _readings.ContainsKey(agentId) || _database.Database.CollectionExists(CollectionName(agentId))
            ? [.. Readings(agentId).Find(query).Select(FromReading).OrderBy(r => r.Time).ThenBy(r => r.Sequence)]
            : [];
        return Task.FromResult(readings);
    }

    private ILiteCollection<BsonDocument> Readings(string agentId) => _readings.GetOrAdd(agentId, id =>
    {
        var collection = _database.Database.GetCollection(CollectionName(id));
        collection.EnsureIndex("t");
        return collection;
    });

    /// <summary>Agent ids are hex (see enrollment); anything else cannot name a collection.</summary>
    private static string CollectionName(string agentId) =>
        agentId.All(char.IsAsciiLetterOrDigit) ? "readings_" + agentId : throw new ArgumentException($"Agent id '{agentId}' is not alphanumeric.", nameof(agentId));

    private static TelemetrySummary Empty(string agentId) => new(agentId, 0, 0, 0, null, new Dictionary<string, double>(), null);

    private static TelemetrySummary Advance(TelemetrySummary summary, IReadOnlyList<ReadingRecord> fresh)
    {
        var latest = new Dictionary<string, (DateTimeOffset Time, double PowerWatts)>();
        foreach (var reading in fresh)
        {
            if (!latest.TryGetValue(reading.Domain, out var known) || reading.Time >= known.Time)
            {
                latest[reading.Domain] = (reading.Time, reading.PowerWatts);
            }
        }

        var lastReadingAt = fresh.Max(r => r.Time);
        var power = new Dictionary<string, double>(summary.LatestPowerWattsByDomain);
        foreach (var (domain, value) in latest)
        {
            power[domain] = value.PowerWatts;
        }

        return summary with
        {
            DurableSequence = fresh[^1].Sequence,
            ReadingCount = summary.ReadingCount + fresh.Count,
            EnergyJoules = summary.EnergyJoules + fresh.Sum(r => r.EnergyJoules),
            LastReadingAt = summary.LastReadingAt is { } previous && previous > lastReadingAt ? previous : lastReadingAt,
            LatestPowerWattsByDomain = power,
        };
    }

    private static BsonDocument ToDocument(ReadingRecord reading) => new()
    {
        ["_id"] = reading.Sequence,
        ["t"] = reading.Time.UtcTicks,
        ["i"] = reading.Interval.Ticks,
        ["s"] = reading.SensorId,
        ["d"] = reading.Domain,
        ["e"] = reading.EnergyJoules,
        ["p"] = (int)reading.Provenance,
    };

    private static ReadingRecord FromReading(BsonDocument document) => new(
        document["_id"].AsInt64,
        Ticks.ToInstant(document["t"].AsInt64),
        TimeSpan.FromTicks(document["i"].AsInt64),
        document["s"].AsString,
        document["d"].AsString,
        document["e"].AsDouble,
        (ReadingProvenance)document["p"].AsInt32);

    private static BsonDocument ToDocument(TelemetrySummary summary)
    {
        var power = new BsonDocument();
        foreach (var (domain, watts) in summary.LatestPowerWattsByDomain)
        {
            power[domain] = watts;
        }

        return new BsonDocument
        {
            ["_id"] = summary.AgentId,
            ["durableSequence"] = summary.DurableSequence,
            ["readingCount"] = summary.ReadingCount,
            ["energyJoules"] = summary.EnergyJoules,
            ["lastReadingAt"] = summary.LastReadingAt is { } last ? last.UtcTicks : BsonValue.Null,
            ["latestPowerWatts"] = power,
            ["lastReceivedAt"] = summary.LastReceivedAt is { } received ? received.UtcTicks : BsonValue.Null,
        };
    }

    private static TelemetrySummary FromDocument(BsonDocument document) => new(
        document["_id"].AsString,
        document["durableSequence"].AsInt64,
        document["readingCount"].AsInt64,
        document["energyJoules"].AsDouble,
        document["lastReadingAt"].IsNull ? null : Ticks.ToInstant(document["lastReadingAt"].AsInt64),
        document["latestPowerWatts"].AsDocument.ToDictionary(p => p.Key, p => p.Value.AsDouble),
        document["lastReceivedAt"].IsNull ? null : Ticks.ToInstant(document["lastReceivedAt"].AsInt64));
}
