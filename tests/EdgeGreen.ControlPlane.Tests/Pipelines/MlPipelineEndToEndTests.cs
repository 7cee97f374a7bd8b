using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using EdgeGreen.ControlPlane.Tests.Registry;

namespace EdgeGreen.ControlPlane.Tests.Pipelines;

/// <summary>
/// The example pipeline (<c>deploy/examples/credit-pipeline.yaml</c>) through REST alone against the
/// single-node system: the dataset uploaded, the YAML stored, a run trained, evaluated, gated and
/// promoted by the local agent; the same run again reuses the training and the evaluation.
/// </summary>
public sealed class MlPipelineEndToEndTests : IAsyncLifetime
{
    private static readonly TimeSpan Patience = TimeSpan.FromMinutes(8);
    private readonly TempDirectory _temp = new();
    private TestControlPlane _controlPlane = null!;

    public async Task InitializeAsync() =>
        _controlPlane = await TestControlPlane.StartAsync(_temp.Path, localAgent: true, settings: new Dictionary<string, string?>
        {
            ["EdgeGreen:Scheduling:DispatchInterval"] = "00:00:00.200",
            ["EdgeGreen:LocalAgent:Jobs:ProgressInterval"] = "00:00:00.500",
            ["EdgeGreen:Pipelines:Interval"] = "00:00:00.200",
            // Half-minute slots, so that a run with a few minutes' deadline starts within them; the
            // horizon holds the example's own twelve-hour deadline.
            ["EdgeGreen:Scheduling:SlotDuration"] = "00:00:30",
            ["EdgeGreen:Scheduling:Horizon"] = "12:00:00",
        });

    [Fact]
    public async Task ExamplePipeline_TrainsEvaluatesGatesAndPromotes_AndARepeatIsCached()
    {
        using var client = _controlPlane.CreateClient(_controlPlane.AdminKey);
        await CreditSample.UploadAndWaitForLocalAgentAsync(client);

        using var yaml = new StringContent(await File.ReadAllTextAsync(ExampleFile()));
        yaml.Headers.ContentType = new MediaTypeHeaderValue("application/yaml");
        using (var put = await client.PutAsync("/api/v1/pipelines/credit", yaml))
        {
            Assert.True(put.StatusCode == HttpStatusCode.Created, await put.Content.ReadAsStringAsync());
        }

        // A deadline of minutes keeps the test short; the planner still places each step by carbon inside it.
        var first = await RunAsync(client, new { deadline = "PT5M", parameters = new { dataset = "credit" } });

        Assert.Equal(["succeeded", "succeeded", "succeeded", "succeeded", "succeeded"], Statuses(first));
        // The deploy step succeeded once the local agent served the model: it answers under /v2.
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/v2/models/credit/ready")).StatusCode);
        Assert.Equal("models:/credit-default/1", Step(first, "rollout").GetProperty("outputs").GetProperty("model").GetString());
        Assert.Equal("models:/credit-default/1", Step(first, "train").GetProperty("outputs").GetProperty("model").GetString());
        Assert.True(Step(first, "evaluate").GetProperty("metrics").GetProperty("auc").GetDouble() >= 0.7);
        var model = await client.GetFromJsonAsync<JsonElement>("/api/v1/models/credit-default");
        Assert.Equal(1, model.GetProperty("aliases").GetProperty("champion").GetInt32());
        var totals = first.GetProperty("sustainability");
        Assert.True(totals.GetProperty("carbonGrams").GetDouble() > 0);
        Assert.Equal(first.GetProperty("steps").EnumerateArray().Sum(s => s.GetProperty("carbonGrams").ValueKind == JsonValueKind.Number ? s.GetProperty("carbonGrams").GetDouble() : 0),
            totals.GetProperty("carbonGrams").GetDouble(), 9);

        // Unchanged inputs: the model is not trained again, nor evaluated again; the gate and the alias run.
        var second = await RunAsync(client, new { deadline = "PT5M", parameters = new { dataset = "credit" } });

        Assert.Equal(["cached", "cached", "succeeded", "succeeded", "succeeded"], Statuses(second));
        Assert.Equal("models:/credit-default/1", Step(second, "promote").GetProperty("outputs").GetProperty("model").GetString());
        Assert.Single((await client.GetFromJsonAsync<JsonElement>("/api/v1/models/credit-default")).GetProperty("versions").EnumerateArray());
        var repeat = second.GetProperty("sustainability");
        Assert.Equal(0, repeat.GetProperty("carbonGrams").GetDouble());
        Assert.Equal(totals.GetProperty("carbonGrams").GetDouble(), repeat.GetProperty("avoidedByCacheCarbonGrams").GetDouble(), 9);

        // A stricter carbon bar closes the gate although the training is reused: a cached step's
        // figures are what its result cost. No promotion; the run still succeeds and says why.
        var strict = await RunAsync(client, new { deadline = "PT5M", parameters = new { dataset = "credit", maxTrainingCarbonGrams = 1e-12 } });
        Assert.Equal(["cached", "cached", "failed", "skipped", "skipped"], Statuses(strict));
        Assert.Contains("good-enough", strict.GetProperty("statusReason").GetString(), StringComparison.Ordinal);
    }

    public async Task DisposeAsync()
    {
        await _controlPlane.DisposeAsync();
        _temp.Dispose();
    }

    private static async Task<JsonElement> RunAsync(HttpClient client, object request)
    {
        using var started = await client.PostAsJsonAsync("/api/v1/pipelines/credit/runs", request);
        var run = await started.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(started.StatusCode == HttpStatusCode.Created, run.ToString());
        var id = run.GetProperty("id").GetString()!;
        await Eventually.WaitUntilAsync(async () =>
        {
            run = await client.GetFromJsonAsync<JsonElement>($"/api/v1/pipelines/credit/runs/{id}");
            return run.GetProperty("status").GetString() is "succeeded" or "failed" or "cancelled";
        }, Patience, () => $"run {id} ends: {run}");
        return run;
    }

    private static string[] Statuses(JsonElement run) => [.. run.GetProperty("steps").EnumerateArray().Select(s => s.GetProperty("status").GetString()!)];

    private static JsonElement Step(JsonElement run, string name) =>
        run.GetProperty("steps").EnumerateArray().Single(s => s.GetProperty("name").GetString() == name);

    private static string ExampleFile() => Path.Combine(AppContext.BaseDirectory, "deploy", "examples", "credit-pipeline.yaml");
}
