using EdgeGreen.Shared.Datasets;
using EdgeGreen.ControlPlane.Core.Storage;
using EdgeGreen.ControlPlane.Storage;

namespace EdgeGreen.ControlPlane.Tests.Storage;

/// <summary>
/// What every storage implementation must do. Each implementation derives from this class and
/// supplies fresh stores; the same assertions then run against all of them.
/// </summary>
public abstract partial class StorageContract : IAsyncLifetime
{
    protected static readonly DateTimeOffset T0 = new(2026, 11, 1, 0, 0, 0, TimeSpan.Zero);

    protected ITelemetryStore Telemetry { get; private set; } = null!;

    protected IAgentStore Agents { get; private set; } = null!;

    protected IAccessStore Access { get; private set; } = null!;

    protected IJobStore Jobs { get; private set; } = null!;

    protected IDatasetStore Datasets { get; private set; } = null!;

    protected IModelStore Models { get; private set; } = null!;

    protected IWebhookStore Webhooks { get; private set; } = null!;

    protected IPipelineStore Pipelines { get; private set; } = null!;

    protected IDeploymentStore Deployments { get; private set; } = null!;

    protected IMonitoringStore Monitoring { get; private set; } = null!;

    protected IAlertStore Alerts { get; private set; } = null!;

    public async Task InitializeAsync() => Use(await OpenAsync());

    public abstract Task DisposeAsync();

    /// <summary>Opens (or reopens, over the same data) the stores under test.</summary>
    protected abstract Task<Stores> OpenAsync();

    /// <summary>Closes the stores so that <see cref="ReopenAsync"/> reads what was made durable.</summary>
    protected abstract Task CloseAsync();

    protected async Task ReopenAsync()
    {
        await CloseAsync();
        Use(await OpenAsync());
    }

    private void Use(Stores stores) => (Telemetry, Agents, Access, Jobs, Datasets, Models, Webhooks, Pipelines, Deployments, Monitoring, Alerts) = stores;

    [ContractFact]
    public async Task Datasets_SameBytesAreTheSameVersion_NewBytesTheNext_AcrossReopen()
    {
        IReadOnlyList<DatasetColumn> columns = [new("age", "numeric"), new("default", "boolean")];
        var (first, created) = await Datasets.AddVersionAsync("credit", new string('a', 64), 100, 10, columns, T0, CancellationToken.None);
        Assert.True(created);
        Assert.Equal(1, first.Version);

        await ReopenAsync();
        var (again, createdAgain) = await Datasets.AddVersionAsync("credit", new string('a', 64), 100, 10, columns, T0.AddHours(1), CancellationToken.None);
        var (second, _) = await Datasets.AddVersionAsync("credit", new string('b', 64), 120, 12, columns, T0.AddHours(2), CancellationToken.None);
        var (other, _) = await Datasets.AddVersionAsync("copy", new string('a', 64), 100, 10, columns, T0.AddHours(3), CancellationToken.None);

        Assert.False(createdAgain);
        Assert.Equal(first.Version, again.Version);
        Assert.Equal(T0, again.CreatedAt);
        Assert.Equal(2, second.Version);
        Assert.Equal(1, other.Version);
        Assert.Equal([1, 2], (await Datasets.ListVersionsAsync("credit", CancellationToken.None)).Select(v => v.Version));
        Assert.Equal(columns, (await Datasets.ListVersionsAsync("credit", CancellationToken.None))[0].Columns);
        Assert.Equal([("copy", 1), ("credit", 2)], (await Datasets.ListLatestAsync(CancellationToken.None)).Select(v => (v.Name, v.Version)));
        Assert.Equal(new string('b', 64), (await Datasets.FindByShaAsync(new string('b', 64), CancellationToken.None))?.Sha256);
        Assert.Null(await Datasets.FindByShaAsync(new string('c', 64), CancellationToken.None));
        Assert.Empty(await Datasets.ListVersionsAsync("missing", CancellationToken.None));
    }

    [ContractFact]
    public async Task Jobs_RoundTripEveryFieldAcrossReopen()
    {
        var job = Job("j1", "train", T0) with
        {
            StatusReason = "why",
            PlannedStart = T0.AddHours(3),
            AgentId = "a1",
            Zone = "ES",
            ForecastIntensityGramsPerKwh = 101.5,
            ForecastCarbonGrams = 2.5,
            RunNowCarbonGrams = 4.25,
            MeetsDeadline = true,
            Attempts = 2,
            StartedAt = T0.AddHours(3).AddTicks(7),
            FinishedAt = T0.AddHours(4),
            Progress = 1,
            EnergyJoules = 3_600_000,
            EnergyProvenance = ReadingProvenance.Measured,
            RealisedIntensityGramsPerKwh = 99.125,
            CarbonGrams = 99.125,
            RunNowRealisedCarbonGrams = 140,
            EnergyByDomain = [new JobDomainEnergy("cpu.package", 3_000_000, ReadingProvenance.Measured), new JobDomainEnergy("dram", 600_000, ReadingProvenance.Modelled)],
            Metrics = new Dictionary<string, double> { ["auc"] = 0.78 },
            Status = JobStatus.Succeeded,
        };
        await Jobs.AddAsync(job, CancellationToken.None);

        await ReopenAsync();
        var stored = await Jobs.GetAsync("j1", CancellationToken.None);

        Assert.NotNull(stored);
        Assert.Equal(job with { Parameters = stored.Parameters, Placement = stored.Placement, EnergyByDomain = stored.EnergyByDomain, Metrics = stored.Metrics }, stored);
        Assert.Equal(job.EnergyByDomain, stored.EnergyByDomain);
        Assert.Equal(job.Metrics, stored.Metrics);
        Assert.Equal(job.Parameters, stored.Parameters);
        Assert.Equal(job.Placement.AgentLabels, stored.Placement.AgentLabels);
        Assert.Equal(job.Placement.Zones, stored.Placement.Zones);
        Assert.Null(await Jobs.GetAsync("missing", CancellationToken.None));
    }

    [ContractFact]
    public async Task Jobs_ListByStatusAndName_NewestFirst_AndActiveOnesForTheScheduler()
    {
        await Jobs.AddAsync(Job("old", "train", T0), CancellationToken.None);
        await Jobs.AddAsync(Job("new", "train", T0.AddMinutes(1)) with { Status = JobStatus.Running }, CancellationToken.None);
        await Jobs.AddAsync(Job("done", "train", T0.AddMinutes(2)) with { Status = JobStatus.Succeeded }, CancellationToken.None);
        await Jobs.AddAsync(Job("other", "infer", T0.AddMinutes(3)) with { Status = JobStatus.Held }, CancellationToken.None);

        Assert.Equal(["other", "done", "new", "old"], (await Jobs.ListAsync(new JobQuery(), CancellationToken.None)).Select(j => j.Id));
        Assert.Equal(["done", "new"], (await Jobs.ListAsync(new JobQuery(Name: "train", Limit: 2), CancellationToken.None)).Select(j => j.Id));
        Assert.Equal(["done"], (await Jobs.ListAsync(new JobQuery(JobStatus.Succeeded), CancellationToken.None)).Select(j => j.Id));
        Assert.Equal(["old", "new", "other"], (await Jobs.ListActiveAsync(CancellationToken.None)).Select(j => j.Id));
        Assert.Equal(["done"], (await Jobs.ListSucceededAsync("train", 10, CancellationToken.None)).Select(j => j.Id));
    }

    [ContractFact]
    public async Task Jobs_ListFinished_InTheRangeOnly_OldestFinishFirst()
    {
        await Jobs.AddAsync(Job("running", "x", T0) with { Status = JobStatus.Running }, CancellationToken.None);
        await Jobs.AddAsync(Job("late", "x", T0) with { Status = JobStatus.Succeeded, FinishedAt = T0.AddHours(2) }, CancellationToken.None);
        await Jobs.AddAsync(Job("early", "x", T0) with { Status = JobStatus.Failed, FinishedAt = T0.AddHours(1) }, CancellationToken.None);
        await Jobs.AddAsync(Job("outside", "x", T0) with { Status = JobStatus.Succeeded, FinishedAt = T0.AddHours(3) }, CancellationToken.None);

        Assert.Equal(["early", "late"], (await Jobs.ListFinishedAsync(T0, T0.AddHours(3), 10, CancellationToken.None)).Select(j => j.Id));
        Assert.Equal(["early"], (await Jobs.ListFinishedAsync(T0, T0.AddHours(3), 1, CancellationToken.None)).Select(j => j.Id));

        var running = (await Jobs.GetAsync("running", CancellationToken.None))!;
        await Jobs.UpdateAsync(running with { Status = JobStatus.Succeeded, FinishedAt = T0.AddMinutes(30) }, CancellationToken.None);
        Assert.Equal(["running", "early"], (await Jobs.ListFinishedAsync(T0, T0.AddHours(1.5), 10, CancellationToken.None)).Select(j => j.Id));
    }

    [ContractFact]
    public async Task Jobs_UpdateMany_ReplacesEachAndLeavesTheRest()
    {
        await Jobs.AddAsync(Job("a", "x", T0), CancellationToken.None);
        await Jobs.AddAsync(Job("b", "x", T0), CancellationToken.None);

        await Jobs.UpdateManyAsync([Job("a", "x", T0) with { Status = JobStatus.Cancelled }], CancellationToken.None);

        Assert.Equal(JobStatus.Cancelled, (await Jobs.GetAsync("a", CancellationToken.None))!.Status);
        Assert.Equal(JobStatus.Pending, (await Jobs.GetAsync("b", CancellationToken.None))!.Status);
        Assert.False(await Jobs.UpdateAsync(Job("ghost", "x", T0), CancellationToken.None));
    }

    private static JobRecord Job(string id, string name, DateTimeOffset submittedAt) => new(
        id, name, "burn", new Dictionary<string, string> { ["duration"] = "PT1H" }, submittedAt, submittedAt, submittedAt.AddHours(8),
        TimeSpan.FromHours(1), EstimateSource.Submitted, 120.5, EstimateSource.History, new JobResources(2, 1 << 30, 1),
        new JobPlacement(new Dictionary<string, string> { ["site"] = "lab" }, ["ES", "NO"]), true, 50, 1e6, JobStatus.Pending);

    [ContractFact]
    public async Task Append_OverlappingResend_StoresEachSequenceOnce()
    {
        var first = await AppendAsync("a1", Readings(1, 5), T0);
        var overlap = await AppendAsync("a1", Readings(3, 8), T0);

        Assert.Equal(new AppendResult(5, 5, 0), first);
        Assert.Equal(new AppendResult(8, 3, 3), overlap);
        var stored = await ReadAllAsync("a1");
        Assert.Equal(Enumerable.Range(1, 8).Select(i => (long)i), stored.Select(r => r.Sequence));
    }

    [ContractFact]
    public async Task Append_RoundTripsEveryField()
    {
        var reading = new ReadingRecord(7, T0.AddTicks(123_456_789), TimeSpan.FromTicks(9_999_999), "nvml", "gpu0", 123.456789012345, ReadingProvenance.Measured);

        await AppendAsync("a1", [reading], T0);

        Assert.Equal(reading, Assert.Single(await ReadAllAsync("a1")));
    }

    [ContractFact]
    public async Task Agents_AreIsolated()
    {
        await AppendAsync("a1", Readings(1, 3), T0);
        await AppendAsync("b2", Readings(1, 2), T0);

        Assert.Equal(3, (await ReadAllAsync("a1")).Count);
        Assert.Equal(2, await Telemetry.GetDurableSequenceAsync("b2", CancellationToken.None));
        Assert.Equal(0, await Telemetry.GetDurableSequenceAsync("c3", CancellationToken.None));
        Assert.Null(await Telemetry.GetSummaryAsync("c3", CancellationToken.None));
        Assert.Empty(await ReadAllAsync("c3"));
    }

    [ContractFact]
    public async Task Read_FiltersByHalfOpenRangeAndDomain()
    {
        await AppendAsync("a1", [
            new(1, T0.AddSeconds(1), TimeSpan.FromSeconds(1), "s", "cpu.package", 1, ReadingProvenance.Modelled),
            new(2, T0.AddSeconds(1), TimeSpan.FromSeconds(1), "s", "dram", 2, ReadingProvenance.Modelled),
            new(3, T0.AddSeconds(2), TimeSpan.FromSeconds(1), "s", "cpu.package", 3, ReadingProvenance.Modelled),
            new(4, T0.AddSeconds(3), TimeSpan.FromSeconds(1), "s", "cpu.package", 4, ReadingProvenance.Modelled),
        ], T0);

        var range = await ReadAsync("a1", T0.AddSeconds(1), T0.AddSeconds(3), null);
        var cpu = await ReadAsync("a1", T0, T0.AddSeconds(10), "cpu.package");

        Assert.Equal([1L, 2L, 3L], range.Select(r => r.Sequence));
        Assert.Equal([1L, 3L, 4L], cpu.Select(r => r.Sequence));
    }

    [ContractFact]
    public async Task Summary_TotalsAndLatestPowerPerDomain_SurviveReopen()
    {
        await AppendAsync("a1", [
            new(1, T0.AddSeconds(1), TimeSpan.FromSeconds(1), "s", "cpu.package", 10, ReadingProvenance.Modelled),
            new(2, T0.AddSeconds(1), TimeSpan.FromSeconds(2), "g", "gpu0", 100, ReadingProvenance.Measured),
        ], T0.AddSeconds(1));
        await AppendAsync("a1", [new(3, T0.AddSeconds(2), TimeSpan.FromSeconds(1), "s", "cpu.package", 12, ReadingProvenance.Modelled)],
            T0.AddSeconds(2));

        await ReopenAsync();
        var summary = await Telemetry.GetSummaryAsync("a1", CancellationToken.None);

        Assert.NotNull(summary);
        Assert.Equal(3, summary.DurableSequence);
        Assert.Equal(3, summary.ReadingCount);
        Assert.Equal(122, summary.EnergyJoules, 9);
        Assert.Equal(12 + 50, summary.PowerWatts, 9);
        Assert.Equal(T0.AddSeconds(2), summary.LastReadingAt);
        Assert.Equal(T0.AddSeconds(2), summary.LastReceivedAt);
        Assert.Single(await Telemetry.ListSummariesAsync(CancellationToken.None));
    }

    [ContractFact]
    public async Task AgentStore_FindsByCredentialHash_AndHeartbeatReplacesZoneAndLabels()
    {
        var agent = new AgentRecord("a1", "edge-1", "ES", new Dictionary<string, string> { ["site"] = "lab" }, "hash-1", T0, null, null);
        await Agents.AddAsync(agent, CancellationToken.None);
        var state = new AgentReportedState("1.0", "Linux", ".NET 10", "NO", new Dictionary<string, string> { ["gpu"] = "a100" },
            [new SensorRecord("rapl", "rapl", "cpu.package", ReadingProvenance.Measured)], 8, 1 << 30, 1, ["burn"]) { OutboxDroppedReadings = 1234 };

        Assert.True(await Agents.ReportStateAsync("a1", state, T0.AddMinutes(1), CancellationToken.None));
        Assert.False(await Agents.ReportStateAsync("missing", state, T0, CancellationToken.None));
        await ReopenAsync();

        var found = await Agents.FindByCredentialHashAsync("hash-1", CancellationToken.None);
        Assert.NotNull(found);
        Assert.Equal("NO", found.Zone);
        Assert.Equal("a100", found.Labels["gpu"]);
        Assert.Equal(T0.AddMinutes(1), found.LastHeartbeatAt);
        Assert.Equal("rapl", Assert.Single(found.State!.Sensors).Id);
        Assert.Equal(["burn"], found.State.JobKinds);
        Assert.Equal(1234, found.State.OutboxDroppedReadings);
        Assert.Null(await Agents.FindByCredentialHashAsync("hash-2", CancellationToken.None));
        Assert.Single(await Agents.ListAsync(CancellationToken.None));
    }

    [ContractFact]
    public async Task AgentStore_ZoneOverride_WinsOverHeartbeatsUntilCleared()
    {
        await Agents.AddAsync(new AgentRecord("a1", "edge-1", "ES", new Dictionary<string, string>(), "hash-1", T0, null, null), CancellationToken.None);
        var state = new AgentReportedState("1.0", "Linux", ".NET 10", "BR", new Dictionary<string, string>(), [], 8, 1 << 30, 0, []);

        Assert.True(await Agents.SetZoneOverrideAsync("a1", "NO", CancellationToken.None));
        await Agents.ReportStateAsync("a1", state, T0.AddMinutes(1), CancellationToken.None);
        await ReopenAsync();

        var agent = await Agents.GetAsync("a1", CancellationToken.None);
        Assert.Equal(("BR", "NO", "NO"), (agent!.Zone, agent.ZoneOverride, agent.EffectiveZone));
        Assert.True(await Agents.SetZoneOverrideAsync("a1", null, CancellationToken.None));
        Assert.Equal("BR", (await Agents.GetAsync("a1", CancellationToken.None))!.EffectiveZone);
        Assert.False(await Agents.SetZoneOverrideAsync("missing", "NO", CancellationToken.None));
    }

    [ContractFact]
    public async Task EnrollmentToken_ConsumedOnceAndNeverAfterExpiry()
    {
        await Access.AddEnrollmentTokenAsync(new EnrollmentTokenRecord("t1", T0, T0.AddHours(1)), CancellationToken.None);
        await Access.AddEnrollmentTokenAsync(new EnrollmentTokenRecord("t2", T0, T0.AddHours(1)), CancellationToken.None);

        Assert.True(await Access.TryConsumeEnrollmentTokenAsync("t1", T0.AddMinutes(5), CancellationToken.None));
        Assert.False(await Access.TryConsumeEnrollmentTokenAsync("t1", T0.AddMinutes(6), CancellationToken.None));
        Assert.False(await Access.TryConsumeEnrollmentTokenAsync("t2", T0.AddHours(2), CancellationToken.None));
        Assert.False(await Access.TryConsumeEnrollmentTokenAsync("unknown", T0, CancellationToken.None));
    }

    [ContractFact]
    public async Task ApiKeys_FoundByHashOnly()
    {
        Assert.False(await Access.AnyApiKeyAsync(CancellationToken.None));
        var key = new ApiKeyRecord("k1", "ops", ApiKeyRole.Operator, "key-hash", T0);

        await Access.AddApiKeyAsync(key, CancellationToken.None);

        Assert.True(await Access.AnyApiKeyAsync(CancellationToken.None));
        Assert.Equal(key, await Access.FindApiKeyAsync("key-hash", CancellationToken.None));
        Assert.Null(await Access.FindApiKeyAsync("k1", CancellationToken.None));
    }

    protected async Task<AppendResult> AppendAsync(string agentId, IReadOnlyList<ReadingRecord> readings, DateTimeOffset receivedAt, string zone = "ES") =>
        (await Telemetry.AppendAsync([new TelemetryBatch(agentId, zone, readings, receivedAt)], CancellationToken.None))[0];

    protected async Task<List<ReadingRecord>> ReadAsync(string agentId, DateTimeOffset from, DateTimeOffset to, string? domain) =>
        await Telemetry.ReadReadingsAsync(agentId, domain, from, to, CancellationToken.None).ToListAsync();

    protected Task<List<ReadingRecord>> ReadAllAsync(string agentId) => ReadAsync(agentId, DateTimeOffset.MinValue, DateTimeOffset.MaxValue, null);

    protected static List<ReadingRecord> Readings(long first, long last) =>
        [.. Enumerable.Range((int)first, (int)(last - first + 1))
            .Select(i => new ReadingRecord(i, T0.AddSeconds(i), TimeSpan.FromSeconds(1), "s", "cpu.package", i * 1.5, ReadingProvenance.Modelled))];
}

/// <summary>One implementation's stores, opened over the same data.</summary>
public sealed record Stores(ITelemetryStore Telemetry, IAgentStore Agents, IAccessStore Access, IJobStore Jobs, IDatasetStore Datasets, IModelStore Models,
    IWebhookStore Webhooks, IPipelineStore Pipelines, IDeploymentStore Deployments, IMonitoringStore Monitoring, IAlertStore Alerts);
