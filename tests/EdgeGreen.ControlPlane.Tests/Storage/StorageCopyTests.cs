using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using EdgeGreen.Contracts.V1;
using EdgeGreen.ControlPlane.Core.Pipelines;
using EdgeGreen.ControlPlane.Core.Storage;
using EdgeGreen.ControlPlane.Storage;
using EdgeGreen.ControlPlane.Storage.LiteDb;
using EdgeGreen.ControlPlane.Storage.Postgres;
using EdgeGreen.Shared.Datasets;
using Google.Protobuf.WellKnownTypes;
using Grpc.Net.Client;
using Microsoft.Extensions.Options;

namespace EdgeGreen.ControlPlane.Tests.Storage;

/// <summary><c>copy-to-postgres</c>: a LiteDB control plane's data copied into PostgreSQL, and a control plane started on the copy.</summary>
public sealed class StorageCopyTests(PostgresServer server) : IClassFixture<PostgresServer>
{
    private const string Csv = "age,city,defaulted\n31,Lisbon,0\n45,Porto,1\n";
    private static readonly DateTimeOffset T0 = new(2026, 11, 1, 0, 0, 0, TimeSpan.Zero);

    [RequiresProgramFact("initdb")]
    public async Task CopyToPostgres_ThenAControlPlaneOnPostgres_AnswersWithTheSameKeyAgentJobDatasetAndReadings()
    {
        using var temp = new TempDirectory();
        var data = temp.Sub("data");
        var now = DateTimeOffset.UtcNow;
        var start = new DateTimeOffset(now.Year, now.Month, now.Day, now.Hour, now.Minute, 0, TimeSpan.Zero).AddMinutes(-6);
        var readingsPath = $"readings?from={Uri.EscapeDataString(start.ToString("O", CultureInfo.InvariantCulture))}" +
            $"&to={Uri.EscapeDataString(start.AddMinutes(5).ToString("O", CultureInfo.InvariantCulture))}&step=PT1M";
        string adminKey, agentId, credential, jobId, readingsBefore;
        double energyBefore;
        ReadingBatch lastBatch;
        await using (var liteDb = await TestControlPlane.StartAsync(data))
        {
            adminKey = liteDb.AdminKey;
            using var admin = liteDb.CreateClient(adminKey);
            using var agent = await RawAgent.EnrolAsync(liteDb, "copied-agent");
            (agentId, credential) = (agent.AgentId, agent.Headers.GetValue("authorization")!["Bearer ".Length..]);
            // The operator's zone, set before any reading, so that ingest counts the readings in the zone the copy counts them in.
            using (var zone = await admin.PutAsJsonAsync($"/api/v1/agents/{agentId}/zone", new { zone = "NO" }))
            {
                Assert.Equal(HttpStatusCode.OK, zone.StatusCode);
            }

            var batches = Enumerable.Range(0, 3).Select(b => RawAgent.Batch([.. Enumerable.Range((b * 40) + 1, 40).SelectMany(i => new[]
            {
                Reading((ulong)(2 * i) - 1, start.AddSeconds(i), "cpu.package", 7),
                Reading((ulong)(2 * i), start.AddSeconds(i), "dram", 2),
            })])).ToList();
            foreach (var batch in batches)
            {
                Assert.Equal(80u, (await agent.SendAsync(batch)).Accepted);
            }

            lastBatch = batches[^1];
            using var job = await admin.PostAsJsonAsync("/api/v1/jobs", new { name = "nightly-train", kind = "burn", parameters = new { duration = "PT1S" } });
            Assert.Equal(HttpStatusCode.Created, job.StatusCode);
            jobId = (await job.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
            using var dataset = await admin.PostAsync("/api/v1/datasets?name=credit", new StringContent(Csv, Encoding.UTF8, "text/csv"));
            Assert.Equal(HttpStatusCode.Created, dataset.StatusCode);
            energyBefore = (await admin.GetFromJsonAsync<JsonElement>($"/api/v1/agents/{agentId}")).GetProperty("energyJoules").GetDouble();
            readingsBefore = await admin.GetStringAsync($"/api/v1/agents/{agentId}/{readingsPath}");
            Assert.Empty(liteDb.Errors.Entries);
        }

        var connectionString = await server.CreateDatabaseAsync();
        using var output = new StringWriter();
        using var progress = new StringWriter();
        var exitCode = await CopyToPostgresCommand.RunAsync(["--data-directory", data, "--connection", connectionString], output, progress);

        Assert.True(exitCode == 0, $"exit code {exitCode}\n{output}\n{progress}");
        Assert.Contains($"telemetry: agent {agentId} (copied-agent): 240 readings copied, durable sequence 240", progress.ToString(), StringComparison.Ordinal);
        Assert.Contains("Verified", output.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain("Warning", output.ToString(), StringComparison.Ordinal);

        await using var postgres = await TestControlPlane.StartAsync(data, settings: new Dictionary<string, string?>
        {
            ["EdgeGreen:Storage:Provider"] = "Postgres",
            ["ConnectionStrings:EdgeGreen"] = connectionString,
        });
        using var client = postgres.CreateClient(adminKey);
        using var agents = await client.GetAsync(new Uri("/api/v1/agents", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, agents.StatusCode);
        var listed = Assert.Single((await agents.Content.ReadFromJsonAsync<JsonElement>()).EnumerateArray());
        Assert.Equal((agentId, "copied-agent", "NO"), (listed.GetProperty("id").GetString(), listed.GetProperty("name").GetString(), listed.GetProperty("zone").GetString()));
        Assert.Equal(energyBefore, listed.GetProperty("energyJoules").GetDouble());
        Assert.Equal(120 * 9.0, energyBefore);
        Assert.Equal(readingsBefore, await client.GetStringAsync(new Uri($"/api/v1/agents/{agentId}/{readingsPath}", UriKind.Relative)));

        // The agent resumes where it was: its credential works, and its last batch is a resend below the durable sequence.
        using (var resumed = new RawAgent(GrpcChannel.ForAddress(postgres.GrpcUrl), agentId, credential))
        {
            var ack = await resumed.SendAsync(lastBatch);
            Assert.Equal((240ul, 0u, 80u), (ack.DurableSequence, ack.Accepted, ack.Duplicates));
        }

        var copiedJob = await client.GetFromJsonAsync<JsonElement>(new Uri($"/api/v1/jobs/{jobId}", UriKind.Relative));
        Assert.Equal(("nightly-train", "burn"), (copiedJob.GetProperty("name").GetString(), copiedJob.GetProperty("kind").GetString()));
        Assert.Equal(Csv, await client.GetStringAsync(new Uri("/api/v1/datasets/credit/versions/1/content", UriKind.Relative)));
        Assert.Equal(adminKey, postgres.AdminKey);
        Assert.Empty(postgres.Errors.Entries);
    }

    [RequiresProgramFact("initdb")]
    public async Task CopyToPostgres_IntoADatabaseThatHasAgents_IsRefusedWithExitCode2_AndChangesNothing()
    {
        using var temp = new TempDirectory();
        using (var liteDb = new LiteDbDatabase(Options.Create(new StorageOptions { DataDirectory = temp.Path })))
        {
            var source = LiteDbStores(liteDb);
            await source.Agents.AddAsync(Agent("a-source"), CancellationToken.None);
            await source.Access.AddApiKeyAsync(new ApiKeyRecord("k-source", "admin", ApiKeyRole.Admin, "hash-source", T0), CancellationToken.None);
            await source.Jobs.AddAsync(Job("j-source"), CancellationToken.None);
        }

        var connectionString = await server.CreateDatabaseAsync();
        await using (var postgres = new PostgresDatabase(connectionString))
        {
            var target = PostgresStores(postgres);
            await target.Agents.AddAsync(Agent("a-target"), CancellationToken.None);
            await target.Access.AddApiKeyAsync(new ApiKeyRecord("k-target", "admin", ApiKeyRole.Admin, "hash-target", T0), CancellationToken.None);
        }

        using var output = new StringWriter();
        using var progress = new StringWriter();
        var exitCode = await CopyToPostgresCommand.RunAsync(["--data-directory", temp.Path, "--connection", connectionString], output, progress);

        Assert.Equal(2, exitCode);
        Assert.Contains("refused, nothing copied: the target already holds 1 agent;", progress.ToString(), StringComparison.Ordinal);
        await using (var postgres = new PostgresDatabase(connectionString))
        {
            var target = PostgresStores(postgres);
            Assert.Equal(["a-target"], (await target.Agents.ListAsync(CancellationToken.None)).Select(a => a.Id));
            Assert.Equal(["k-target"], (await target.Access.ListApiKeysAsync(CancellationToken.None)).Select(k => k.Id));
            Assert.Empty(await target.Jobs.ListAllAsync(CancellationToken.None).ToListAsync());
            Assert.Empty(await target.Telemetry.ListSummariesAsync(CancellationToken.None));
        }
    }

    [Fact]
    public async Task CopyToPostgres_BadArgumentsOrNoLiteDbDatabase_ExitCode2()
    {
        using var temp = new TempDirectory();
        using var output = new StringWriter();
        using var progress = new StringWriter();
        // Never reached: nothing is copied without a LiteDB database to copy from.
        const string connectionString = "Host=127.0.0.1;Port=1;Database=edgegreen;Username=edgegreen";

        Assert.Equal(2, await CopyToPostgresCommand.RunAsync(["--force"], output, progress));
        Assert.Equal(2, await CopyToPostgresCommand.RunAsync(["--data-directory", temp.Path, "--connection", connectionString], output, progress));

        Assert.Contains("cannot use '--force'", progress.ToString(), StringComparison.Ordinal);
        Assert.Contains($"there is no LiteDB database in {temp.Path}", progress.ToString(), StringComparison.Ordinal);
    }

    [RequiresProgramFact("initdb")]
    public async Task StorageCopy_CopiesEveryKindWhole_RebuildsRollups_AndNamesWhatRetentionLeftNoReadingsFor()
    {
        var cancellationToken = CancellationToken.None;
        using var temp = new TempDirectory();
        using var liteDb = new LiteDbDatabase(Options.Create(new StorageOptions { DataDirectory = temp.Path }));
        await using var postgres = new PostgresDatabase(await server.CreateDatabaseAsync());
        var (source, target) = (LiteDbStores(liteDb), PostgresStores(postgres));

        var state = new AgentReportedState("1.2.3", "Linux", ".NET 10", "ES", new Dictionary<string, string> { ["site"] = "lab" },
            [new SensorRecord("rapl", "rapl", "cpu.package", ReadingProvenance.Measured)], 8, 16L << 30, 1, ["burn", "train"])
        {
            InferenceProviders = ["CPU"],
            InferenceProvider = "CPU",
        };
        await source.Agents.AddAsync(Agent("a1"), cancellationToken);
        await source.Agents.ReportStateAsync("a1", state, T0.AddDays(3), cancellationToken);
        await source.Agents.SetZoneOverrideAsync("a1", "NO", cancellationToken);
        await source.Agents.AddAsync(Agent("a2"), cancellationToken);
        await source.Access.AddApiKeyAsync(new ApiKeyRecord("k1", "admin", ApiKeyRole.Admin, "hash-1", T0), cancellationToken);
        await source.Access.AddEnrollmentTokenAsync(new EnrollmentTokenRecord("token-hash", T0, T0.AddHours(1)), cancellationToken);
        foreach (var id in new[] { "j1", "j2", "j3" })
        {
            await source.Jobs.AddAsync(Job(id) with { Status = JobStatus.Succeeded, FinishedAt = T0.AddHours(2) }, cancellationToken);
        }

        IReadOnlyList<DatasetColumn> columns = [new("age", "numeric"), new("defaulted", "boolean")];
        await source.Datasets.AddVersionAsync("credit", new string('a', 64), 100, 10, columns, T0, cancellationToken);
        await source.Datasets.AddVersionAsync("credit", new string('b', 64), 120, 12, columns, T0.AddHours(1), cancellationToken);
        await source.Models.AddVersionAsync("churn", v => ModelVersion("churn", v, "j1"), T0, cancellationToken);
        await source.Models.AddVersionAsync("churn", v => ModelVersion("churn", v, "j2"), T0.AddHours(1), cancellationToken);
        await source.Models.UpdateModelAsync((await source.Models.GetModelAsync("churn", cancellationToken))! with
        {
            Tags = new Dictionary<string, string> { ["team"] = "risk" },
            Aliases = new Dictionary<string, int> { ["champion"] = 2 },
        }, cancellationToken);
        await source.Webhooks.AddAsync(new WebhookRecord("whk_1", "https://hooks.example.com/edgegreen", ["job.finished"], "whsec_1", T0), cancellationToken);
        var definition = new PipelineDefinition(new Dictionary<string, string?>(), TimeSpan.FromHours(1), null, null,
            [new PipelineStep("b", "burn", new Dictionary<string, string> { ["duration"] = "PT1S" }, [], null, true, 0, null, null, null, null, false, null, null)]);
        await source.Pipelines.AddVersionAsync("nightly", definition, "steps: [b]", "application/yaml", T0, cancellationToken);
        await source.Pipelines.AddVersionAsync("nightly", definition with { Deadline = TimeSpan.FromHours(2) }, "steps: [b2]", "application/yaml", T0.AddHours(1), cancellationToken);
        await source.Pipelines.AddRunAsync(new PipelineRun("run-1", "nightly", 2, new Dictionary<string, string>(), T0, T0.AddHours(2), null, null,
            PipelineRunStatus.Succeeded, [new PipelineStepRun("b", PipelineStepStatus.Succeeded) { CarbonGrams = 0.5 }], 3), cancellationToken);
        await source.Deployments.AddAsync(new EdgeGreen.ControlPlane.Core.Deployments.DeploymentRecord("digits", "models:/churn/2",
            new EdgeGreen.ControlPlane.Core.Deployments.DeploymentTarget(new Dictionary<string, string>(), ["NO"], []), 1,
            new EdgeGreen.ControlPlane.Core.Deployments.DeployedVersion("churn", 2, new string('c', 64)), null, T0, T0, 4), cancellationToken);
        await source.Pipelines.PutCacheEntryAsync(new PipelineCacheEntry("key-1", "run-1", "b", new Dictionary<string, string>(), new Dictionary<string, double>(), 10, 0.5, T0), cancellationToken);
        await source.Alerts.AddRuleAsync(StorageContract.AlertRule("credit-drift"), cancellationToken);
        await source.Alerts.SaveAlertAsync(StorageContract.Alert("credit-drift", "a1", EdgeGreen.ControlPlane.Core.Alerts.AlertState.Firing), cancellationToken);

        // Three days of a reading a minute; every tenth reading's clock ran 90 s behind, so time order is not sequence order.
        var readings = Enumerable.Range(1, 3 * 24 * 60).Select(i => new ReadingRecord(i, T0.AddMinutes(i).AddSeconds(i % 10 == 0 ? -90 : 0), TimeSpan.FromMinutes(1),
            "rapl", "cpu.package", (i % 7) + 1, ReadingProvenance.Measured)).ToList();
        foreach (var chunk in readings.Chunk(500))
        {
            await source.Telemetry.AppendAsync([new TelemetryBatch("a1", "NO", chunk, T0.AddDays(3))], cancellationToken);
        }

        // Retention deleted the first day's raw readings; its minute and hour rollups remain.
        await source.Telemetry.DeleteBeforeAsync(new RetentionCutoffs(T0.AddDays(1), null, null), cancellationToken);
        var kept = await source.Telemetry.ReadReadingsAsync("a1", null, DateTimeOffset.MinValue, DateTimeOffset.MaxValue, cancellationToken).ToListAsync();
        using var progress = new StringWriter();

        var result = await new StorageCopy(source, target, progress).RunAsync(cancellationToken);

        Assert.True(result.Verified, string.Join('\n', result.Mismatches));
        Assert.Equal(["API keys", "enrollment tokens", "agents", "jobs", "datasets", "dataset versions", "models", "model versions", "webhooks",
            "pipelines", "pipeline versions", "pipeline runs", "pipeline cache entries", "deployments", "alert rules", "alerts", "readings"], result.Counts.Select(c => c.Kind));
        Assert.Equal([1L, 1, 2, 3, 1, 2, 1, 2, 1, 1, 2, 1, 1, 1, 1, 1, kept.Count], result.Counts.Select(c => c.Target));
        Assert.Equal(4, (await target.Deployments.GetAsync("digits", cancellationToken))!.Revision);
        Assert.All(result.Counts, c => Assert.Equal(c.Source, c.Target));

        var agent = (await target.Agents.GetAsync("a1", cancellationToken))!;
        Assert.Equal(("NO", "ES", T0.AddDays(3), "cred-a1"), (agent.ZoneOverride, agent.Zone, agent.LastHeartbeatAt, agent.CredentialHash));
        Assert.Equal(state.Sensors, agent.State!.Sensors);
        Assert.Equal(("1.2.3", "CPU", 8), (agent.State.AgentVersion, agent.State.InferenceProvider, agent.State.CpuCores));
        Assert.Equal(["j1", "j2", "j3"], (await target.Jobs.ListAllAsync(cancellationToken).ToListAsync()).Select(j => j.Id).Order(StringComparer.Ordinal));
        Assert.Equal([(1, new string('a', 64)), (2, new string('b', 64))],
            (await target.Datasets.ListVersionsAsync("credit", cancellationToken)).Select(v => (v.Version, v.Sha256)));
        var model = (await target.Models.GetModelAsync("churn", cancellationToken))!;
        Assert.Equal((T0, "risk", 2), (model.CreatedAt, model.Tags["team"], model.Aliases["champion"]));
        Assert.Equal([(1, "j1"), (2, "j2")], (await target.Models.ListVersionsAsync("churn", cancellationToken)).Select(v => (v.Version, v.Lineage.JobId)));
        Assert.Equal("whsec_1", Assert.Single(await target.Webhooks.ListAsync(cancellationToken)).Secret);
        Assert.Equal(StorageContract.AlertRule("credit-drift").Notify, (await target.Alerts.GetRuleAsync("credit-drift", cancellationToken))!.Notify);
        Assert.Equal(2, Assert.Single(await target.Alerts.ListAlertsAsync(cancellationToken)).History.Count);
        Assert.Equal([(1, T0), (2, T0.AddHours(1))], (await target.Pipelines.ListVersionsAsync("nightly", cancellationToken)).Select(v => (v.Version, v.CreatedAt)));
        var run = (await target.Pipelines.GetRunAsync("run-1", cancellationToken))!;
        Assert.Equal((2, 3L, 0.5), (run.Version, run.Revision, run.Steps.Single().CarbonGrams));
        Assert.Equal("run-1", (await target.Pipelines.FindCacheEntryAsync("key-1", cancellationToken))!.RunId);
        Assert.Equal(["token-hash"], (await target.Access.ListEnrollmentTokensAsync(cancellationToken)).Select(t => t.TokenHash));

        // The kept readings arrive whole, in sequence order, and the target rebuilds their rollups.
        Assert.Equal(kept, await target.Telemetry.ReadReadingsAsync("a1", null, DateTimeOffset.MinValue, DateTimeOffset.MaxValue, cancellationToken).ToListAsync());
        var summary = (await target.Telemetry.GetSummaryAsync("a1", cancellationToken))!;
        Assert.Equal((3 * 24 * 60L, (long)kept.Count, T0.AddDays(3)), (summary.DurableSequence, summary.ReadingCount, summary.LastReceivedAt));
        foreach (var tier in new[] { TelemetryTier.Minute, TelemetryTier.Hour })
        {
            Assert.Equal(await RollupsAsync(source.Telemetry, tier, T0.AddDays(1)), await RollupsAsync(target.Telemetry, tier, T0.AddDays(1)));
        }

        // What retention left no raw readings for is named: the first day's rollups, and the agent's totals.
        var deleted = readings.Count - kept.Count;
        Assert.Contains(result.Warnings, w => w.StartsWith("agent a1 (a1-name): minute rollups: ", StringComparison.Ordinal)
            && w.Contains(string.Create(CultureInfo.InvariantCulture, $"{deleted:N0} readings"), StringComparison.Ordinal) && w.Contains("retention", StringComparison.Ordinal));
        Assert.Contains(result.Warnings, w => w.StartsWith("agent a1 (a1-name): hour rollups: ", StringComparison.Ordinal));
        Assert.Contains(result.Warnings, w => w.StartsWith("agent a1 (a1-name): the source counts 4,320 readings", StringComparison.Ordinal));
        Assert.Contains(result.Warnings, w => w.StartsWith("zone minute rollups differ", StringComparison.Ordinal) && w.Contains("zones NO", StringComparison.Ordinal));
        Assert.DoesNotContain(result.Warnings, w => w.Contains("a2", StringComparison.Ordinal));
        Assert.Contains("telemetry: agent a1 (a1-name): ", progress.ToString(), StringComparison.Ordinal);
    }

    private static async Task<List<EnergyBucket>> RollupsAsync(ITelemetryStore store, TelemetryTier tier, DateTimeOffset from) =>
        await store.ReadAgentAsync("a1", null, tier, from, T0.AddDays(4), CancellationToken.None).ToListAsync();

    private static StoreSet LiteDbStores(LiteDbDatabase database) => new(
        new LiteDbAgentStore(database), new LiteDbTelemetryStore(database), new LiteDbAccessStore(database), new LiteDbJobStore(database),
        new LiteDbDatasetStore(database), new LiteDbModelStore(database), new LiteDbWebhookStore(database), new LiteDbPipelineStore(database), new LiteDbDeploymentStore(database),
        new LiteDbAlertStore(database));

    private static StoreSet PostgresStores(PostgresDatabase database) => new(
        new PostgresAgentStore(database), new PostgresTelemetryStore(database), new PostgresAccessStore(database), new PostgresJobStore(database),
        new PostgresDatasetStore(database), new PostgresModelStore(database), new PostgresWebhookStore(database), new PostgresPipelineStore(database), new PostgresDeploymentStore(database),
        new PostgresAlertStore(database));

    private static AgentRecord Agent(string id) =>
        new(id, id + "-name", "ES", new Dictionary<string, string> { ["site"] = "lab" }, "cred-" + id, T0, null, null);

    private static JobRecord Job(string id) => new(
        id, "train", "burn", new Dictionary<string, string> { ["duration"] = "PT1H" }, T0, T0, T0.AddHours(8), TimeSpan.FromHours(1), EstimateSource.Submitted,
        120.5, EstimateSource.History, new JobResources(2, 1 << 30, 0), new JobPlacement(new Dictionary<string, string>(), []), true, null, null, JobStatus.Pending);

    private static ModelVersionRecord ModelVersion(string name, int version, string jobId) => new(
        name, version, ModelVersionStatus.Ready, null, T0.AddHours(version), new string('c', 64), 4096, "onnx",
        [new ModelTensor("features", "float", [-1, 4])], [new ModelTensor("label", "int64", [-1])],
        new Dictionary<string, double> { ["auc"] = 0.8 },
        new ModelLineage(jobId, "credit", 2, new string('b', 64), "FastTree", new Dictionary<string, string>()),
        new ModelSustainability(3600, 0.5, 180.25, null),
        new Dictionary<string, string>());

    private static Reading Reading(ulong sequence, DateTimeOffset time, string domain, double energyJoules) => new()
    {
        Sequence = sequence,
        Time = Timestamp.FromDateTimeOffset(time),
        Interval = Duration.FromTimeSpan(TimeSpan.FromSeconds(1)),
        SensorId = "raw",
        Domain = domain,
        EnergyJoules = energyJoules,
        Provenance = Provenance.Measured,
    };
}
