using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using EdgeGreen.Contracts.V1;
using EdgeGreen.ControlPlane.Core.Monitoring;
using EdgeGreen.ControlPlane.Core.Storage;
using EdgeGreen.ControlPlane.Tests.Registry;
using Google.Protobuf.WellKnownTypes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace EdgeGreen.ControlPlane.Tests.Monitoring;

/// <summary>
/// Models in production on the single-node system: a credit model trained by the local agent, its
/// reference made from its training dataset version; drift of traffic with one feature shifted
/// (reported over gRPC the way agents bin it, and served by the local agent itself); labels and
/// performance; an A/B experiment that reaches its decision on feedback with a known effect; and the
/// whole walk in one: drift → an alert at a webhook → a retraining run planned inside its deadline → an experiment's decision.
/// </summary>
public sealed class MonitoringEndToEndTests : IAsyncLifetime
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(180);

    /// <summary>Trains the credit model again, as a retraining policy's pipeline.</summary>
    private const string RetrainYaml = """
        deadline: P1D
        steps:
          - name: train
            kind: train
            parameters: {dataset: credit, label: default.payment.next.month, task: binary, trainer: fasttree, ignore: ID, registerAs: credit-default}
            estimatedDuration: PT2M
            estimatedPowerWatts: 20
        """;
    private readonly TempDirectory _temp = new();
    private TestControlPlane _controlPlane = null!;

    public async Task InitializeAsync() => _controlPlane = await TestControlPlane.StartAsync(_temp.Path, localAgent: true, settings: new Dictionary<string, string?>
    {
        ["EdgeGreen:Scheduling:DispatchInterval"] = "00:00:00.200",
        ["EdgeGreen:LocalAgent:Monitoring:SendInterval"] = "00:00:01",
        ["EdgeGreen:Alerts:EvaluationInterval"] = "00:00:00.500",
        ["EdgeGreen:Deployments:RetrainingInterval"] = "00:00:01",
        // The end-to-end test's webhook receiver listens on loopback, which the default refuses.
        ["EdgeGreen:Outbound:AllowedNetworks:0"] = "127.0.0.0/8",
        // The experiment's simulated clients send a few thousand requests within seconds.
        ["EdgeGreen:Limits:KeyedRequestsPerMinute"] = "600000",
        ["EdgeGreen:Limits:AddressRequestsPerMinute"] = "600000",
    });

    [Fact]
    public async Task Summaries_OneFeatureShifted_DriftFlagsThatFeatureAlone_ResendsCountOnce_AndMalformedOnesAreRefusedAndCounted()
    {
        using var client = _controlPlane.CreateClient(_controlPlane.AdminKey);
        await CreditSample.UploadAndWaitForLocalAgentAsync(client);
        await TrainAsync(client);
        using (var put = await client.PutAsJsonAsync("/api/v1/deployments/credit", new { model = "models:/credit-default/1", target = new { zones = new[] { "ES" } } }))
        {
            Assert.Equal(HttpStatusCode.Created, put.StatusCode);
        }

        // The reference: the version's training data, binned per input the model takes, and the model's own probabilities over it.
        var version = (await _controlPlane.Service<IModelStore>().GetVersionAsync("credit-default", 1, CancellationToken.None))!;
        var reference = (await _controlPlane.Service<ReferenceProfiles>().GetAsync(version, CancellationToken.None))!;
        Assert.Equal(("credit", 1, 30_000L), (reference.Dataset, reference.DatasetVersion, reference.Rows));
        Assert.Equal(23, reference.Inputs.Count);
        Assert.Equal(BinningKind.EqualWidth, reference.Input("LIMIT_BAL")!.Binning.Kind);
        Assert.Equal([1.0, 2.0], reference.Input("SEX")!.Binning.Values.ToArray());
        var probability = Assert.Single(reference.Outputs);
        Assert.Equal("Probability.output", probability.Name);
        Assert.InRange(probability.Reference.Moments.Mean, 0.15, 0.3);

        // Agents are told how to bin in the heartbeat's answer.
        using var agent = await RawAgent.EnrolAsync(_controlPlane);
        var desired = await _controlPlane.Service<Core.Deployments.DeploymentCatalog>().DesiredForAsync(agent.AgentId, CancellationToken.None);
        var profile = Assert.Single(Assert.Single(desired).Versions).Monitoring;
        Assert.Equal(23, profile.Inputs.Count);
        Assert.Equal(TimeSpan.FromMinutes(1), profile.Window.ToTimeSpan());

        // Two windows of served rows like the training data, then one where LIMIT_BAL is three times larger.
        var rows = ReadRows();
        var now = DateTimeOffset.UtcNow;
        var minute = new DateTimeOffset(now.Year, now.Month, now.Day, now.Hour, now.Minute, 0, TimeSpan.Zero);
        var windows = new[]
        {
            Summary("w1", minute.AddMinutes(-2), profile, rows.Take(4000), shift: null),
            Summary("w2", minute.AddMinutes(-1), profile, rows.Skip(4000).Take(4000), shift: null),
        };
        var taken = await agent.Monitoring.ReportInferenceAsync(new ReportInferenceRequest { Summaries = { windows } }, agent.Headers);
        Assert.Equal((2u, 0u, 0u, 0u), (taken.Accepted, taken.Duplicates, taken.Rejected, taken.FeaturesDropped));

        var before = await DriftAsync(client);
        Assert.Equal(8000, before.GetProperty("inferences").GetInt64());
        Assert.Equal(0, before.GetProperty("driftedFeatures").GetInt32());
        Assert.All(Features(before), f => Assert.True(f.GetProperty("score").GetDouble() < DriftScores.PsiThreshold, $"{f}"));

        var shifted = Summary("w3", minute, profile, rows.Skip(8000).Take(8000), shift: "LIMIT_BAL");
        var malformed = Summary("w4", minute, profile, rows.Take(10), shift: null);
        malformed.FailedRequests = malformed.Requests + 1;
        taken = await agent.Monitoring.ReportInferenceAsync(new ReportInferenceRequest { Summaries = { shifted, windows[0], malformed } }, agent.Headers);
        Assert.Equal((1u, 1u, 1u), (taken.Accepted, taken.Duplicates, taken.Rejected));
        Assert.Contains("w4", taken.FirstRejection, StringComparison.Ordinal);

        var after = await DriftAsync(client);
        Assert.Equal(16_000, after.GetProperty("inferences").GetInt64());
        var drifted = Features(after).Where(f => f.GetProperty("drifted").GetBoolean()).Select(f => f.GetProperty("name").GetString()).ToList();
        Assert.Equal(["LIMIT_BAL"], drifted);
        var limit = Features(after).Single(f => f.GetProperty("name").GetString() == "LIMIT_BAL");
        Assert.Equal("psi", limit.GetProperty("method").GetString());
        Assert.Equal(["psi", "ks", "wasserstein"], limit.GetProperty("tests").EnumerateArray().Select(t => t.GetProperty("method").GetString()));
        Assert.True(limit.GetProperty("currentMean").GetDouble() > 1.5 * limit.GetProperty("referenceMean").GetDouble());
        Assert.Equal(("credit", 1), (after.GetProperty("reference").GetProperty("dataset").GetString(), after.GetProperty("reference").GetProperty("version").GetInt32()));
        Assert.False(after.GetProperty("datasetDrift").GetBoolean());

        // Kolmogorov–Smirnov chosen instead: LIMIT_BAL's p-value is far below 0.05.
        var ks = Features(await DriftAsync(client, "&method=ks")).Single(f => f.GetProperty("name").GetString() == "LIMIT_BAL");
        Assert.True(ks.GetProperty("drifted").GetBoolean());
        Assert.True(ks.GetProperty("score").GetDouble() < 1e-6);

        // An agent reports only for deployments it is a target of: this one serves Norway, and the agent is in Spain.
        using (var other = await client.PutAsJsonAsync("/api/v1/deployments/credit-no", new { model = "models:/credit-default/1", target = new { zones = new[] { "NO" } } }))
        {
            Assert.Equal(HttpStatusCode.Created, other.StatusCode);
        }

        var foreign = Summary("w5", minute, profile, rows.Take(100), shift: "PAY_0");
        foreign.Deployment = "credit-no";
        taken = await agent.Monitoring.ReportInferenceAsync(new ReportInferenceRequest { Summaries = { foreign } }, agent.Headers);
        Assert.Equal((0u, 1u), (taken.Accepted, taken.Rejected));
        Assert.Contains("is not a target of deployment 'credit-no'", taken.FirstRejection, StringComparison.Ordinal);
        Assert.Equal(0, (await client.GetFromJsonAsync<JsonElement>("/api/v1/deployments/credit-no/drift?window=PT1H")).GetProperty("inferences").GetInt64());

        Assert.Equal(HttpStatusCode.BadRequest, (await client.GetAsync("/api/v1/deployments/credit/drift?window=PT5M")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync("/api/v1/deployments/nothing/drift")).StatusCode);
    }

    [Fact]
    public async Task LocalAgent_ServingTheCreditModel_SummarisesItsTraffic_AndDriftFlagsTheShiftedFeatureAlone()
    {
        using var client = _controlPlane.CreateClient(_controlPlane.AdminKey);
        await CreditSample.UploadAndWaitForLocalAgentAsync(client);
        await TrainAsync(client);
        using (var put = await client.PutAsJsonAsync("/api/v1/deployments/credit", new
        {
            model = "models:/credit-default/1",
            target = new { zones = new[] { "ES" } },
            monitoring = new { window = "PT10S", sampleRate = 1.0, sampleSize = 5 },
        }))
        {
            Assert.Equal(HttpStatusCode.Created, put.StatusCode);
        }

        // Traffic like the training data but for LIMIT_BAL, three times larger: 20 requests of 100 rows, each with an id.
        var rows = ReadRows().Skip(1000).Take(2000).ToList();
        var requests = await SendShiftedTrafficAsync(client, rows);

        var drift = await DriftAsync(client);
        Assert.Equal(["LIMIT_BAL"], Features(drift).Where(f => f.GetProperty("drifted").GetBoolean()).Select(f => f.GetProperty("name").GetString()));
        Assert.Equal(23, Features(drift).Count(f => f.GetProperty("currentCount").GetInt64() >= 2000));
        var prediction = drift.GetProperty("prediction");
        Assert.Equal("Probability.output", prediction.GetProperty("name").GetString());
        Assert.True(prediction.GetProperty("currentCount").GetInt64() >= 2000);

        // Requests with an id left their prediction for labels sent later; the sample kept raw rows.
        var store = _controlPlane.Service<IMonitoringStore>();
        var logged = await store.FindPredictionsAsync("credit", [.. Enumerable.Range(0, requests).Select(i => $"req-{i}")], CancellationToken.None);
        Assert.NotEmpty(logged);
        Assert.All(logged, p => Assert.InRange(p.Value, 0, 1));
        var samples = await store.ListSamplesAsync("credit", DateTimeOffset.UtcNow.AddHours(-1), DateTimeOffset.UtcNow.AddMinutes(1), 100, CancellationToken.None);
        Assert.NotEmpty(samples);
        Assert.Contains("LIMIT_BAL", samples[0].Inputs.Keys);

        // Labels arrive later: each request's first row's true label, joined by the request id.
        var feedback = Enumerable.Range(0, requests).Select(i => new { requestId = $"req-{i}", label = rows[i % 20 * 100]["default.payment.next.month"] })
            .Append(new { requestId = "never-served", label = 1.0 }).ToList();
        using (var posted = await client.PostAsJsonAsync("/api/v1/deployments/credit/feedback", feedback))
        {
            Assert.Equal(HttpStatusCode.OK, posted.StatusCode);
            var joined = await posted.Content.ReadFromJsonAsync<JsonElement>();
            Assert.Equal(logged.Count, joined.GetProperty("joined").GetInt32());
            Assert.Contains("never-served", joined.GetProperty("unmatched").EnumerateArray().Select(u => u.GetString()));
        }

        var performance = await client.GetFromJsonAsync<JsonElement>("/api/v1/deployments/credit/performance?window=PT1H");
        Assert.Equal("binary", performance.GetProperty("task").GetString());
        var measured = performance.GetProperty("measured");
        Assert.Equal(logged.Count, measured.GetProperty("labelled").GetInt64());
        Assert.InRange(measured.GetProperty("accuracy").GetDouble(), 0, 1);
        var estimated = performance.GetProperty("estimated");
        Assert.Equal("cbpe", estimated.GetProperty("method").GetString());
        Assert.InRange(estimated.GetProperty("accuracy").GetDouble(), 0.5, 1);
        Assert.NotEmpty(performance.GetProperty("hours").EnumerateArray());

        // Bad feedback is refused naming the item, and changes nothing.
        using var bad = await client.PostAsJsonAsync("/api/v1/deployments/credit/feedback", new object[] { new { requestId = "req-0", label = 1 }, new { requestId = "req-1" } });
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Contains("[1].label", await bad.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, (await client.PostAsJsonAsync("/api/v1/deployments/nothing/feedback", feedback)).StatusCode);
    }

    [Fact]
    public async Task Experiment_TreatmentConvertsBetterInFeedback_DecidesTreatmentBetter_AndConcludingServesIt()
    {
        using var client = await TrainedTwiceAsync();
        using (var put = await client.PutAsJsonAsync("/api/v1/deployments/credit", new
        {
            model = "models:/credit-default/1", target = new { zones = new[] { "ES" } }, monitoring = new { window = "PT10S", sampleRate = 0.0 },
        }))
        {
            Assert.Equal(HttpStatusCode.Created, put.StatusCode);
        }

        using (var started = await client.PostAsJsonAsync("/api/v1/experiments", new
        {
            name = "sdca-vs-trees", deployment = "credit", control = "models:/credit-default/1", treatment = "models:/credit-default/2", trafficPercent = 50,
            metric = new { source = "feedback", kind = "proportion", name = "repaid" }, alpha = 0.05, minimumDetectableEffect = 0.05,
        }))
        {
            Assert.Equal(HttpStatusCode.Created, started.StatusCode);
            Assert.Equal("continue", (await started.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("decision").GetString());
        }

        // Changing the model while the experiment splits the traffic is refused.
        using (var change = await client.PutAsJsonAsync("/api/v1/deployments/credit", new { model = "models:/credit-default/2", target = new { zones = new[] { "ES" } } }))
        {
            Assert.Equal(HttpStatusCode.BadRequest, change.StatusCode);
        }

        var answeredBy = await SimulateFeedbackAsync(client, treatment: 2);
        Assert.InRange(answeredBy.Values.Count(v => v == 2), 600, 1000);

        var result = await client.GetFromJsonAsync<JsonElement>("/api/v1/experiments/sdca-vs-trees");
        AssertTreatmentBetter(result, control: 1, treatment: 2);

        using (var concluded = await client.PostAsync("/api/v1/experiments/sdca-vs-trees/conclude", null))
        {
            Assert.Equal(HttpStatusCode.OK, concluded.StatusCode);
            var body = await concluded.Content.ReadFromJsonAsync<JsonElement>();
            Assert.Equal("concluded", body.GetProperty("experiment").GetProperty("status").GetString());
        }

        var deployment = await client.GetFromJsonAsync<JsonElement>("/api/v1/deployments/credit");
        Assert.Equal((2, 1), (deployment.GetProperty("currentVersion").GetInt32(), deployment.GetProperty("previousVersion").GetInt32()));
        Assert.Contains(deployment.GetProperty("history").EnumerateArray(), h => h.GetProperty("kind").GetString() == "experiment-concluded");
        Assert.Equal(HttpStatusCode.Conflict, (await client.PostAsync("/api/v1/experiments/sdca-vs-trees/conclude", null)).StatusCode);
        using var again = await client.PostAsJsonAsync("/api/v1/experiments", new
        {
            name = "sdca-vs-trees", deployment = "credit", control = "models:/credit-default/2", treatment = "models:/credit-default/1", trafficPercent = 10,
            metric = new { source = "feedback", kind = "proportion" }, minimumDetectableEffect = 0.05,
        });
        Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
    }

    [Fact]
    public async Task EndToEnd_ShiftedTraffic_DriftAlertsAWebhook_RetrainingIsPlannedInsideItsDeadline_AndAnExperimentDecides()
    {
        using var client = await TrainedTwiceAsync();

        // The retraining pipeline trains the credit model again; the policy runs it when LIMIT_BAL drifts, within a day.
        using (var yaml = new StringContent(RetrainYaml, System.Text.Encoding.UTF8, "application/yaml"))
        using (var pipeline = await client.PutAsync("/api/v1/pipelines/retrain-credit", yaml))
        {
            Assert.Equal(HttpStatusCode.Created, pipeline.StatusCode);
        }

        using (var put = await client.PutAsJsonAsync("/api/v1/deployments/credit", new
        {
            model = "models:/credit-default/1",
            target = new { zones = new[] { "ES" } },
            monitoring = new { window = "PT10S", sampleRate = 0.0 },
            retraining = new
            {
                pipeline = "retrain-credit", deadline = "P1D", cooldown = "P1D", carbonBudgetGrams = 50,
                triggers = new[] { new { drift = new { features = new[] { "LIMIT_BAL" } } } },
            },
        }))
        {
            Assert.Equal(HttpStatusCode.Created, put.StatusCode);
        }

        // The alert goes to a signed webhook on loopback (allowed for this test by EdgeGreen:Outbound:AllowedNetworks).
        var hooks = new ConcurrentQueue<(IReadOnlyDictionary<string, string> Headers, byte[] Body)>();
        await using var receiver = await StubServer.StartAsync(routes => routes.MapPost("/hook", async (HttpRequest request) =>
        {
            using var body = new MemoryStream();
            await request.Body.CopyToAsync(body);
            hooks.Enqueue((request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase), body.ToArray()));
            return Results.Ok();
        }));
        string secret;
        using (var rule = await client.PostAsJsonAsync("/api/v1/alert-rules", new
        {
            name = "credit-drift", condition = new { drift = new { deployment = "credit", window = "PT1H" } }, severity = "warning",
            notify = new[] { new { webhook = new { url = new Uri(receiver.Url, "hook") } } },
        }))
        {
            Assert.Equal(HttpStatusCode.Created, rule.StatusCode);
            secret = (await rule.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("notify")[0].GetProperty("webhook").GetProperty("secret").GetString()!;
        }

        Assert.Empty(hooks);
        var sentAt = DateTimeOffset.UtcNow;
        await SendShiftedTrafficAsync(client, [.. ReadRows().Skip(1000).Take(2000)]);

        // Drift flags the shifted feature and no other.
        var drift = await DriftAsync(client);
        Assert.Equal(["LIMIT_BAL"], Features(drift).Where(f => f.GetProperty("drifted").GetBoolean()).Select(f => f.GetProperty("name").GetString()));

        // The alert fires and reaches the webhook, signed with the rule's secret.
        await Eventually.WaitUntilAsync(() => !hooks.IsEmpty, Patience, () => $"the drift alert reaches the webhook\n{_controlPlane.Errors.Recent}");
        var (headers, payload) = hooks.First();
        Assert.Equal("alert.firing", headers["X-EdgeGreen-Event"]);
        Assert.Equal("sha256=" + Core.Webhooks.WebhookDispatcher.Sign(secret, payload), headers["X-EdgeGreen-Signature"]);
        var data = JsonDocument.Parse(payload).RootElement.GetProperty("data");
        Assert.Equal(("credit-drift", "drift", "credit"), (data.GetProperty("rule").GetString(), data.GetProperty("condition").GetString(),
            data.GetProperty("labels").GetProperty("deployment").GetString()));
        Assert.Contains("LIMIT_BAL", data.GetProperty("summary").GetString(), StringComparison.Ordinal);
        var firing = Assert.Single((await client.GetFromJsonAsync<JsonElement>("/api/v1/alerts?state=firing")).EnumerateArray());
        Assert.Equal("credit-drift", firing.GetProperty("rule").GetString());

        // The retraining policy started a run of its pipeline, each step planned inside the policy's deadline.
        JsonElement deployment = default;
        await Eventually.WaitUntilAsync(async () =>
        {
            deployment = await client.GetFromJsonAsync<JsonElement>("/api/v1/deployments/credit");
            return deployment.TryGetProperty("lastRetraining", out var last) && last.ValueKind == JsonValueKind.Object;
        }, Patience, () => $"the retraining policy starts a run: {deployment}");
        var lastRetraining = deployment.GetProperty("lastRetraining");
        var runId = lastRetraining.GetProperty("runId").GetString()!;
        Assert.Equal("drift: feature 'LIMIT_BAL' drifted over P1D", lastRetraining.GetProperty("trigger").GetString());
        Assert.Contains(deployment.GetProperty("history").EnumerateArray(),
            h => h.GetProperty("kind").GetString() == "retraining-started" && h.GetProperty("message").GetString()!.Contains(runId, StringComparison.Ordinal));
        var startedAt = lastRetraining.GetProperty("startedAt").GetDateTimeOffset();
        Assert.InRange(startedAt, sentAt, DateTimeOffset.UtcNow);
        // The deployment records the start before the run is stored (so that no trigger starts two runs), and the run is planned once stored.
        JsonElement run = default;
        await Eventually.WaitUntilAsync(async () =>
        {
            using var response = await client.GetAsync($"/api/v1/pipelines/retrain-credit/runs/{runId}");
            run = response.StatusCode == HttpStatusCode.OK ? await response.Content.ReadFromJsonAsync<JsonElement>() : default;
            return run.ValueKind == JsonValueKind.Object && run.GetProperty("steps")[0].GetProperty("plannedStart").ValueKind == JsonValueKind.String;
        }, Patience, () => $"run {runId} is stored and planned: {run}");
        var deadline = run.GetProperty("deadline").GetDateTimeOffset();
        // Due a day after the run was made, a moment after the check that started it.
        Assert.InRange(deadline, startedAt + TimeSpan.FromDays(1), startedAt + TimeSpan.FromDays(1) + TimeSpan.FromMinutes(1));
        Assert.Equal(50, run.GetProperty("carbonBudgetGrams").GetDouble());
        var train = Assert.Single(run.GetProperty("steps").EnumerateArray());
        var plannedStart = train.GetProperty("plannedStart").GetDateTimeOffset();
        Assert.True(plannedStart >= startedAt.AddMinutes(-1) && plannedStart + TimeSpan.FromMinutes(2) <= deadline,
            $"the train step is planned at {plannedStart:O}, inside [{startedAt:O}, {deadline:O}]");

        // The run is not needed further here; cancelling it leaves the models as they are for the experiment.
        using (var cancelled = await client.PostAsync($"/api/v1/pipelines/retrain-credit/runs/{runId}/cancel", null))
        {
            // A run planned for now may already have trained and finished (409): either way it changes nothing below.
            Assert.True(cancelled.StatusCode is HttpStatusCode.OK or HttpStatusCode.Conflict, $"{cancelled.StatusCode}: {await cancelled.Content.ReadAsStringAsync()}");
        }

        // An experiment between the two trained versions decides on simulated feedback with a known effect (+0.15).
        using (var started = await client.PostAsJsonAsync("/api/v1/experiments", new
        {
            name = "retrained", deployment = "credit", control = "models:/credit-default/1", treatment = "models:/credit-default/2", trafficPercent = 50,
            metric = new { source = "feedback", kind = "proportion", name = "repaid" }, alpha = 0.05, minimumDetectableEffect = 0.05,
        }))
        {
            Assert.Equal(HttpStatusCode.Created, started.StatusCode);
        }

        await SimulateFeedbackAsync(client, treatment: 2);
        AssertTreatmentBetter(await client.GetFromJsonAsync<JsonElement>("/api/v1/experiments/retrained"), control: 1, treatment: 2);

        // The labels also measure the current version's accuracy: a rule on it fires, naming the measured figure.
        using (var rule = await client.PostAsJsonAsync("/api/v1/alert-rules", new
        {
            name = "credit-accuracy", condition = new { performance = new { deployment = "credit", window = "PT1H", metric = "accuracy", below = 0.95 } },
        }))
        {
            Assert.Equal(HttpStatusCode.Created, rule.StatusCode);
        }

        JsonElement accuracy = default;
        await Eventually.WaitUntilAsync(async () =>
        {
            var alerts = await client.GetFromJsonAsync<JsonElement>("/api/v1/alerts?state=firing");
            accuracy = alerts.EnumerateArray().FirstOrDefault(a => a.GetProperty("rule").GetString() == "credit-accuracy");
            return accuracy.ValueKind == JsonValueKind.Object;
        }, Patience, "the accuracy alert fires");
        Assert.InRange(accuracy.GetProperty("value").GetDouble(), 0.5, 0.95);
        Assert.Contains("measured on", accuracy.GetProperty("summary").GetString(), StringComparison.Ordinal);
    }

    /// <summary>
    /// Sends traffic like <paramref name="rows"/> but for LIMIT_BAL, three times larger (requests of 100 rows, ids <c>req-N</c>),
    /// until the deployment's drift report covers 2,000 served rows; the number of requests sent.
    /// </summary>
    private static async Task<int> SendShiftedTrafficAsync(HttpClient client, List<Dictionary<string, double>> rows)
    {
        var inputs = await InputsAsync(client);
        await Eventually.WaitUntilAsync(async () => (await client.GetAsync("/v2/models/credit/ready")).StatusCode == HttpStatusCode.OK, Patience, "the local agent serves credit");
        var sent = 0;
        var requests = 0;
        await Eventually.WaitUntilAsync(async () =>
        {
            // Until the agent has the deployment's profile (the heartbeat after the reference is made) nothing is summarised;
            // the report shows what arrived, so the traffic goes on until the summaries cover 2,000 rows.
            var report = await DriftAsync(client);
            if (report.GetProperty("inferences").GetInt64() >= 2000)
            {
                return true;
            }

            var batch = rows.Skip(requests % (rows.Count / 100) * 100).Take(100).ToList();
            var body = new
            {
                id = $"req-{requests}",
                inputs = inputs.Select(name => new
                {
                    name, datatype = "FP32", shape = new[] { batch.Count, 1 },
                    data = batch.Select(r => (float)(r[name] * (name == "LIMIT_BAL" ? 3 : 1))).ToArray(),
                }),
            };
            using var inferred = await client.PostAsJsonAsync("/v2/models/credit/infer", body);
            Assert.Equal(HttpStatusCode.OK, inferred.StatusCode);
            (sent, requests) = (sent + batch.Count, requests + 1);
            return false;
        }, Patience, () => $"the agent's summaries cover 2,000 served rows ({sent} sent in {requests} requests)");
        return requests;
    }

    /// <summary>
    /// Clients (one request key each, so each stays with one version) send one row each; the label a request gets depends on the
    /// version that answered it: 20 % of control's requests "convert", 35 % of <paramref name="treatment"/>'s. Warm-up traffic
    /// first, until both versions' predictions are kept; then 1,600 requests, whose labels are sent until all have joined.
    /// Which version answered each request.
    /// </summary>
    private async Task<Dictionary<string, int>> SimulateFeedbackAsync(HttpClient client, int treatment)
    {
        var rows = ReadRows();
        var inputs = await InputsAsync(client);
        await Eventually.WaitUntilAsync(async () => (await client.GetAsync($"/v2/models/credit/versions/{treatment}/ready")).StatusCode == HttpStatusCode.OK, Patience,
            "the local agent serves both versions");
        async Task<int> InferAsync(string id, Dictionary<string, double> row)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/v2/models/credit/infer")
            {
                Content = JsonContent.Create(new
                {
                    id,
                    inputs = inputs.Select(name => new { name, datatype = "FP32", shape = new[] { 1, 1 }, data = new[] { (float)row[name] } }),
                }),
            };
            request.Headers.Add("EdgeGreen-Request-Key", $"client-{id}");
            using var answer = await client.SendAsync(request);
            Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
            return int.Parse((await answer.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("model_version").GetString()!, CultureInfo.InvariantCulture);
        }

        // Both versions' monitors are on once the agent has their profiles (a heartbeat after each reference
        // is made): until their predictions are kept, warm-up traffic only.
        var store = _controlPlane.Service<IMonitoringStore>();
        var warmUp = 0;
        await Eventually.WaitUntilAsync(async () =>
        {
            for (var i = 0; i < 20; i++, warmUp++)
            {
                await InferAsync($"warm-{warmUp}", rows[warmUp % rows.Count]);
            }

            var kept = await store.ListPredictionsAsync("credit", DateTimeOffset.UtcNow.AddHours(-1), DateTimeOffset.UtcNow.AddMinutes(1), 10_000, CancellationToken.None);
            return kept.Any(p => p.Version != treatment) && kept.Any(p => p.Version == treatment);
        }, Patience, () => $"both versions' predictions kept ({warmUp} warm-up requests)");

        var random = new Random(7);
        var labels = new List<object>();
        var answeredBy = new Dictionary<string, int>();
        for (var i = 0; i < 1600; i++)
        {
            var version = await InferAsync($"x-{i}", rows[i]);
            answeredBy[$"x-{i}"] = version;
            labels.Add(new { requestId = $"x-{i}", label = random.NextDouble() < (version == treatment ? 0.35 : 0.2) ? 1 : 0 });
        }

        // Labels arrive once the agent's summaries carried the predictions: send until all have joined.
        var joined = 0;
        await Eventually.WaitUntilAsync(async () =>
        {
            using var posted = await client.PostAsJsonAsync("/api/v1/deployments/credit/feedback", labels);
            joined = (await posted.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("joined").GetInt32();
            return joined == labels.Count;
        }, Patience, () => $"every label joined ({joined} of {labels.Count})");
        return answeredBy;
    }

    /// <summary>The experiment found the simulated +0.15 (20 % against 35 %): treatment better, its interval holding the effect and excluding 0.</summary>
    private static void AssertTreatmentBetter(JsonElement result, int control, int treatment)
    {
        Assert.Equal("treatment-better", result.GetProperty("decision").GetString());
        Assert.True(result.GetProperty("pValue").GetDouble() <= 0.05);
        var sequence = result.GetProperty("confidenceSequence").EnumerateArray().Select(v => v.GetDouble()).ToList();
        Assert.True(sequence[0] > 0 && sequence[0] < 0.15 && sequence[1] > 0.15, $"the interval [{sequence[0]}, {sequence[1]}] holds the true +0.15 and excludes 0");
        var variants = result.GetProperty("variants").EnumerateArray().ToList();
        Assert.Equal([control, treatment], variants.Select(v => v.GetProperty("version").GetInt32()));
        Assert.InRange(variants[0].GetProperty("value").GetDouble(), 0.15, 0.25);
        Assert.InRange(variants[1].GetProperty("value").GetDouble(), 0.3, 0.4);
        Assert.All(variants, v => Assert.True(v.GetProperty("energyPer1kInferencesJoules").GetDouble() > 0));
        Assert.All(variants, v => Assert.True(v.GetProperty("carbonPer1kInferencesGrams").GetDouble() > 0));
    }

    /// <summary>An admin client, with the credit sample uploaded and trained on by the local agent: version 1 with trees, version 2 with SDCA.</summary>
    private async Task<HttpClient> TrainedTwiceAsync()
    {
        var client = _controlPlane.CreateClient(_controlPlane.AdminKey);
        await CreditSample.UploadAndWaitForLocalAgentAsync(client);
        await TrainAsync(client);
        await TrainAsync(client, trainer: "sdca");
        return client;
    }

    private static async Task<List<string>> InputsAsync(HttpClient client) =>
        [.. (await client.GetFromJsonAsync<JsonElement>("/api/v1/models/credit-default/versions/1")).GetProperty("inputs").EnumerateArray()
            .Select(i => i.GetProperty("name").GetString()!)];

    private static async Task TrainAsync(HttpClient client, string trainer = "fasttree")
    {
        using var submitted = await client.PostAsJsonAsync("/api/v1/jobs", new
        {
            name = "credit-train",
            kind = "train",
            estimatedDuration = "PT2M",
            parameters = new Dictionary<string, object>
            {
                ["dataset"] = "credit", ["label"] = "default.payment.next.month", ["task"] = "binary", ["trainer"] = trainer, ["ignore"] = "ID",
                ["registerAs"] = "credit-default",
            }.Concat(trainer == "sdca"
                // SDCA left to converge runs its threads in lockstep for minutes on a busy two-core machine; ten passes make a model enough for these tests.
                ? [new KeyValuePair<string, object>("hyperparameters.maximumNumberOfIterations", "10")]
                : []).ToDictionary(),
        });
        Assert.Equal(HttpStatusCode.Created, submitted.StatusCode);
        var jobId = (await submitted.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString();
        JsonElement job = default;
        await Eventually.WaitUntilAsync(async () =>
        {
            job = await client.GetFromJsonAsync<JsonElement>($"/api/v1/jobs/{jobId}");
            return job.GetProperty("status").GetString() is "succeeded" or "failed" or "cancelled";
        }, Patience, () => $"the credit model trained: {job}");
        Assert.True(job.GetProperty("status").GetString() == "succeeded", $"{job}");
    }

    private static async Task<JsonElement> DriftAsync(HttpClient client, string query = "")
    {
        using var response = await client.GetAsync($"/api/v1/deployments/credit/drift?window=PT1H{query}");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    private static IEnumerable<JsonElement> Features(JsonElement report) => report.GetProperty("features").EnumerateArray();

    /// <summary>The sample's feature columns, row by row, as the model takes them.</summary>
    private static List<Dictionary<string, double>> ReadRows()
    {
        var lines = File.ReadAllLines(Path.Combine(AppContext.BaseDirectory, "Datasets", "Sample", "UCI_Credit_Card.csv"));
        var header = lines[0].Split(',').Select(h => h.Trim('"')).ToArray();
        return [.. lines.Skip(1).Select(line => line.Split(',')
            .Select((value, i) => (header[i], double.Parse(value.Trim('"'), CultureInfo.InvariantCulture)))
            .ToDictionary(p => p.Item1, p => p.Item2))];
    }

    /// <summary>A window's summary binned the way the profile tells agents to (open outer bins), one row per request.</summary>
    private static InferenceSummary Summary(string id, DateTimeOffset start, MonitoringProfile profile, IEnumerable<Dictionary<string, double>> rows, string? shift)
    {
        var served = rows.ToList();
        var summary = new InferenceSummary
        {
            Id = id, Deployment = "credit", Model = "credit-default", Version = 1, WindowStart = Timestamp.FromDateTimeOffset(start),
            Window = Duration.FromTimeSpan(TimeSpan.FromMinutes(1)), Requests = (ulong)served.Count, Inferences = (ulong)served.Count, EnergyJoules = 1.5,
        };
        foreach (var bins in profile.Inputs)
        {
            var values = served.Select(r => (double)(float)(r[bins.Name] * (bins.Name == shift ? 3 : 1))).ToList();
            var feature = new FeatureSummary
            {
                Name = bins.Name, Count = (ulong)values.Count, Sum = values.Sum(), SumOfSquares = values.Sum(v => v * v), Min = values.Min(), Max = values.Max(),
            };
            var counts = new ulong[bins.Edges.Count - 1];
            foreach (var value in values)
            {
                // Bin i holds [e_i, e_(i+1)); the first bin reaches down to −∞ and the last up to +∞.
                var bin = 0;
                while (bin < counts.Length - 1 && value >= bins.Edges[bin + 1])
                {
                    bin++;
                }

                counts[bin]++;
            }

            feature.Counts.Add(counts);
            summary.Inputs.Add(feature);
        }

        return summary;
    }

    public async Task DisposeAsync()
    {
        await _controlPlane.DisposeAsync();
        _temp.Dispose();
    }
}
