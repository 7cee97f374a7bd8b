using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;

namespace EdgeGreen.ControlPlane.Tests.Registry;

/// <summary>
/// The ML path through REST alone against the single-node system: the sample dataset uploaded, a
/// carbon-aware train job run by the local agent, the verified ONNX model registered with its
/// metrics, lineage, energy and carbon, and an alias set.
/// </summary>
public sealed class MlEndToEndTests : IAsyncLifetime
{
    private readonly TempDirectory _temp = new();
    private TestControlPlane _controlPlane = null!;

    public async Task InitializeAsync() =>
        _controlPlane = await TestControlPlane.StartAsync(_temp.Path, localAgent: true, settings: new Dictionary<string, string?>
        {
            ["EdgeGreen:Scheduling:DispatchInterval"] = "00:00:00.200",
            ["EdgeGreen:LocalAgent:Jobs:ProgressInterval"] = "00:00:00.500",
            ["EdgeGreen:LocalAgent:Embodied:CarbonGrams"] = "1500000",
        });

    [Fact]
    public async Task UploadTrainRegisterAlias_ThroughRestOnly()
    {
        using var client = _controlPlane.CreateClient(_controlPlane.AdminKey);
        var csv = await CreditSample.UploadAndWaitForLocalAgentAsync(client);

        using var submitted = await client.PostAsJsonAsync("/api/v1/jobs", new
        {
            name = "credit-train",
            kind = "train",
            estimatedDuration = "PT2M",
            parameters = new Dictionary<string, object>
            {
                ["dataset"] = "credit",
                ["label"] = "default.payment.next.month",
                ["task"] = "binary",
                ["trainer"] = "fasttree",
                ["ignore"] = "ID",
                ["registerAs"] = "credit-default",
            },
        });
        Assert.Equal(HttpStatusCode.Created, submitted.StatusCode);
        var job = await submitted.Content.ReadFromJsonAsync<JsonElement>();
        var jobId = job.GetProperty("id").GetString()!;
        Assert.Equal("credit", job.GetProperty("parameters").GetProperty("dataset").GetString());
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(csv)), job.GetProperty("parameters").GetProperty("datasetSha256").GetString());

        var done = await FinishedAsync(client, jobId);
        Assert.Equal("succeeded", done.GetProperty("status").GetString());

        var version = await client.GetFromJsonAsync<JsonElement>("/api/v1/models/credit-default/versions/1");
        Assert.Equal("READY", version.GetProperty("status").GetString());
        Assert.Equal("onnx", version.GetProperty("format").GetString());
        Assert.True(version.GetProperty("metrics").GetProperty("auc").GetDouble() > 0.75, $"AUC {version.GetProperty("metrics").GetProperty("auc")}");
        var lineage = version.GetProperty("lineage");
        Assert.Equal(jobId, lineage.GetProperty("jobId").GetString());
        Assert.Equal("credit", lineage.GetProperty("dataset").GetString());
        Assert.Equal(1, lineage.GetProperty("datasetVersion").GetInt32());
        Assert.Equal("fasttree", lineage.GetProperty("trainer").GetString());
        var sustainability = version.GetProperty("sustainability");
        Assert.True(sustainability.GetProperty("trainingEnergyJoules").GetDouble() > 0);
        Assert.True(sustainability.GetProperty("trainingCarbonGrams").GetDouble() > 0);
        Assert.Equal(done.GetProperty("energyJoules").GetDouble(), sustainability.GetProperty("trainingEnergyJoules").GetDouble(), 6);
        // SCI for the training run: E × I + M, the terms apart; M from the agent's embodied figure.
        var jobSci = done.GetProperty("energy").GetProperty("sci");
        var embodied = jobSci.GetProperty("embodiedGrams").GetDouble();
        Assert.True(embodied > 0);
        Assert.Equal(embodied, sustainability.GetProperty("trainingEmbodiedCarbonGrams").GetDouble(), 12);
        Assert.Equal(done.GetProperty("carbonGrams").GetDouble() + embodied, done.GetProperty("energy").GetProperty("sciGrams").GetDouble(), 9);
        Assert.Contains(version.GetProperty("inputs").EnumerateArray(), i => i.GetProperty("name").GetString() == "LIMIT_BAL");

        var onnx = await client.GetByteArrayAsync("/api/v1/models/credit-default/versions/1/artifact");
        Assert.Equal(version.GetProperty("sha256").GetString(), Convert.ToHexStringLower(SHA256.HashData(onnx)));
        Assert.Equal(version.GetProperty("sizeBytes").GetInt64(), onnx.LongLength);

        using (var alias = await client.PutAsJsonAsync("/api/v1/models/credit-default/aliases/champion", new { version = 1 }))
        {
            Assert.Equal(HttpStatusCode.OK, alias.StatusCode);
        }

        var model = await client.GetFromJsonAsync<JsonElement>("/api/v1/models/credit-default");
        Assert.Equal(1, model.GetProperty("aliases").GetProperty("champion").GetInt32());
        Assert.Equal(["champion"], model.GetProperty("versions")[0].GetProperty("aliases").EnumerateArray().Select(a => a.GetString()));
        Assert.Single((await client.GetFromJsonAsync<JsonElement>("/api/v1/models?alias=champion")).EnumerateArray());
        Assert.Empty((await client.GetFromJsonAsync<JsonElement>("/api/v1/models?alias=challenger")).EnumerateArray());
        Assert.Equal(HttpStatusCode.NotFound, (await client.PutAsJsonAsync("/api/v1/models/credit-default/aliases/challenger", new { version = 7 })).StatusCode);

        // Batch inference with the champion: a predictions dataset with one row per input row.
        using var infer = await client.PostAsJsonAsync("/api/v1/jobs", new
        {
            name = "credit-scoring",
            kind = "batch-infer",
            estimatedDuration = "PT1M",
            parameters = new { model = "models:/credit-default@champion", dataset = "credit", output = "credit-predictions" },
        });
        Assert.Equal(HttpStatusCode.Created, infer.StatusCode);
        var inferJob = await infer.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("1", inferJob.GetProperty("parameters").GetProperty("modelVersion").GetString());
        Assert.Equal("succeeded", (await FinishedAsync(client, inferJob.GetProperty("id").GetString()!)).GetProperty("status").GetString());
        var predictions = (await client.GetFromJsonAsync<JsonElement>("/api/v1/datasets/credit-predictions")).GetProperty("versions")[0];
        Assert.Equal(30_000, predictions.GetProperty("rows").GetInt64());
        Assert.Equal(["row", "PredictedLabel", "Score", "Probability"], predictions.GetProperty("columns").EnumerateArray().Select(c => c.GetProperty("name").GetString()));
        // Evaluating the champion on the dataset gives its metrics on the job.
        using var evaluate = await client.PostAsJsonAsync("/api/v1/jobs", new
        {
            name = "credit-evaluation",
            kind = "evaluate",
            estimatedDuration = "PT1M",
            parameters = new { model = "models:/credit-default@champion", dataset = "credit", label = "default.payment.next.month", task = "binary" },
        });
        Assert.Equal(HttpStatusCode.Created, evaluate.StatusCode);
        var evaluated = await FinishedAsync(client, (await evaluate.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!);
        Assert.Equal("succeeded", evaluated.GetProperty("status").GetString());
        Assert.True(evaluated.GetProperty("metrics").GetProperty("auc").GetDouble() > 0.75);
        Assert.Equal(30_000, evaluated.GetProperty("metrics").GetProperty("rows").GetDouble());

        // Profiling the champion stores a serving recommendation and the SCI per 1,000 inferences.
        using var profile = await client.PostAsJsonAsync("/api/v1/jobs", new
        {
            name = "credit-profile",
            kind = "profile",
            parameters = new { model = "models:/credit-default@champion", dataset = "credit", secondsPerConfiguration = 1 },
        });
        Assert.Equal(HttpStatusCode.Created, profile.StatusCode);
        Assert.Equal("succeeded", (await FinishedAsync(client, (await profile.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!)).GetProperty("status").GetString());
        var profiled = await client.GetFromJsonAsync<JsonElement>("/api/v1/models/credit-default/versions/1");
        var serving = profiled.GetProperty("serving");
        Assert.Contains(serving.GetProperty("recommended").GetProperty("batchSize").GetInt32(), new[] { 1, 8, 64 });
        Assert.True(serving.GetProperty("recommended").GetProperty("inferencesPerSecond").GetDouble() > 0);
        Assert.Equal(Environment.ProcessorCount > 1 ? 6 : 3, serving.GetProperty("measured").GetArrayLength());
        var sustainability1k = profiled.GetProperty("sustainability");
        var sci = sustainability1k.GetProperty("sci");
        Assert.Equal("1000 inferences", sci.GetProperty("functionalUnit").GetString());
        Assert.True(sci.GetProperty("embodiedGrams").GetDouble() > 0);
        Assert.Equal(serving.GetProperty("recommended").GetProperty("embodiedGramsPer1kInferences").GetDouble(), sci.GetProperty("embodiedGrams").GetDouble(), 12);
        Assert.Equal((sci.GetProperty("energyKwh").GetDouble() * sci.GetProperty("intensityGramsPerKwh").GetDouble()) + sci.GetProperty("embodiedGrams").GetDouble(),
            sustainability1k.GetProperty("sciPer1kInferencesGrams").GetDouble(), 12);

        // Online inference: a serve job answers the Open Inference Protocol for its duration.
        using var serve = await client.PostAsJsonAsync("/api/v1/jobs", new
        {
            name = "credit-online",
            kind = "serve",
            parameters = new { model = "models:/credit-default/1", duration = "PT8S" },
        });
        Assert.Equal(HttpStatusCode.Created, serve.StatusCode);
        var serveJob = await serve.Content.ReadFromJsonAsync<JsonElement>();
        var serveId = serveJob.GetProperty("id").GetString()!;
        Assert.Equal(serving.GetProperty("recommended").GetProperty("threads").GetInt32().ToString(System.Globalization.CultureInfo.InvariantCulture),
            serveJob.GetProperty("parameters").GetProperty("threads").GetString());
        await Eventually.WaitUntilAsync(async () => (await client.GetAsync("/v2/models/credit-default/versions/1/ready")).StatusCode == HttpStatusCode.OK,
            TimeSpan.FromSeconds(30), "the served model is ready");
        var metadata = await client.GetFromJsonAsync<JsonElement>("/v2/models/credit-default");
        var inputs = metadata.GetProperty("inputs").EnumerateArray().Select(i => i.GetProperty("name").GetString()!).ToList();
        Assert.Equal(23, inputs.Count);
        var header = File.ReadLines(Path.Combine(AppContext.BaseDirectory, "Datasets", "Sample", "UCI_Credit_Card.csv")).First().Split(',').Select(h => h.Trim('"')).ToList();
        var rows = File.ReadLines(Path.Combine(AppContext.BaseDirectory, "Datasets", "Sample", "UCI_Credit_Card.csv")).Skip(1).Take(2).Select(l => l.Split(',')).ToList();
        using var answer = await client.PostAsJsonAsync("/v2/models/credit-default/infer", new
        {
            inputs = inputs.Select(name => new
            {
                name,
                shape = new[] { 2, 1 },
                datatype = "FP32",
                data = rows.Select(r => float.Parse(r[header.IndexOf(name)], System.Globalization.CultureInfo.InvariantCulture)).ToArray(),
            }),
            outputs = new[] { new { name = "Probability.output" } },
        });
        Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        var probability = (await answer.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("outputs")[0];
        Assert.Equal([2, 1], probability.GetProperty("shape").EnumerateArray().Select(d => d.GetInt32()));
        Assert.All(probability.GetProperty("data").EnumerateArray(), p => Assert.InRange(p.GetDouble(), 0, 1));
        using (var bad = await client.PostAsJsonAsync("/v2/models/credit-default/infer", new { inputs = Array.Empty<object>() }))
        {
            Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
            Assert.Contains("Missing input(s): LIMIT_BAL", (await bad.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error").GetString());
        }

        var served = await FinishedAsync(client, serveId);
        Assert.Equal("succeeded", served.GetProperty("status").GetString());
        Assert.Equal(1, served.GetProperty("metrics").GetProperty("requests").GetDouble());
        Assert.Equal(2, served.GetProperty("metrics").GetProperty("inferences").GetDouble());
        Assert.Equal(1, served.GetProperty("metrics").GetProperty("failedRequests").GetDouble());
        Assert.True(served.GetProperty("energyJoules").GetDouble() > 0);
        var servedEnergy = served.GetProperty("energy");
        Assert.Equal(servedEnergy.GetProperty("sciGrams").GetDouble() * 1000 / 2, servedEnergy.GetProperty("sciPer1kInferencesGrams").GetDouble(), 9);
        Assert.Equal(JsonValueKind.Null, done.GetProperty("energy").GetProperty("sciPer1kInferencesGrams").ValueKind);
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync("/v2/models/credit-default/ready")).StatusCode);

        using (var missing = await client.PostAsJsonAsync("/api/v1/jobs", new
        {
            name = "x", kind = "batch-infer", estimatedDuration = "PT1M",
            parameters = new { model = "models:/credit-default@challenger", dataset = "credit", output = "p" },
        }))
        {
            Assert.Equal(HttpStatusCode.BadRequest, missing.StatusCode);
        }

        Assert.Equal(HttpStatusCode.NoContent, (await client.DeleteAsync("/api/v1/models/credit-default/aliases/champion")).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await client.PutAsJsonAsync("/api/v1/models/credit-default/tags/team", new { value = "risk" })).StatusCode);
        Assert.Single((await client.GetFromJsonAsync<JsonElement>("/api/v1/models?tag=team=risk")).EnumerateArray());
        Assert.Empty(_controlPlane.Errors.Entries);
    }

    [Fact]
    public async Task Submit_TrainOnAMissingDatasetOrColumn_Is400()
    {
        using var client = _controlPlane.CreateClient(_controlPlane.AdminKey);
        using (var upload = await client.PostAsync("/api/v1/datasets?name=tiny", new StringContent("a,b\n1,0\n2,1\n")))
        {
            Assert.Equal(HttpStatusCode.Created, upload.StatusCode);
        }

        foreach (var (parameters, field) in new[]
        {
            (new Dictionary<string, object> { ["dataset"] = "nope", ["label"] = "b", ["task"] = "binary" }, "parameters.dataset"),
            (new Dictionary<string, object> { ["dataset"] = "tiny:9", ["label"] = "b", ["task"] = "binary" }, "parameters.dataset"),
            (new Dictionary<string, object> { ["dataset"] = "tiny", ["label"] = "c", ["task"] = "binary" }, "parameters.label"),
            (new Dictionary<string, object> { ["dataset"] = "tiny", ["label"] = "b", ["task"] = "binary", ["ignore"] = "z" }, "parameters.ignore"),
        })
        {
            using var response = await client.PostAsJsonAsync("/api/v1/jobs", new { name = "t", kind = "train", estimatedDuration = "PT1M", parameters });
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            Assert.True((await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors").TryGetProperty(field, out _), field);
        }

        Assert.Empty((await client.GetFromJsonAsync<JsonElement>("/api/v1/jobs")).EnumerateArray());
    }

    [Fact]
    public async Task Submit_TrainThatWaits_VersionPendingUntilTheJobEnds()
    {
        using var client = _controlPlane.CreateClient(_controlPlane.AdminKey);
        using (var upload = await client.PostAsync("/api/v1/datasets?name=tiny", new StringContent("a,b\n1,0\n2,1\n3,0\n4,1\n")))
        {
            Assert.Equal(HttpStatusCode.Created, upload.StatusCode);
        }

        var tomorrow = DateTimeOffset.UtcNow.AddDays(1);
        using var submitted = await client.PostAsJsonAsync("/api/v1/jobs", new
        {
            name = "later",
            kind = "train",
            estimatedDuration = "PT1M",
            earliestStart = tomorrow,
            deadline = tomorrow.AddHours(6),
            parameters = new Dictionary<string, object>
            {
                ["dataset"] = "tiny", ["label"] = "b", ["task"] = "binary", ["trainer"] = "sdca", ["hyperparameters.maximumNumberOfIterations"] = "5",
                ["registerAs"] = "later-model",
            },
        });
        Assert.Equal(HttpStatusCode.Created, submitted.StatusCode);
        var jobId = (await submitted.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;

        var pending = await client.GetFromJsonAsync<JsonElement>("/api/v1/models/later-model/versions/1");
        Assert.Equal("PENDING_REGISTRATION", pending.GetProperty("status").GetString());
        Assert.Equal(jobId, pending.GetProperty("lineage").GetProperty("jobId").GetString());
        Assert.Equal("sdca", pending.GetProperty("lineage").GetProperty("trainer").GetString());
        Assert.Equal("5", pending.GetProperty("lineage").GetProperty("hyperparameters").GetProperty("maximumNumberOfIterations").GetString());
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync("/api/v1/models/later-model/versions/1/artifact")).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await client.PutAsJsonAsync("/api/v1/models/later-model/versions/1/tags/owner", new { value = "risk" })).StatusCode);
        using (var notReady = await client.PostAsJsonAsync("/api/v1/jobs", new
        {
            name = "x", kind = "batch-infer", estimatedDuration = "PT1M", parameters = new { model = "models:/later-model/1", dataset = "tiny", output = "p" },
        }))
        {
            Assert.Equal(HttpStatusCode.BadRequest, notReady.StatusCode);
        }

        Assert.Equal(HttpStatusCode.OK, (await client.PostAsync($"/api/v1/jobs/{jobId}/cancel", null)).StatusCode);
        var failed = await client.GetFromJsonAsync<JsonElement>("/api/v1/models/later-model/versions/1");
        Assert.Equal("FAILED", failed.GetProperty("status").GetString());
        Assert.Contains("cancelled", failed.GetProperty("statusMessage").GetString());
        Assert.Equal("risk", failed.GetProperty("tags").GetProperty("owner").GetString());
        Assert.Single((await client.GetFromJsonAsync<JsonElement>("/api/v1/models/later-model")).GetProperty("versions").EnumerateArray());
    }

    private static async Task<JsonElement> FinishedAsync(HttpClient client, string jobId)
    {
        JsonElement job = default;
        await Eventually.WaitUntilAsync(async () =>
        {
            job = await client.GetFromJsonAsync<JsonElement>($"/api/v1/jobs/{jobId}");
            return job.GetProperty("status").GetString() is "succeeded" or "failed" or "cancelled";
        }, TimeSpan.FromSeconds(180), $"job {jobId} finishes");
        return job;
    }

    public async Task DisposeAsync()
    {
        await _controlPlane.DisposeAsync();
        _temp.Dispose();
    }
}
