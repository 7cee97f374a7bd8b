using System.Globalization;
using System.Runtime.CompilerServices;
using EdgeGreen.ControlPlane.Core.Telemetry;
using LiteDB;

namespace EdgeGreen.ControlPlane.Storage.LiteDb;

/// <summary>
/// Telemetry in a fixed set of collections, whatever the number of agents:
/// <list type="bullet">
/// <item><c>telemetry_summaries</c>: one document per agent (durable sequence, totals, latest
/// power), the agent's small numeric key and <c>hc</c>, the hour its hours are closed until (see
/// <see cref="CloseHoursAsync"/>);</item>
/// <item><c>raw_chunks</c>: raw readings packed in chunks, one per agent, batch and ten-second
/// window, with an <c>_id</c> that sorts by window, then agent (see <see cref="ReadingChunk"/>);
/// each agent's summary keeps <c>fw</c>, the window of its oldest reading (0 when unknown), so a
/// read seeks no window before it;
/// files from before windows keep their older chunks in <c>readings</c>, indexed by agent and
/// hour, read beside them until retention has emptied it;</item>
/// <item><c>rollup_minute</c>, <c>rollup_hour</c>: per agent × domain × bucket, with an <c>_id</c>
/// that sorts by agent, then time, then domain, so one agent's range is one index scan; the hour
/// tier for the hours before the agent's <c>hc</c> only;</item>
/// <item><c>zone_minute</c>, <c>zone_hour</c>: per zone × bucket, <c>_id</c> sorted by time.</item>
/// </list>
/// A group commit writes all of them in one transaction, so the rollups always count exactly
/// the stored readings.
/// <para>
/// An agent's open hours are kept in its minute rollups alone, as the PostgreSQL provider keeps
/// them: an hour query sums the minutes from the agent's <c>hc</c> on, and the leader folds ended
/// hours into the hour tier before each retention pass. Each agent × domain's hour document
/// looked up and rewritten at every commit was as many pages held by the commit as its minute
/// documents, and LiteDB's page cache grows to what its largest transaction holds.
/// </para>
/// </summary>
public sealed class LiteDbTelemetryStore : ITelemetryStore
{
    private const int PageSize = 2_000;

    /// <summary>One of <see cref="LiteDbDatabase.RetiredCollections"/>.</summary>
    private const string LegacyReadingsName = "readings";

    private readonly LiteDbDatabase _database;

    /// <summary>Whether the file still has chunks in the layout before windows; cleared when retention empties it.</summary>
    private volatile bool _legacy;

    private ILiteCollection<BsonDocument> Summaries => _database.Database.GetCollection("telemetry_summaries");

    private ILiteCollection<BsonDocument> Meta => _database.Database.GetCollection("telemetry_meta");

    private ILiteCollection<BsonDocument> Chunks => _database.Database.GetCollection("raw_chunks");

    private ILiteCollection<BsonDocument> LegacyReadings => _database.Database.GetCollection(LegacyReadingsName);

    public LiteDbTelemetryStore(LiteDbDatabase database, TimeProvider? clock = null)
    {
        _database = database;
        _legacy = database.Read(() => database.Database.CollectionExists(LegacyReadingsName) && LegacyReadings.FindOne(Query.All()) is not null);
        var present = Bucket((clock ?? TimeProvider.System).GetUtcNow(), TelemetryTiers.Hour);
        database.Write(_ => MarkHoursClosed(present));
    }

    /// <summary>
    /// Files written before open hours were kept apart have an hour document for every hour that
    /// has readings: each agent's hours are closed, once, up to the hour after its newest one or
    /// after the present's, whichever is later (as PostgreSQL's schema version 8 does).
    /// </summary>
    private int MarkHoursClosed(long presentHour)
    {
        var hours = AgentRollups(TelemetryTier.Hour);
        var unmarked = Summaries.Find(LiteQueries.EQ("hc", BsonValue.Null)).ToList();
        foreach (var summary in unmarked)
        {
            var key = summary["key"].AsInt64;
            var newest = hours.Query().Where(LiteQueries.Between("_id", AgentRollupId(key, 0, ""), AgentRollupId(key + 1, 0, ""))).OrderByDescending("_id").Limit(1).FirstOrDefault();
            summary["hc"] = Math.Max(presentHour, newest is null ? 0 : BucketOf(newest["_id"].AsString)) + 1;
            Summaries.Update(summary);
        }

        return unmarked.Count;
    }

    /// <summary>
    /// LiteDB's page cache grows a segment of 1,000 pages (8 MB) at a time, and never back, when it
    /// needs a page and fewer than a segment's worth are unused; what a telemetry commit holds is
    /// every page it visits: the newest window's chunk pages, and per agent its summary and minute
    /// rollups, more at a minute's start (new minute rollups). A cap bounds the cache by the cap: a
    /// commit of a backlog of thousands of agents would grow it for good.
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
            var closedUntil = new Dictionary<string, long>(StringComparer.Ordinal);
            var oldest = plan.Fresh.GroupBy(f => f.Batch.AgentId, StringComparer.Ordinal)
                .ToDictionary(g => g.Key, g => g.SelectMany(f => f.Fresh).Min(r => ReadingChunk.WindowOf(r.Time)), StringComparer.Ordinal);
            foreach (var summary in plan.ChangedSummaries)
            {
                var (key, closed, firstWindow) = documents.TryGetValue(summary.AgentId, out var existing)
                    ? (existing["key"].AsInt64, existing["hc"].AsInt64, FirstWindow(existing))
                    : (NextAgentKey(), 0L, long.MaxValue);
                if (oldest.TryGetValue(summary.AgentId, out var window))
                {
                    firstWindow = Math.Min(firstWindow, window);
                }

                keys[summary.AgentId] = key;
                closedUntil[summary.AgentId] = closed;
                Summaries.Upsert(ToDocument(summary, key, closed, firstWindow == long.MaxValue ? 0 : firstWindow));
            }

            var chunks = plan.Fresh.SelectMany(f => ReadingChunk.Split(keys[f.Batch.AgentId], f.Fresh)).ToList();
            if (chunks.Count > 0)
            {
                Chunks.InsertBulk(chunks, batchSize: 10_000);
            }

            // An hour not yet closed is counted by its minutes alone.
            foreach (var delta in plan.Rollups.AgentDeltas.Where(d => d.Tier == TelemetryTier.Minute || d.Bucket < closedUntil[d.AgentId]))
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
        if (_database.Read(() => Summaries.FindById(agentId)) is not { } summary)
        {
            yield break;
        }

        var key = summary["key"].AsInt64;
        var source = tier switch
        {
            TelemetryTier.Raw => ReadRaw(summary, domain, from, to, cancellationToken).Select(r => new EnergyBucket(r.Time, r.Domain, r.EnergyJoules, r.Interval.TotalSeconds, 1)),
            TelemetryTier.Hour => ReadHours(agentId, key, domain, Bucket(from, TelemetryTiers.Hour), Bucket(to, TelemetryTiers.Hour), cancellationToken),
            _ => ReadRollups(key, domain, tier, Bucket(from, tier.BucketSize()), Bucket(to, tier.BucketSize()), cancellationToken),
        };
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

    /// <summary>
    /// Folds the minute rollups of each agent's hours that ended before <paramref name="now"/>'s
    /// clock hour into its hour documents and moves its <c>hc</c> past them, an agent per
    /// transaction: ingest waits for the write gate briefly, and a transaction holds few pages.
    /// </summary>
    public Task<long> CloseHoursAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        var until = Bucket(now, TelemetryTiers.Hour);
        var open = _database.Read(() => Summaries.Find(LiteQueries.LT("hc", until)).Select(d => d["_id"].AsString).ToList());
        long closed = 0;
        foreach (var agentId in open)
        {
            cancellationToken.ThrowIfCancellationRequested();
            closed += _database.Write(_ =>
            {
                if (Summaries.FindById(agentId) is not { } summary || summary["hc"].AsInt64 >= until)
                {
                    return 0;
                }

                var key = summary["key"].AsInt64;
                var hours = new Dictionary<(long Hour, string Domain), (double EnergyJoules, double CoveredSeconds, long Readings)>();
                var minutes = AgentRollups(TelemetryTier.Minute).Find(LiteQueries.Between("_id",
                    AgentRollupId(key, summary["hc"].AsInt64 * MinutesPerHour, ""), AgentRollupId(key, until * MinutesPerHour, "")));
                foreach (var minute in minutes)
                {
                    var id = minute["_id"].AsString;
                    var hourKey = (BucketOf(id) / MinutesPerHour, id[18..]);
                    var sum = hours.GetValueOrDefault(hourKey);
                    hours[hourKey] = (sum.EnergyJoules + minute["e"].AsDouble, sum.CoveredSeconds + minute["c"].AsDouble, sum.Readings + minute["n"].AsInt64);
                }

                foreach (var ((hour, domain), sum) in hours)
                {
                    AddTo(AgentRollups(TelemetryTier.Hour), AgentRollupId(key, hour, domain), sum.EnergyJoules, sum.CoveredSeconds, sum.Readings);
                }

                summary["hc"] = until;
                Summaries.Update(summary);
                return 1;
            });
        }

        return Task.FromResult(closed);
    }

    public async Task<RetentionResult> DeleteBeforeAsync(RetentionCutoffs cutoffs, CancellationToken cancellationToken)
    {
        // Minutes go only once their hour is folded (the delete checks the mark too), and an hour the
        // hour tier drops must be folded first: closing an hour early is correct, the commits after it
        // add to the hour document.
        if (new[] { cutoffs.Minute + TelemetryTiers.Hour, cutoffs.Hour }.Max() is { } foldBefore)
        {
            await CloseHoursAsync(foldBefore, cancellationToken);
        }

        // Raw readings go by whole hours, as in the PostgreSQL provider (and files from before windows).
        long raw = cutoffs.Raw is { } rawBefore ? DeleteChunksBefore(Bucket(rawBefore, TelemetryTiers.Hour) * ReadingChunk.WindowsPerHour, cancellationToken) : 0, minute = 0, hour = 0;
        var legacy = _legacy;
        var agents = _database.Read(() => Summaries.FindAll().Select(d => (Key: d["key"].AsInt64, ClosedUntil: d["hc"].AsInt64)).ToList());
        foreach (var (key, closedUntil) in agents)
        {
            cancellationToken.ThrowIfCancellationRequested();
            // One transaction per agent and tier, so ingest waits for the write gate briefly, never for the whole sweep.
            if (legacy && cutoffs.Raw is { } rawCutoff)
            {
                var hourIndex = Bucket(rawCutoff, TelemetryTiers.Hour);
                raw += _database.Write(_ =>
                {
                    var expired = LegacyReadings.Find(LiteQueries.Between("k", ReadingChunk.LegacyKey(key, 0), ReadingChunk.LegacyKey(key, hourIndex) - 1))
                        .Select(c => (Id: c["_id"], Readings: (long)c["n"].AsInt32)).ToList();
                    foreach (var (id, _) in expired)
                    {
                        LegacyReadings.Delete(id);
                    }

                    return expired.Sum(c => c.Readings);
                });
            }

            minute += DeleteRollups(TelemetryTier.Minute, key, cutoffs.Minute, closedUntil * MinutesPerHour);
            hour += DeleteRollups(TelemetryTier.Hour, key, cutoffs.Hour, long.MaxValue);
        }

        foreach (var (tier, cutoff) in new[] { (TelemetryTier.Minute, cutoffs.Minute), (TelemetryTier.Hour, cutoffs.Hour) })
        {
            if (cutoff is { } before)
            {
                var end = ZoneRollupId(Bucket(before, tier.BucketSize()), "");
                _database.Write(_ => ZoneRollups(tier).DeleteMany(LiteQueries.LT("_id", end)));
            }
        }

        // Read no longer; the file drops the emptied collection when it is next opened.
        if (legacy && cutoffs.Raw is not null && _database.Read(() => LegacyReadings.FindOne(Query.All())) is null)
        {
            _legacy = false;
        }

        return new RetentionResult(raw, minute, hour);
    }

    /// <summary>
    /// Deletes the chunks of the windows before <paramref name="window"/>, a page per transaction:
    /// they are the lowest ids, so each transaction visits the start of the index alone.
    /// </summary>
    private long DeleteChunksBefore(long window, CancellationToken cancellationToken)
    {
        var end = ReadingChunk.Id(window, 0, 0);
        long readings = 0;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var (chunks, deleted) = _database.Write(_ =>
            {
                var expired = Chunks.Find(LiteQueries.LT("_id", end), limit: PageSize).Select(c => (Id: c["_id"], Readings: (long)c["n"].AsInt32)).ToList();
                foreach (var (id, _) in expired)
                {
                    Chunks.Delete(id);
                }

                return (expired.Count, expired.Sum(c => c.Readings));
            });
            readings += deleted;
            if (chunks < PageSize)
            {
                return readings;
            }
        }
    }

    /// <summary>Deletes the agent's buckets of the tier before the cutoff and before <paramref name="keptFrom"/>.</summary>
    private int DeleteRollups(TelemetryTier tier, long key, DateTimeOffset? cutoff, long keptFrom) => cutoff is { } before
        ? _database.Write(_ => AgentRollups(tier).DeleteMany(
            LiteQueries.Between("_id", AgentRollupId(key, 0, ""), AgentRollupId(key, Math.Min(Bucket(before, tier.BucketSize()), keptFrom), ""))))
        : 0;

    public async IAsyncEnumerable<ReadingRecord> ReadReadingsAsync(string agentId, string? domain, DateTimeOffset from, DateTimeOffset to,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        if (_database.Read(() => Summaries.FindById(agentId)) is not { } summary)
        {
            yield break;
        }

        foreach (var reading in ReadRaw(summary, domain, from, to, cancellationToken))
        {
            yield return reading;
        }

        await Task.CompletedTask;
    }

    /// <summary>
    /// An hour at a time, in one read each: the agent's chunks in each window of the hour (an index
    /// seek per window) and, in a file from before windows, its chunks of that hour on the old
    /// index; sorted by time, so memory holds an hour of one agent's readings whatever the range.
    /// Windows before the oldest chunk kept or after the agent's newest reading are not sought.
    /// </summary>
    private IEnumerable<ReadingRecord> ReadRaw(BsonDocument summary, string? domain, DateTimeOffset from, DateTimeOffset to, CancellationToken cancellationToken)
    {
        if (summary["lastReadingAt"].IsNull)
        {
            yield break;
        }

        var key = summary["key"].AsInt64;
        var legacy = _legacy;
        var (oldest, legacyOldestHour) = _database.Read(() => (OldestWindow(), legacy ? LegacyOldestHour(key) : null));
        var kept = new[] { oldest, legacyOldestHour * ReadingChunk.WindowsPerHour }.Min();
        if (kept is not { } start)
        {
            yield break;
        }

        var first = Math.Max(ReadingChunk.WindowOf(from), Math.Max(start, FirstWindow(summary)));
        var last = Math.Min(ReadingChunk.WindowOf(to - TimeSpan.FromTicks(1)), ReadingChunk.WindowOf(Ticks.ToInstant(summary["lastReadingAt"].AsInt64)));
        for (var hour = first / ReadingChunk.WindowsPerHour; hour <= last / ReadingChunk.WindowsPerHour; hour++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var (lower, upper, legacyHour) = (Math.Max(first, hour * ReadingChunk.WindowsPerHour), Math.Min(last, ((hour + 1) * ReadingChunk.WindowsPerHour) - 1), hour);
            var chunks = _database.Read(() =>
            {
                var found = legacy ? LegacyReadings.Find(LiteQueries.EQ("k", ReadingChunk.LegacyKey(key, legacyHour))).ToList() : [];
                for (var window = lower; window <= upper; window++)
                {
                    found.AddRange(Chunks.Find(LiteQueries.Between("_id", ReadingChunk.Id(window, key, 0), ReadingChunk.Id(window, key, long.MaxValue))));
                }

                return found;
            });
            foreach (var reading in chunks.SelectMany(ReadingChunk.Read)
                .Where(r => r.Time >= from && r.Time < to && (domain is null || r.Domain == domain)).OrderBy(r => r.Time).ThenBy(r => r.Sequence))
            {
                yield return reading;
            }
        }
    }

    /// <summary>The window of the agent's oldest reading; 0 (unknown) for a summary from before windows, whose reads start at the oldest chunk kept.</summary>
    private static long FirstWindow(BsonDocument summary) => summary["fw"].IsNull ? 0 : summary["fw"].AsInt64;

    /// <summary>The window of the oldest chunk kept, of any agent; null when there is none.</summary>
    private long? OldestWindow() =>
        Chunks.Find(Query.All(Query.Ascending), limit: 1).FirstOrDefault() is { } oldest ? ReadingChunk.WindowOfId(oldest["_id"]) : null;

    /// <summary>The hour of the agent's oldest chunk in the layout before windows; null when it has none.</summary>
    private long? LegacyOldestHour(long key) =>
        LegacyReadings.Find(LiteQueries.Between("k", ReadingChunk.LegacyKey(key, 0), ReadingChunk.LegacyKey(key + 1, 0) - 1), limit: 1).FirstOrDefault() is { } oldest
            ? oldest["k"].AsInt64 & uint.MaxValue
            : null;

    /// <summary>
    /// The hour documents of the closed hours, then the open hours summed from their minutes, an
    /// hour at a time. Read in several transactions, and still exact: each page of minutes counts
    /// only if the agent's mark has not moved by the time the page has been read (a close commits
    /// before retention deletes a minute it folded, so an unmoved mark means the page was whole);
    /// when it has moved, the hour being summed and those after it are read again, from the hour
    /// documents up to the new mark.
    /// </summary>
    private IEnumerable<EnergyBucket> ReadHours(string agentId, long key, string? domain, long first, long end, CancellationToken cancellationToken)
    {
        var minutes = AgentRollups(TelemetryTier.Minute);
        var next = first;
        while (next < end)
        {
            var closed = _database.Read(() => ClosedUntil(agentId));
            if (next < closed)
            {
                var upTo = Math.Min(end, closed);
                foreach (var bucket in ReadRollups(key, domain, TelemetryTier.Hour, next, upTo, cancellationToken))
                {
                    yield return bucket;
                }

                next = upTo;
                continue;
            }

            var hour = -1L;
            var sums = new SortedDictionary<string, EnergyBucket>(StringComparer.Ordinal);
            var (lower, inclusive, upper) = (AgentRollupId(key, next * MinutesPerHour, ""), true, AgentRollupId(key, end * MinutesPerHour, ""));
            var moved = false;
            while (true)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var (after, from) = (lower, inclusive);
                var (page, mark) = _database.Read(() => (PageOf(minutes, after, from, upper), ClosedUntil(agentId)));
                if (mark != closed)
                {
                    moved = true;
                    break;
                }

                foreach (var document in page)
                {
                    var id = document["_id"].AsString;
                    var minuteDomain = id[18..];
                    if (domain is not null && minuteDomain != domain)
                    {
                        continue;
                    }

                    var minuteHour = BucketOf(id) / MinutesPerHour;
                    if (minuteHour != hour)
                    {
                        foreach (var ended in sums.Values)
                        {
                            yield return ended;
                        }

                        (hour, next, sums) = (minuteHour, minuteHour, new SortedDictionary<string, EnergyBucket>(StringComparer.Ordinal));
                    }

                    var (energyJoules, coveredSeconds, readings) = (document["e"].AsDouble, document["c"].AsDouble, document["n"].AsInt64);
                    sums[minuteDomain] = sums.TryGetValue(minuteDomain, out var sum)
                        ? sum with { EnergyJoules = sum.EnergyJoules + energyJoules, CoveredSeconds = sum.CoveredSeconds + coveredSeconds, Readings = sum.Readings + readings }
                        : new EnergyBucket(TelemetryTiers.BucketStart(minuteHour, TelemetryTiers.Hour), minuteDomain, energyJoules, coveredSeconds, readings);
                }

                if (page.Count < PageSize)
                {
                    break;
                }

                (lower, inclusive) = (page[^1]["_id"].AsString, false);
            }

            if (moved)
            {
                // From the hour being summed (its sums are dropped) or from where this pass began.
                continue;
            }

            foreach (var ended in sums.Values)
            {
                yield return ended;
            }

            next = end;
        }
    }

    private long ClosedUntil(string agentId) => Summaries.FindById(agentId) is { } summary ? summary["hc"].AsInt64 : 0;

    private IEnumerable<EnergyBucket> ReadRollups(long key, string? domain, TelemetryTier tier, long firstBucket, long endBucket, CancellationToken cancellationToken)
    {
        if (endBucket <= firstBucket)
        {
            yield break;
        }

        var size = tier.BucketSize();
        var collection = AgentRollups(tier);
        var lower = AgentRollupId(key, firstBucket, "");
        var end = AgentRollupId(key, endBucket, "");
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
                    yield return new EnergyBucket(TelemetryTiers.BucketStart(BucketOf(id), size),
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
        var page = collection.Find(LiteQueries.Between("_id", lower, end), limit: PageSize + 1).ToList();
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

    private const int MinutesPerHour = 60;

    private static long BucketOf(string agentRollupId) => long.Parse(agentRollupId.AsSpan(8, 10), NumberStyles.HexNumber, CultureInfo.InvariantCulture);

    private static string ZoneRollupId(long bucket, string zone) =>
        string.Create(CultureInfo.InvariantCulture, $"{bucket:x10}|{zone}");

    private static BsonDocument ToDocument(TelemetrySummary summary, long key, long hoursClosedUntil, long firstWindow)
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
            ["hc"] = hoursClosedUntil,
            ["fw"] = firstWindow,
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
