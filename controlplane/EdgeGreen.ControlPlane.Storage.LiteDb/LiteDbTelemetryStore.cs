using System.Globalization;
using System.Runtime.CompilerServices;
using EdgeGreen.ControlPlane.Core.Telemetry;
using LiteDB;

namespace EdgeGreen.ControlPlane.Storage.LiteDb;

/// <summary>
/// Telemetry in a fixed set of collections, whatever the number of agents:
/// <list type="bullet">
/// <item><c>telemetry_summaries</c>: one document per agent (durable sequence, totals, latest
/// power) and the agent's small numeric key;</item>
/// <item><c>readings</c>: raw readings packed in chunks, one per agent, batch and clock hour,
/// indexed on <c>k</c> = key × 2³² + hour (see <see cref="ReadingChunk"/>);</item>
/// <item><c>rollup_minute</c>, <c>rollup_hour</c>: per agent × domain × bucket, with an <c>_id</c>
/// that sorts by agent, then time, then domain, so one agent's range is one index scan;</item>
/// <item><c>zone_minute</c>, <c>zone_hour</c>: per zone × bucket, <c>_id</c> sorted by time.</item>
/// </list>
/// A group commit writes all of them in one transaction, so the rollups always count exactly
/// the stored readings.
/// </summary>
public sealed class LiteDbTelemetryStore : ITelemetryStore
{
    private const int PageSize = 2_000;
    private readonly LiteDbDatabase _database;

    private ILiteCollection<BsonDocument> Summaries => _database.Database.GetCollection("telemetry_summaries");

    private ILiteCollection<BsonDocument> Meta => _database.Database.GetCollection("telemetry_meta");

    private ILiteCollection<BsonDocument> Readings => _database.Database.GetCollection("readings");

    public LiteDbTelemetryStore(LiteDbDatabase database)
    {
        _database = database;
        database.Write(_ => Readings.EnsureIndex("k"));
    }

    /// <summary>
    /// LiteDB's page cache grows a segment of 1,000 pages (8 MB) at a time, and never back, when it
    /// needs a page and fewer than a segment's worth are unused; what a telemetry commit holds is
    /// mostly the pages it wrote, about one of the readings index per agent (each agent's chunks
    /// sit in their own place in it), more at a minute's start (new minute rollups). A cap bounds
    /// the cache by the cap: a commit of a backlog of thousands of agents would grow it for good.
    /// </summary>
    public int MaxBatchesPerCommit => 256;

    public Task<IReadOnlyList<AppendResult>> AppendAsync(IReadOnlyList<TelemetryBatch> batches, CancellationToken cancellationToken)
    {
        var results = _database.Write(_ =>
        {
            var documents = new Dictionary<string, BsonDocument>(StringComparer.Ordinal);
            var plan = TelemetryAppends.Plan(batches, agentId =>
            {
                var document = Summaries.FindById(agentId);
                if (document is not null)
                {
                    documents[agentId] = document;
                }

                return document is null ? null : FromDocument(document);
            });

            var keys = new Dictionary<string, long>(StringComparer.Ordinal);
            foreach (var summary in plan.ChangedSummaries)
            {
                var key = documents.TryGetValue(summary.AgentId, out var existing) ? existing["key"].AsInt64 : NextAgentKey();
                keys[summary.AgentId] = key;
                Summaries.Upsert(ToDocument(summary, key));
            }

            var chunks = plan.Fresh.SelectMany(f => ReadingChunk.Split(keys[f.Batch.AgentId], f.Fresh)).ToList();
            if (chunks.Count > 0)
            {
                Readings.InsertBulk(chunks, batchSize: 10_000);
            }

            foreach (var delta in plan.Rollups.AgentDeltas)
            {
                AddTo(AgentRollups(delta.Tier), AgentRollupId(keys[delta.AgentId], delta.Bucket, delta.Domain), delta.EnergyJoules, delta.CoveredSeconds, delta.Readings);
            }

            foreach (var delta in plan.Rollups.ZoneDeltas)
            {
                AddTo(ZoneRollups(delta.Tier), ZoneRollupId(delta.Bucket, delta.Zone), delta.EnergyJoules, 0, delta.Readings);
            }

            return plan.Results;
        });
        return Task.FromResult(results);
    }

    public Task<long> GetDurableSequenceAsync(string agentId, CancellationToken cancellationToken) =>
        Task.FromResult(_database.Read(() => Summaries.FindById(agentId) is { } summary ? summary["durableSequence"].AsInt64 : 0));

    public Task<TelemetrySummary?> GetSummaryAsync(string agentId, CancellationToken cancellationToken) =>
        Task.FromResult(_database.Read(() => Summaries.FindById(agentId) is { } summary ? FromDocument(summary) : null));

    public Task<IReadOnlyList<TelemetrySummary>> ListSummariesAsync(CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<TelemetrySummary>>(_database.Read(() => Summaries.FindAll().Select(FromDocument).ToList()));

    public async IAsyncEnumerable<EnergyBucket> ReadAgentAsync(string agentId, string? domain, TelemetryTier tier, DateTimeOffset from, DateTimeOffset to,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        if (AgentKey(agentId) is not { } key)
        {
            yield break;
        }

        var source = tier == TelemetryTier.Raw
            ? ReadRaw(key, domain, from, to, cancellationToken).Select(r => new EnergyBucket(r.Time, r.Domain, r.EnergyJoules, r.Interval.TotalSeconds, 1))
            : ReadRollups(key, domain, tier, from, to, cancellationToken);
        foreach (var bucket in source)
        {
            yield return bucket;
        }

        await Task.CompletedTask;
    }

    public async IAsyncEnumerable<ZoneBucket> ReadZonesAsync(TelemetryTier tier, DateTimeOffset from, DateTimeOffset to, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var size = tier.BucketSize();
        var collection = ZoneRollups(tier);
        var after = ZoneRollupId(Bucket(from, size), "");
        var end = ZoneRollupId(Bucket(to, size), "");
        var first = true;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var lower = after;
            var inclusive = first;
            var page = _database.Read(() => PageOf(collection, lower, inclusive, end));
            foreach (var document in page)
            {
                var id = document["_id"].AsString;
                yield return new ZoneBucket(TelemetryTiers.BucketStart(long.Parse(id.AsSpan(0, 10), NumberStyles.HexNumber, CultureInfo.InvariantCulture), size),
                    id[11..], document["e"].AsDouble, document["n"].AsInt64);
            }

            if (page.Count < PageSize)
            {
                break;
            }

            (after, first) = (page[^1]["_id"].AsString, false);
        }

        await Task.CompletedTask;
    }

    public Task<RetentionResult> DeleteBeforeAsync(RetentionCutoffs cutoffs, CancellationToken cancellationToken)
    {
        long raw = 0, minute = 0, hour = 0;
        var keys = _database.Read(() => Summaries.FindAll().Select(d => d["key"].AsInt64).ToList());
        foreach (var key in keys)
        {
            cancellationToken.ThrowIfCancellationRequested();
            // One transaction per agent and tier, so ingest waits for the write gate briefly, never for the whole sweep.
            if (cutoffs.Raw is { } rawCutoff)
            {
                var hourIndex = Bucket(rawCutoff, TelemetryTiers.Hour);
                raw += _database.Write(_ =>
                {
                    var expired = Readings.Find(Query.Between("k", ReadingChunk.Key(key, 0), ReadingChunk.Key(key, hourIndex) - 1))
                        .Select(c => (Id: c["_id"], Readings: (long)c["n"].AsInt32)).ToList();
                    foreach (var (id, _) in expired)
                    {
                        Readings.Delete(id);
                    }

                    return expired.Sum(c => c.Readings);
                });
            }

            minute += DeleteRollups(TelemetryTier.Minute, key, cutoffs.Minute);
            hour += DeleteRollups(TelemetryTier.Hour, key, cutoffs.Hour);
        }

        foreach (var (tier, cutoff) in new[] { (TelemetryTier.Minute, cutoffs.Minute), (TelemetryTier.Hour, cutoffs.Hour) })
        {
            if (cutoff is { } before)
            {
                var end = ZoneRollupId(Bucket(before, tier.BucketSize()), "");
                _database.Write(_ => ZoneRollups(tier).DeleteMany(Query.LT("_id", end)));
            }
        }

        return Task.FromResult(new RetentionResult(raw, minute, hour));
    }

    private int DeleteRollups(TelemetryTier tier, long key, DateTimeOffset? cutoff) => cutoff is { } before
        ? _database.Write(_ => AgentRollups(tier).DeleteMany(
            Query.Between("_id", AgentRollupId(key, 0, ""), AgentRollupId(key, Bucket(before, tier.BucketSize()), ""))))
        : 0;

    public async IAsyncEnumerable<ReadingRecord> ReadReadingsAsync(string agentId, string? domain, DateTimeOffset from, DateTimeOffset to,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        if (AgentKey(agentId) is not { } key)
        {
            yield break;
        }

        foreach (var reading in ReadRaw(key, domain, from, to, cancellationToken))
        {
            yield return reading;
        }

        await Task.CompletedTask;
    }

    /// <summary>
    /// Chunks are filed by the hour their readings end in. Pages of chunks are read in key order and
    /// yielded an hour at a time, sorted, so memory holds about a page, whatever the range.
    /// </summary>
    private IEnumerable<ReadingRecord> ReadRaw(long key, string? domain, DateTimeOffset from, DateTimeOffset to, CancellationToken cancellationToken)
    {
        var next = ReadingChunk.Key(key, Bucket(from, TelemetryTiers.Hour));
        var last = ReadingChunk.Key(key, Bucket(to - TimeSpan.FromTicks(1), TelemetryTiers.Hour));
        while (next <= last)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var lower = next;
            var page = _database.Read(() => Readings.Find(Query.Between("k", lower, last), limit: PageSize).ToList());
            if (page.Count == 0)
            {
                yield break;
            }

            var pageEnd = page.Max(c => c["k"].AsInt64);
            if (page.Count == PageSize && page.Any(c => c["k"].AsInt64 != pageEnd))
            {
                // The last hour of a full page may continue in the next page: read it next time.
                page.RemoveAll(c => c["k"].AsInt64 == pageEnd);
                next = pageEnd;
            }
            else if (page.Count == PageSize)
            {
                // One hour fills the page (a very long backlog): read that hour whole.
                page = _database.Read(() => Readings.Find(Query.EQ("k", pageEnd)).ToList());
                next = pageEnd + 1;
            }
            else
            {
                next = last + 1;
            }

            foreach (var hour in page.GroupBy(c => c["k"].AsInt64).OrderBy(g => g.Key))
            {
                foreach (var reading in hour.SelectMany(ReadingChunk.Read)
                    .Where(r => r.Time >= from && r.Time < to && (domain is null || r.Domain == domain)).OrderBy(r => r.Time).ThenBy(r => r.Sequence))
                {
                    yield return reading;
                }
            }
        }
    }

    private IEnumerable<EnergyBucket> ReadRollups(long key, string? domain, TelemetryTier tier, DateTimeOffset from, DateTimeOffset to, CancellationToken cancellationToken)
    {
        var size = tier.BucketSize();
        var collection = AgentRollups(tier);
        var lower = AgentRollupId(key, Bucket(from, size), "");
        var end = AgentRollupId(key, Bucket(to, size), "");
        var inclusive = true;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var (after, first) = (lower, inclusive);
            var page = _database.Read(() => PageOf(collection, after, first, end));
            foreach (var document in page)
            {
                var id = document["_id"].AsString;
                var bucketDomain = id[18..];
                if (domain is null || bucketDomain == domain)
                {
                    yield return new EnergyBucket(TelemetryTiers.BucketStart(long.Parse(id.AsSpan(8, 10), NumberStyles.HexNumber, CultureInfo.InvariantCulture), size),
                        bucketDomain, document["e"].AsDouble, document["c"].AsDouble, document["n"].AsInt64);
                }
            }

            if (page.Count < PageSize)
            {
                yield break;
            }

            (lower, inclusive) = (page[^1]["_id"].AsString, false);
        }
    }

    private ILiteCollection<BsonDocument> AgentRollups(TelemetryTier tier) => _database.Database.GetCollection(tier == TelemetryTier.Hour ? "rollup_hour" : "rollup_minute");

    private ILiteCollection<BsonDocument> ZoneRollups(TelemetryTier tier) => _database.Database.GetCollection(tier == TelemetryTier.Hour ? "zone_hour" : "zone_minute");

    /// <summary>
    /// Up to a page of documents with ids from <paramref name="lower"/> (itself only when
    /// <paramref name="inclusive"/>) to before <paramref name="end"/>, in id order. One index range
    /// (<c>Between</c>): LiteDB answers an <c>And</c> of two bounds by scanning from one of them.
    /// Ids here never equal a bound that ends a range (bounds are a key's prefix).
    /// </summary>
    private static List<BsonDocument> PageOf(ILiteCollection<BsonDocument> collection, string lower, bool inclusive, string end)
    {
        var page = collection.Find(Query.Between("_id", lower, end), limit: PageSize + 1).ToList();
        if (!inclusive && page.Count > 0 && page[0]["_id"].AsString == lower)
        {
            page.RemoveAt(0);
        }

        return page.Count > PageSize ? page[..PageSize] : page;
    }

    private static void AddTo(ILiteCollection<BsonDocument> collection, string id, double energyJoules, double coveredSeconds, long readings)
    {
        if (collection.FindById(id) is { } existing)
        {
            existing["e"] = existing["e"].AsDouble + energyJoules;
            existing["c"] = existing["c"].AsDouble + coveredSeconds;
            existing["n"] = existing["n"].AsInt64 + readings;
            collection.Update(existing);
        }
        else
        {
            collection.Insert(new BsonDocument { ["_id"] = id, ["e"] = energyJoules, ["c"] = coveredSeconds, ["n"] = readings });
        }
    }

    /// <summary>The agent's numeric key in the telemetry collections; null before its first reading.</summary>
    private long? AgentKey(string agentId) => _database.Read(() => Summaries.FindById(agentId)) is { } summary ? summary["key"].AsInt64 : null;

    private long NextAgentKey()
    {
        var counter = Meta.FindById("nextAgentKey");
        var next = counter is null ? 1 : counter["v"].AsInt64;
        Meta.Upsert(new BsonDocument { ["_id"] = "nextAgentKey", ["v"] = next + 1 });
        return next;
    }

    /// <summary>Buckets before the epoch hold nothing (readings are validated to be recent): ranges start at 0.</summary>
    private static long Bucket(DateTimeOffset time, TimeSpan size) => Math.Max(0, TelemetryTiers.BucketIndex(time, size));

    private static string AgentRollupId(long key, long bucket, string domain) =>
        string.Create(CultureInfo.InvariantCulture, $"{key:x8}{bucket:x10}{domain}");

    private static string ZoneRollupId(long bucket, string zone) =>
        string.Create(CultureInfo.InvariantCulture, $"{bucket:x10}|{zone}");

    private static BsonDocument ToDocument(TelemetrySummary summary, long key)
    {
        var power = new BsonDocument();
        foreach (var (domain, watts) in summary.LatestPowerWattsByDomain)
        {
            power[domain] = watts;
        }

        return new BsonDocument
        {
            ["_id"] = summary.AgentId,
            ["key"] = key,
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
