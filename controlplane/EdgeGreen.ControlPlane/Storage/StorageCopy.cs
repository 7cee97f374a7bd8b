using static System.FormattableString;

namespace EdgeGreen.ControlPlane.Storage;

/// <summary>
/// Copies every record of one set of stores into another through the store interfaces, so that it
/// works between any two providers (<c>copy-to-postgres</c> uses it from LiteDB to PostgreSQL).
/// The source is only read. The copy is refused, and changes nothing, when the target already
/// holds agents, jobs, telemetry, datasets, models, webhooks, pipelines, deployments or alert rules: merging two control planes is not
/// supported. API keys and enrollment tokens may be there already (a control plane started once
/// on the target has minted its admin key); the source's are added beside them.
/// <para>
/// Records are added as they are. Telemetry is not copied table by table: each agent's raw
/// readings are appended again in sequence order, in batches, so the target builds its own
/// summaries and minute and hour rollups from them as it does at ingest. What the source's raw
/// tier no longer holds (retention deleted it) cannot be rebuilt that way, and the store
/// interfaces have no method to write a rollup bucket or a summary: so after the copy every
/// agent's rollups and every zone's are compared in both stores, and what the target lacks is
/// named in <see cref="StorageCopyResult.Warnings"/>.
/// </para>
/// <para>
/// Verification: every kind is counted in both stores, and each agent's durable sequence and
/// reading count in the target must equal those of the raw readings the source holds;
/// <see cref="StorageCopyResult.Mismatches"/> names any that do not.
/// </para>
/// </summary>
public sealed class StorageCopy(StoreSet source, StoreSet target, TextWriter progress)
{
    /// <summary>Readings per append into the target: one group commit each.</summary>
    public const int ReadingsPerBatch = 5_000;

    /// <summary>
    /// How many readings are held back to put one agent's readings, read in time order, into
    /// sequence order (the order a store takes them in): a reading whose clock ran this far behind
    /// its sequence cannot be appended and is reported.
    /// </summary>
    public const int ReorderWindow = 10_000;

    private const int ProgressEvery = 100_000;

    private static readonly TelemetryTier[] RollupTiers = [TelemetryTier.Minute, TelemetryTier.Hour];

    /// <summary>Sums of the same readings added in another order differ in the last bits only.</summary>
    private const double EnergyTolerance = 1e-9;

    public async Task<StorageCopyResult> RunAsync(CancellationToken cancellationToken)
    {
        if (await DescribeTargetAsync(cancellationToken) is { } held)
        {
            return StorageCopyResult.Refuse($"the target already holds {held}; copying into a database in use is not supported: copy into a new, empty database");
        }

        var findings = new Findings();
        await CopyAccessAsync(findings, cancellationToken);
        var agents = await CopyAgentsAsync(findings, cancellationToken);
        await CopyJobsAsync(findings, cancellationToken);
        await CopyDatasetsAsync(findings, cancellationToken);
        await CopyModelsAsync(findings, cancellationToken);
        await CopyWebhooksAsync(findings, cancellationToken);
        await CopyPipelinesAsync(findings, cancellationToken);
        await CopyDeploymentsAsync(findings, cancellationToken);
        await CopyAlertsAsync(findings, cancellationToken);
        await CopyTelemetryAsync(agents, findings, cancellationToken);
        return new StorageCopyResult(null, findings.Counts, findings.Mismatches, findings.Warnings);
    }

    /// <summary>What the target holds that a copy would mix with; null when it holds none of it.</summary>
    private async Task<string?> DescribeTargetAsync(CancellationToken cancellationToken)
    {
        var held = new List<string>();
        Describe(held, (await target.Agents.ListAsync(cancellationToken)).Count, "agent");
        if ((await target.Jobs.ListAsync(new JobQuery(Limit: 1), cancellationToken)).Count > 0)
        {
            held.Add("jobs");
        }

        Describe(held, (await target.Telemetry.ListSummariesAsync(cancellationToken)).Count, "agent's telemetry", "agents' telemetry");
        Describe(held, (await target.Datasets.ListLatestAsync(cancellationToken)).Count, "dataset");
        Describe(held, (await target.Models.ListModelsAsync(cancellationToken)).Count, "model");
        Describe(held, (await target.Webhooks.ListAsync(cancellationToken)).Count, "webhook");
        Describe(held, (await target.Pipelines.ListLatestAsync(cancellationToken)).Count, "pipeline");
        Describe(held, (await target.Deployments.ListAsync(cancellationToken)).Count, "deployment");
        Describe(held, (await target.Alerts.ListRulesAsync(cancellationToken)).Count, "alert rule");
        return held.Count == 0 ? null : string.Join(", ", held);

        static void Describe(List<string> held, int count, string one, string? many = null)
        {
            if (count > 0)
            {
                held.Add(Invariant($"{count:N0} {(count == 1 ? one : many ?? one + "s")}"));
            }
        }
    }

    private async Task CopyAccessAsync(Findings findings, CancellationToken cancellationToken)
    {
        var keys = await source.Access.ListApiKeysAsync(cancellationToken);
        var present = (await target.Access.ListApiKeysAsync(cancellationToken)).Select(k => k.Id).ToHashSet(StringComparer.Ordinal);
        foreach (var key in keys.Where(k => !present.Contains(k.Id)))
        {
            await target.Access.AddApiKeyAsync(key, cancellationToken);
        }

        present = (await target.Access.ListApiKeysAsync(cancellationToken)).Select(k => k.Id).ToHashSet(StringComparer.Ordinal);
        findings.Count("API keys", keys.Count, keys.Count(k => present.Contains(k.Id)));
        await ReportAsync(Invariant($"API keys: {keys.Count:N0} copied"));

        var tokens = await source.Access.ListEnrollmentTokensAsync(cancellationToken);
        var unused = (await target.Access.ListEnrollmentTokensAsync(cancellationToken)).Select(t => t.TokenHash).ToHashSet(StringComparer.Ordinal);
        foreach (var token in tokens.Where(t => !unused.Contains(t.TokenHash)))
        {
            await target.Access.AddEnrollmentTokenAsync(token, cancellationToken);
        }

        unused = (await target.Access.ListEnrollmentTokensAsync(cancellationToken)).Select(t => t.TokenHash).ToHashSet(StringComparer.Ordinal);
        findings.Count("enrollment tokens", tokens.Count, tokens.Count(t => unused.Contains(t.TokenHash)));
        await ReportAsync(Invariant($"enrollment tokens: {tokens.Count:N0} copied"));
    }

    private async Task<IReadOnlyList<AgentRecord>> CopyAgentsAsync(Findings findings, CancellationToken cancellationToken)
    {
        // The whole record, reported state, zone override and last heartbeat included.
        var agents = await source.Agents.ListAsync(cancellationToken);
        foreach (var agent in agents)
        {
            await target.Agents.AddAsync(agent, cancellationToken);
        }

        var copied = (await target.Agents.ListAsync(cancellationToken)).ToDictionary(a => a.Id, StringComparer.Ordinal);
        foreach (var agent in agents)
        {
            if (copied.GetValueOrDefault(agent.Id) is { } stored && !Same(agent, stored))
            {
                findings.Mismatches.Add($"agent {Name(agent)}: its name, zone, zone override, labels, credential, last heartbeat or reported state differ in the target");
            }
        }

        findings.Count("agents", agents.Count, agents.Count(a => copied.ContainsKey(a.Id)));
        await ReportAsync(Invariant($"agents: {agents.Count:N0} copied"));
        return agents;
    }

    private async Task CopyJobsAsync(Findings findings, CancellationToken cancellationToken)
    {
        long copied = 0;
        await foreach (var job in source.Jobs.ListAllAsync(cancellationToken))
        {
            await target.Jobs.AddAsync(job, cancellationToken);
            if (++copied % ProgressEvery == 0)
            {
                await ReportAsync(Invariant($"jobs: {copied:N0} so far"));
            }
        }

        findings.Count("jobs", copied, await target.Jobs.ListAllAsync(cancellationToken).LongCountAsync(cancellationToken));
        await ReportAsync(Invariant($"jobs: {copied:N0} copied"));
    }

    /// <summary>
    /// Each dataset's versions are added oldest first, so the target numbers them as the source did
    /// (a store numbers a dataset's versions from 1 and never deletes one).
    /// </summary>
    private async Task CopyDatasetsAsync(Findings findings, CancellationToken cancellationToken)
    {
        var datasets = await source.Datasets.ListLatestAsync(cancellationToken);
        long sourceVersions = 0, targetVersions = 0;
        foreach (var dataset in datasets)
        {
            foreach (var version in await source.Datasets.ListVersionsAsync(dataset.Name, cancellationToken))
            {
                sourceVersions++;
                var (stored, _) = await target.Datasets.AddVersionAsync(version.Name, version.Sha256, version.SizeBytes, version.Rows, version.Columns,
                    version.CreatedAt, cancellationToken);
                if (stored.Version != version.Version)
                {
                    findings.Mismatches.Add(Invariant($"dataset {version.Name}: version {version.Version} became version {stored.Version} in the target"));
                }
            }

            targetVersions += (await target.Datasets.ListVersionsAsync(dataset.Name, cancellationToken)).Count;
        }

        findings.Count("datasets", datasets.Count, (await target.Datasets.ListLatestAsync(cancellationToken)).Count);
        findings.Count("dataset versions", sourceVersions, targetVersions);
        await ReportAsync(Invariant($"datasets: {datasets.Count:N0} with {sourceVersions:N0} versions copied"));
    }

    /// <summary>
    /// A store makes a model with its first version, so each model's versions are added oldest first
    /// (keeping their numbers), then the model itself replaces what that made: its creation time,
    /// tags and aliases.
    /// </summary>
    private async Task CopyModelsAsync(Findings findings, CancellationToken cancellationToken)
    {
        var models = await source.Models.ListModelsAsync(cancellationToken);
        long sourceVersions = 0, targetVersions = 0;
        foreach (var model in models)
        {
            var versions = await source.Models.ListVersionsAsync(model.Name, cancellationToken);
            if (versions.Count == 0)
            {
                findings.Warnings.Add($"model {model.Name}: it has no version, and a store makes a model only with its first version; not copied");
                continue;
            }

            foreach (var version in versions)
            {
                sourceVersions++;
                var (stored, created) = await target.Models.AddVersionAsync(model.Name, number => version with { Version = number }, model.CreatedAt, cancellationToken);
                if (!created || stored.Version != version.Version)
                {
                    findings.Mismatches.Add(Invariant($"model {model.Name}: version {version.Version} became version {stored.Version} in the target"));
                }
            }

            if (!await target.Models.UpdateModelAsync(model, cancellationToken))
            {
                findings.Mismatches.Add($"model {model.Name}: its tags and aliases could not be set in the target");
            }

            targetVersions += (await target.Models.ListVersionsAsync(model.Name, cancellationToken)).Count;
        }

        findings.Count("models", models.Count, (await target.Models.ListModelsAsync(cancellationToken)).Count);
        findings.Count("model versions", sourceVersions, targetVersions);
        await ReportAsync(Invariant($"models: {models.Count:N0} with {sourceVersions:N0} versions copied"));
    }

    private async Task CopyWebhooksAsync(Findings findings, CancellationToken cancellationToken)
    {
        var webhooks = await source.Webhooks.ListAsync(cancellationToken);
        foreach (var webhook in webhooks)
        {
            await target.Webhooks.AddAsync(webhook, cancellationToken);
        }

        findings.Count("webhooks", webhooks.Count, (await target.Webhooks.ListAsync(cancellationToken)).Count);
        await ReportAsync(Invariant($"webhooks: {webhooks.Count:N0} copied"));
    }

    /// <summary>Versions in order (so they keep their numbers), every run as it stands, and the step cache.</summary>
    private async Task CopyPipelinesAsync(Findings findings, CancellationToken cancellationToken)
    {
        var pipelines = await source.Pipelines.ListLatestAsync(cancellationToken);
        int sourceVersions = 0, targetVersions = 0, sourceRuns = 0, targetRuns = 0;
        foreach (var pipeline in pipelines)
        {
            var versions = await source.Pipelines.ListVersionsAsync(pipeline.Pipeline, cancellationToken);
            foreach (var version in versions)
            {
                await target.Pipelines.AddVersionAsync(version.Pipeline, version.Definition, version.Source, version.SourceContentType, version.CreatedAt, cancellationToken);
            }

            var runs = await source.Pipelines.ListRunsAsync(pipeline.Pipeline, int.MaxValue, cancellationToken);
            foreach (var run in runs)
            {
                await target.Pipelines.AddRunAsync(run, cancellationToken);
            }

            sourceVersions += versions.Count;
            sourceRuns += runs.Count;
            targetVersions += (await target.Pipelines.ListVersionsAsync(pipeline.Pipeline, cancellationToken)).Count;
            targetRuns += (await target.Pipelines.ListRunsAsync(pipeline.Pipeline, int.MaxValue, cancellationToken)).Count;
        }

        var cache = await source.Pipelines.ListCacheEntriesAsync(cancellationToken);
        foreach (var entry in cache)
        {
            await target.Pipelines.PutCacheEntryAsync(entry, cancellationToken);
        }

        findings.Count("pipelines", pipelines.Count, (await target.Pipelines.ListLatestAsync(cancellationToken)).Count);
        findings.Count("pipeline versions", sourceVersions, targetVersions);
        findings.Count("pipeline runs", sourceRuns, targetRuns);
        findings.Count("pipeline cache entries", cache.Count, (await target.Pipelines.ListCacheEntriesAsync(cancellationToken)).Count);
        await ReportAsync(Invariant($"pipelines: {pipelines.Count:N0} with {sourceVersions:N0} versions, {sourceRuns:N0} runs and {cache.Count:N0} cached steps copied"));
    }

    /// <summary>Each deployment as it stands, its revision and history with it.</summary>
    private async Task CopyDeploymentsAsync(Findings findings, CancellationToken cancellationToken)
    {
        var deployments = await source.Deployments.ListAsync(cancellationToken);
        foreach (var deployment in deployments)
        {
            if (!await target.Deployments.AddAsync(deployment, cancellationToken))
            {
                findings.Warnings.Add($"deployment {deployment.Name}: the target already holds one of that name; not copied");
            }
        }

        findings.Count("deployments", deployments.Count, (await target.Deployments.ListAsync(cancellationToken)).Count);
        await ReportAsync(Invariant($"deployments: {deployments.Count:N0} copied"));
    }

    /// <summary>
    /// Alert rules with their notification secrets as stored (encrypted under the data directory's
    /// key ring, which the target's control plane must use too), and every alert with its state and history.
    /// </summary>
    private async Task CopyAlertsAsync(Findings findings, CancellationToken cancellationToken)
    {
        var rules = await source.Alerts.ListRulesAsync(cancellationToken);
        foreach (var rule in rules)
        {
            if (!await target.Alerts.AddRuleAsync(rule, cancellationToken))
            {
                findings.Warnings.Add($"alert rule {rule.Name}: the target already holds one of that name; not copied");
            }
        }

        var alerts = await source.Alerts.ListAlertsAsync(cancellationToken);
        foreach (var alert in alerts)
        {
            await target.Alerts.SaveAlertAsync(alert, cancellationToken);
        }

        findings.Count("alert rules", rules.Count, (await target.Alerts.ListRulesAsync(cancellationToken)).Count);
        findings.Count("alerts", alerts.Count, (await target.Alerts.ListAlertsAsync(cancellationToken)).Count);
        await ReportAsync(Invariant($"alerts: {rules.Count:N0} rules and {alerts.Count:N0} alerts copied"));
    }

    private async Task CopyTelemetryAsync(IReadOnlyList<AgentRecord> agents, Findings findings, CancellationToken cancellationToken)
    {
        var summaries = (await source.Telemetry.ListSummariesAsync(cancellationToken)).ToDictionary(s => s.AgentId, StringComparer.Ordinal);
        var enrolled = agents.Select(a => a.Id).ToHashSet(StringComparer.Ordinal);
        foreach (var orphan in summaries.Keys.Where(id => !enrolled.Contains(id)).Order(StringComparer.Ordinal))
        {
            findings.Warnings.Add($"telemetry of agent {orphan}: the source has no such agent; not copied");
        }

        long sourceReadings = 0, targetReadings = 0;
        DateTimeOffset? lastOfAll = null;
        foreach (var agent in agents)
        {
            if (summaries.GetValueOrDefault(agent.Id) is not { LastReadingAt: { } last } summary)
            {
                continue;
            }

            var copy = await CopyReadingsAsync(agent, summary, last, cancellationToken);
            var stored = await target.Telemetry.GetSummaryAsync(agent.Id, cancellationToken);
            var (storedCount, storedDurable) = (stored?.ReadingCount ?? 0, stored?.DurableSequence ?? 0);
            sourceReadings += copy.Read;
            targetReadings += storedCount;
            await ReportAsync(Invariant($"telemetry: agent {Name(agent)}: {copy.Read:N0} readings copied, durable sequence {storedDurable:N0}"));

            if (copy.Behind > 0)
            {
                findings.Mismatches.Add(Invariant(
                    $"agent {Name(agent)}: {copy.Behind:N0} readings lay more than {ReorderWindow:N0} readings out of sequence order and could not be appended after later ones"));
            }

            if (storedCount != copy.Read || storedDurable != copy.LastSequence)
            {
                findings.Mismatches.Add(Invariant(
                    $"agent {Name(agent)}: the target holds {storedCount:N0} readings up to durable sequence {storedDurable:N0}, the source {copy.Read:N0} up to {copy.LastSequence:N0}"));
            }

            if (summary.ReadingCount > copy.Read)
            {
                findings.Warnings.Add(
                    Invariant($"agent {Name(agent)}: the source counts {summary.ReadingCount:N0} readings ({summary.EnergyJoules:N0} J) up to sequence {summary.DurableSequence:N0}, ") +
                    Invariant($"but retention had deleted all but {copy.Read:N0} raw readings; the target counts those only ({stored?.EnergyJoules ?? 0:N0} J), ") +
                    Invariant($"with durable sequence {storedDurable:N0}"));
            }
            else if (summary.ReadingCount != copy.Read || summary.DurableSequence != copy.LastSequence)
            {
                findings.Mismatches.Add(
                    Invariant($"agent {Name(agent)}: the source's summary counts {summary.ReadingCount:N0} readings up to sequence {summary.DurableSequence:N0}, ") +
                    Invariant($"its raw readings {copy.Read:N0} up to {copy.LastSequence:N0}"));
            }

            await CompareAgentRollupsAsync(agent, last, findings, cancellationToken);
            lastOfAll = lastOfAll is { } before && before > last ? before : last;
        }

        findings.Count("readings", sourceReadings, targetReadings);
        if (lastOfAll is { } end)
        {
            await CompareZoneRollupsAsync(end, findings, cancellationToken);
        }
    }

    /// <summary>
    /// Streams the agent's raw readings (in time order) through a window that puts them in sequence
    /// order, and appends them in batches in the agent's current zone, received when the source last
    /// received a batch from it (so the target's summary says the same).
    /// </summary>
    private async Task<ReadingsCopied> CopyReadingsAsync(AgentRecord agent, TelemetrySummary summary, DateTimeOffset last, CancellationToken cancellationToken)
    {
        var zone = agent.EffectiveZone;
        var receivedAt = summary.LastReceivedAt ?? last;
        var window = new PriorityQueue<ReadingRecord, long>();
        var batch = new List<ReadingRecord>(ReadingsPerBatch);
        long read = 0, behind = 0, lastSequence = 0;

        await foreach (var reading in source.Telemetry.ReadReadingsAsync(agent.Id, null, DateTimeOffset.UnixEpoch, last.AddTicks(1), cancellationToken))
        {
            window.Enqueue(reading, reading.Sequence);
            if (window.Count > ReorderWindow)
            {
                await TakeAsync(window.Dequeue());
            }

            if (++read % ProgressEvery == 0)
            {
                await ReportAsync(Invariant($"telemetry: agent {Name(agent)}: {read:N0} readings so far"));
            }
        }

        while (window.Count > 0)
        {
            await TakeAsync(window.Dequeue());
        }

        if (batch.Count > 0)
        {
            await AppendAsync();
        }

        return new ReadingsCopied(read, behind, lastSequence);

        async Task TakeAsync(ReadingRecord reading)
        {
            // A store skips what is at or below the durable sequence, as a resend.
            if (reading.Sequence <= lastSequence)
            {
                behind++;
                return;
            }

            lastSequence = reading.Sequence;
            batch.Add(reading);
            if (batch.Count == ReadingsPerBatch)
            {
                await AppendAsync();
            }
        }

        async Task AppendAsync()
        {
            await target.Telemetry.AppendAsync([new TelemetryBatch(agent.Id, zone, [.. batch], receivedAt)], cancellationToken);
            batch.Clear();
        }
    }

    private async Task CompareAgentRollupsAsync(AgentRecord agent, DateTimeOffset last, Findings findings, CancellationToken cancellationToken)
    {
        // An hour past the last reading is past its bucket in either tier.
        var end = last + TelemetryTiers.Hour;
        foreach (var tier in RollupTiers)
        {
            var difference = await CompareAsync(AgentBuckets(source.Telemetry, agent.Id, tier, end, cancellationToken),
                AgentBuckets(target.Telemetry, agent.Id, tier, end, cancellationToken), cancellationToken);
            var name = Invariant($"agent {Name(agent)}: {TierName(tier)} rollups");
            if (difference.Missing.Buckets > 0)
            {
                findings.Warnings.Add(Invariant(
                    $"{name}: {difference.Missing.Describe()} count readings that retention had deleted from the raw tier; they are not in the target"));
            }

            if (difference.Extra.Buckets > 0)
            {
                findings.Warnings.Add(Invariant(
                    $"{name}: the target rebuilt {difference.Extra.Describe()} that the source's retention had already deleted; the target's retention deletes them again"));
            }

            if (difference.Differing.Buckets > 0)
            {
                findings.Mismatches.Add(Invariant($"{name}: {difference.Differing.Describe()} hold the same readings but not the same energy"));
            }
        }
    }

    private async Task CompareZoneRollupsAsync(DateTimeOffset last, Findings findings, CancellationToken cancellationToken)
    {
        var end = last + TelemetryTiers.Hour;
        foreach (var tier in RollupTiers)
        {
            var difference = await CompareAsync(ZoneBuckets(source.Telemetry, tier, end, cancellationToken), ZoneBuckets(target.Telemetry, tier, end, cancellationToken),
                cancellationToken);
            var differing = new[] { difference.Missing, difference.Extra, difference.Differing }.Where(d => d.Buckets > 0).ToList();
            if (differing.Count > 0)
            {
                var zones = string.Join(", ", differing.SelectMany(d => d.Keys).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal));
                findings.Warnings.Add(
                    Invariant($"zone {TierName(tier)} rollups differ in {differing.Sum(d => d.Buckets):N0} buckets between {differing.Min(d => d.First):u} and {differing.Max(d => d.Last):u} ") +
                    $"(zones {zones}): the target counts every copied reading in its agent's current zone, where the source counted it in the zone of its agent when it arrived, " +
                    "and rollups of readings that retention had deleted from the raw tier are not copied");
            }
        }
    }

    private static IAsyncEnumerable<KeyedBucket> AgentBuckets(ITelemetryStore store, string agentId, TelemetryTier tier, DateTimeOffset end, CancellationToken cancellationToken) =>
        store.ReadAgentAsync(agentId, null, tier, DateTimeOffset.UnixEpoch, end, cancellationToken).Select(b => new KeyedBucket(b.Time, b.Domain, b.Readings, b.EnergyJoules));

    private static IAsyncEnumerable<KeyedBucket> ZoneBuckets(ITelemetryStore store, TelemetryTier tier, DateTimeOffset end, CancellationToken cancellationToken) =>
        store.ReadZonesAsync(tier, DateTimeOffset.UnixEpoch, end, cancellationToken).Select(b => new KeyedBucket(b.Time, b.Zone, b.Readings, b.EnergyJoules));

    /// <summary>Merges two tiers, each in time order, bucket by bucket: memory holds one bucket time of each.</summary>
    private static async Task<TierDifference> CompareAsync(IAsyncEnumerable<KeyedBucket> source, IAsyncEnumerable<KeyedBucket> target, CancellationToken cancellationToken)
    {
        var difference = new TierDifference();
        await using var left = InKeyOrder(source).GetAsyncEnumerator(cancellationToken);
        await using var right = InKeyOrder(target).GetAsyncEnumerator(cancellationToken);
        bool hasLeft = await left.MoveNextAsync(), hasRight = await right.MoveNextAsync();
        while (hasLeft || hasRight)
        {
            var order = !hasRight ? -1 : !hasLeft ? 1 : Compare(left.Current, right.Current);
            if (order < 0)
            {
                difference.Missing.Add(left.Current, left.Current.Readings, left.Current.EnergyJoules);
                hasLeft = await left.MoveNextAsync();
            }
            else if (order > 0)
            {
                difference.Extra.Add(right.Current, right.Current.Readings, right.Current.EnergyJoules);
                hasRight = await right.MoveNextAsync();
            }
            else
            {
                var (was, now) = (left.Current, right.Current);
                if (was.Readings > now.Readings)
                {
                    difference.Missing.Add(was, was.Readings - now.Readings, was.EnergyJoules - now.EnergyJoules);
                }
                else if (was.Readings < now.Readings)
                {
                    difference.Extra.Add(was, now.Readings - was.Readings, now.EnergyJoules - was.EnergyJoules);
                }
                else if (Math.Abs(was.EnergyJoules - now.EnergyJoules) > EnergyTolerance * Math.Max(1, Math.Abs(was.EnergyJoules)))
                {
                    difference.Differing.Add(was, 0, now.EnergyJoules - was.EnergyJoules);
                }

                (hasLeft, hasRight) = (await left.MoveNextAsync(), await right.MoveNextAsync());
            }
        }

        return difference;

        static int Compare(KeyedBucket a, KeyedBucket b) => a.Time != b.Time ? a.Time.CompareTo(b.Time) : string.CompareOrdinal(a.Key, b.Key);
    }

    /// <summary>
    /// The buckets of each time in ordinal key order, those of one key summed: providers order the
    /// keys of one time by their own collations.
    /// </summary>
    private static async IAsyncEnumerable<KeyedBucket> InKeyOrder(IAsyncEnumerable<KeyedBucket> buckets)
    {
        var group = new SortedDictionary<string, KeyedBucket>(StringComparer.Ordinal);
        DateTimeOffset? time = null;
        await foreach (var bucket in buckets)
        {
            if (time != bucket.Time)
            {
                time = bucket.Time;
                foreach (var grouped in group.Values)
                {
                    yield return grouped;
                }

                group.Clear();
            }

            group[bucket.Key] = group.TryGetValue(bucket.Key, out var same)
                ? same with { Readings = same.Readings + bucket.Readings, EnergyJoules = same.EnergyJoules + bucket.EnergyJoules }
                : bucket;
        }

        foreach (var grouped in group.Values)
        {
            yield return grouped;
        }
    }

    private static bool Same(AgentRecord a, AgentRecord b) =>
        a.Name == b.Name && a.Zone == b.Zone && a.ZoneOverride == b.ZoneOverride && a.CredentialHash == b.CredentialHash && a.EnrolledAt == b.EnrolledAt
        && a.LastHeartbeatAt == b.LastHeartbeatAt && SameEntries(a.Labels, b.Labels)
        && (a.State, b.State) switch
        {
            (null, null) => true,
            ({ } x, { } y) => x.AgentVersion == y.AgentVersion && x.Sensors.SequenceEqual(y.Sensors) && x.JobKinds.SequenceEqual(y.JobKinds)
                && (x.CpuCores, x.MemoryBytes, x.Gpus) == (y.CpuCores, y.MemoryBytes, y.Gpus),
            _ => false,
        };

    private static bool SameEntries(IReadOnlyDictionary<string, string> a, IReadOnlyDictionary<string, string> b) =>
        a.Count == b.Count && a.All(entry => b.TryGetValue(entry.Key, out var value) && value == entry.Value);

    private static string Name(AgentRecord agent) => $"{agent.Id} ({agent.Name})";

    private static string TierName(TelemetryTier tier) => tier == TelemetryTier.Hour ? "hour" : "minute";

    private Task ReportAsync(string line) => progress.WriteLineAsync(line);

    private readonly record struct ReadingsCopied(long Read, long Behind, long LastSequence);

    /// <summary>A rollup bucket of an agent's domain or of a zone (the key).</summary>
    private readonly record struct KeyedBucket(DateTimeOffset Time, string Key, long Readings, double EnergyJoules);

    private sealed class TierDifference
    {
        /// <summary>What the source's buckets count beyond the target's.</summary>
        public BucketSpan Missing { get; } = new();

        /// <summary>What the target's buckets count beyond the source's.</summary>
        public BucketSpan Extra { get; } = new();

        /// <summary>Buckets of as many readings in both whose energy differs.</summary>
        public BucketSpan Differing { get; } = new();
    }

    /// <summary>Buckets that differ: how many, their readings and energy, from when to when, and their keys.</summary>
    private sealed class BucketSpan
    {
        public long Buckets { get; private set; }

        public long Readings { get; private set; }

        public double EnergyJoules { get; private set; }

        public DateTimeOffset First { get; private set; } = DateTimeOffset.MaxValue;

        public DateTimeOffset Last { get; private set; } = DateTimeOffset.MinValue;

        /// <summary>Few: the domains of one agent, or the zones of the fleet.</summary>
        public SortedSet<string> Keys { get; } = new(StringComparer.Ordinal);

        public void Add(KeyedBucket bucket, long readings, double energyJoules)
        {
            Buckets++;
            Readings += readings;
            EnergyJoules += energyJoules;
            First = bucket.Time < First ? bucket.Time : First;
            Last = bucket.Time > Last ? bucket.Time : Last;
            Keys.Add(bucket.Key);
        }

        public string Describe() => Invariant(
            $"{Buckets:N0} buckets from {First:u} to {Last:u} ({string.Join(", ", Keys)}: {Readings:N0} readings, {EnergyJoules:N0} J)");
    }

    private sealed class Findings
    {
        public List<CopiedCount> Counts { get; } = [];

        public List<string> Mismatches { get; } = [];

        public List<string> Warnings { get; } = [];

        public void Count(string kind, long source, long target)
        {
            Counts.Add(new CopiedCount(kind, source, target));
            if (source != target)
            {
                Mismatches.Add(Invariant($"{kind}: the source holds {source:N0}, the target {target:N0} of them"));
            }
        }
    }
}
