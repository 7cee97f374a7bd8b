using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using EdgeGreen.ControlPlane.Core.Pipelines;
using EdgeGreen.ControlPlane.Core.Storage;
using EdgeGreen.ControlPlane.Tests.Jobs;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace EdgeGreen.ControlPlane.Tests.Pipelines;

/// <summary>Pipeline runs through REST against a control plane with a real agent that runs the steps' jobs.</summary>
public sealed class PipelineRunTests : JobsTest
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(90);

    // Ten-second slots over an hour, so that a run with a one-minute deadline is planned to start
    // within the minute (the bundled traces are hourly: slots inside one hour cost the same).
    protected override IReadOnlyDictionary<string, string?>? Settings => new Dictionary<string, string?>(base.Settings!)
    {
        ["EdgeGreen:Scheduling:SlotDuration"] = "00:00:10",
        ["EdgeGreen:Scheduling:Horizon"] = "01:00:00",
        ["EdgeGreen:Pipelines:Interval"] = "00:00:00.200",
        ["EdgeGreen:Outbound:AllowedNetworks:0"] = "127.0.0.0/8",
    };

    private const string ChainYaml = """
        parameters:
          seconds: PT1S
        deadline: PT1M
        steps:
          - name: warm-up
            kind: burn
            parameters: {duration: "${{ parameters.seconds }}", threads: 1}
            estimatedPowerWatts: 5
          - name: check
            kind: gate
            dependsOn: [warm-up]
            when: "steps.warm-up.status != 'failed' && steps.warm-up.sustainability.energyJoules >= 0"
          - name: main
            kind: burn
            dependsOn: [check]
            parameters: {duration: PT2S, threads: 1}
            estimatedPowerWatts: 5
        """;

    [Fact]
    public async Task Run_YamlChain_StepsRunInOrder_TotalsAreTheSumOfTheSteps_AndBurnsAreNeverCached()
    {
        await StartAgentAsync();
        var version = await PutAsync("nightly", ChainYaml, "application/yaml");
        Assert.Equal(HttpStatusCode.Created, version.Status);
        Assert.Equal(1, version.Body.GetProperty("version").GetInt32());

        var started = await StartRunAsync("nightly", new { });
        Assert.Equal("running", started.GetProperty("status").GetString());
        var first = Step(started, "warm-up");
        Assert.Equal("planned", first.GetProperty("status").GetString());
        Assert.NotNull(first.GetProperty("jobId").GetString());
        Assert.True(first.GetProperty("plannedStart").GetDateTimeOffset() <= started.GetProperty("deadline").GetDateTimeOffset());
        Assert.NotEqual(JsonValueKind.Null, started.GetProperty("forecastCarbonGrams").ValueKind);

        var done = await WaitForRunAsync("nightly", started.GetProperty("id").GetString()!, "succeeded");
        var (warmUp, check, main) = (Step(done, "warm-up"), Step(done, "check"), Step(done, "main"));
        Assert.Equal(["succeeded", "succeeded", "succeeded"], new[] { warmUp, check, main }.Select(s => s.GetProperty("status").GetString()));
        Assert.Equal("PT1S", warmUp.GetProperty("parameters").GetProperty("duration").GetString());
        Assert.True(main.GetProperty("startedAt").GetDateTimeOffset() >= warmUp.GetProperty("finishedAt").GetDateTimeOffset());
        Assert.Null(check.GetProperty("jobId").GetString());

        var sustainability = done.GetProperty("sustainability");
        var byStep = sustainability.GetProperty("byStep").EnumerateArray().ToList();
        Assert.True(sustainability.GetProperty("energyJoules").GetDouble() > 0);
        Assert.Equal(byStep.Sum(s => s.GetProperty("carbonGrams").GetDouble()), sustainability.GetProperty("carbonGrams").GetDouble(), 9);
        Assert.Equal(byStep.Sum(s => s.GetProperty("energyJoules").GetDouble()), sustainability.GetProperty("energyJoules").GetDouble(), 9);
        var job = await GetJobAsync(warmUp.GetProperty("jobId").GetString()!);
        Assert.Equal("nightly.warm-up", job.GetProperty("name").GetString());
        Assert.Equal(job.GetProperty("carbonGrams").GetDouble(), byStep[0].GetProperty("carbonGrams").GetDouble(), 9);

        // A burn is work done, not a result: the same inputs run again (training and evaluation are
        // what is cached; MlPipelineEndToEndTests shows that).
        var again = await WaitForRunAsync("nightly", (await StartRunAsync("nightly", new { })).GetProperty("id").GetString()!, "succeeded");
        Assert.Equal(["succeeded", "succeeded", "succeeded"], again.GetProperty("steps").EnumerateArray().Select(s => s.GetProperty("status").GetString()));
        Assert.Equal(0, again.GetProperty("sustainability").GetProperty("avoidedByCacheJoules").GetDouble());
        Assert.NotEqual(warmUp.GetProperty("jobId").GetString(), Step(again, "warm-up").GetProperty("jobId").GetString());
    }

    [Fact]
    public async Task Run_GateDoesNotHold_StepsAfterItAreSkipped_AndTheRunSucceedsWithTheReason()
    {
        var finished = System.Threading.Channels.Channel.CreateUnbounded<JsonElement>();
        await using var subscriber = await StubServer.StartAsync(routes => routes.MapPost("/hook", async (HttpContext context) =>
        {
            finished.Writer.TryWrite(await context.Request.ReadFromJsonAsync<JsonElement>());
            return Results.Ok();
        }));
        using (var hook = await AdminClient.PostAsJsonAsync("/api/v1/webhooks", new { url = new Uri(subscriber.Url, "hook"), events = new[] { "pipeline_run.finished" } }))
        {
            Assert.Equal(HttpStatusCode.Created, hook.StatusCode);
        }

        await StartAgentAsync();
        Assert.Equal(HttpStatusCode.Created, (await PutAsync("gated", ChainYaml.Replace("energyJoules >= 0", "energyJoules > 1000000000", StringComparison.Ordinal), "application/yaml")).Status);

        var done = await WaitForRunAsync("gated", (await StartRunAsync("gated", new { })).GetProperty("id").GetString()!, "succeeded");

        Assert.Equal(["succeeded", "failed", "skipped"], done.GetProperty("steps").EnumerateArray().Select(s => s.GetProperty("status").GetString()));
        Assert.Contains("Gate 'check'", done.GetProperty("statusReason").GetString(), StringComparison.Ordinal);
        Assert.Contains("'check' failed", Step(done, "main").GetProperty("reason").GetString(), StringComparison.Ordinal);
        Assert.Null(Step(done, "main").GetProperty("jobId").GetString());

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var delivered = await finished.Reader.ReadAsync(timeout.Token);
        Assert.Equal("pipeline_run.finished", delivered.GetProperty("event").GetString());
        var data = delivered.GetProperty("data");
        Assert.Equal((done.GetProperty("id").GetString(), "succeeded"), (data.GetProperty("id").GetString(), data.GetProperty("status").GetString()));
        Assert.Equal(done.GetProperty("sustainability").GetProperty("carbonGrams").GetDouble(), data.GetProperty("carbonGrams").GetDouble(), 9);
    }

    [Fact]
    public async Task Run_GateThatCannotBeEvaluated_FailsTheRun()
    {
        await StartAgentAsync();
        // A burn reports no AUC: the comparison has nothing to compare, which is an error, not a "no".
        Assert.Equal(HttpStatusCode.Created, (await PutAsync("typo", ChainYaml.Replace("steps.warm-up.status != 'failed' && steps.warm-up.sustainability.energyJoules >= 0",
            "steps.warm-up.metrics.auc >= 0.5", StringComparison.Ordinal), "application/yaml")).Status);

        var done = await WaitForRunAsync("typo", (await StartRunAsync("typo", new { })).GetProperty("id").GetString()!, "failed");

        Assert.Equal(["succeeded", "failed", "skipped"], done.GetProperty("steps").EnumerateArray().Select(s => s.GetProperty("status").GetString()));
        Assert.Contains("Step 'check' failed", done.GetProperty("statusReason").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_StepJobRefused_RunFails_AndRetryRunsTheStepAgain()
    {
        await StartAgentAsync();
        Assert.Equal(HttpStatusCode.Created, (await PutAsync("broken", ChainYaml, "application/yaml")).Status);

        // "soon" is no ISO 8601 duration: the burn's own check refuses the step's job.
        var failed = await WaitForRunAsync("broken", (await StartRunAsync("broken", new { parameters = new { seconds = "soon" } })).GetProperty("id").GetString()!, "failed");

        Assert.Equal(["failed", "skipped", "skipped"], failed.GetProperty("steps").EnumerateArray().Select(s => s.GetProperty("status").GetString()));
        Assert.Contains("parameters.duration", Step(failed, "warm-up").GetProperty("reason").GetString(), StringComparison.Ordinal);
        Assert.Contains("Step 'warm-up' failed", failed.GetProperty("statusReason").GetString(), StringComparison.Ordinal);

        var id = failed.GetProperty("id").GetString()!;
        using var retried = await Client.PostAsync($"/api/v1/pipelines/broken/runs/{id}/steps/warm-up/retry", null);
        Assert.Equal(HttpStatusCode.OK, retried.StatusCode);
        var again = await retried.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("failed", again.GetProperty("status").GetString());
        using var notFailed = await Client.PostAsync($"/api/v1/pipelines/broken/runs/{id}/steps/main/retry", null);
        Assert.Equal(HttpStatusCode.Conflict, notFailed.StatusCode);
        using var unknown = await Client.PostAsync($"/api/v1/pipelines/broken/runs/{id}/steps/nope/retry", null);
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
    }

    [Fact]
    public async Task Cancel_RunningRun_StopsItsJobAndSkipsTheRest()
    {
        await StartAgentAsync();
        // Two minutes of burn and a deadline twenty seconds after the run's steps could finish: the
        // planner has no cleaner hour to wait for, so the burn starts at once.
        Assert.Equal(HttpStatusCode.Created, (await PutAsync("long", ChainYaml.Replace("seconds: PT1S", "seconds: PT2M", StringComparison.Ordinal)
            .Replace("deadline: PT1M", "deadline: PT2M22S", StringComparison.Ordinal), "application/yaml")).Status);
        var started = await StartRunAsync("long", new { });
        var id = started.GetProperty("id").GetString()!;
        await WaitForStepAsync("long", id, "warm-up", "running");

        using var cancelled = await Client.PostAsync($"/api/v1/pipelines/long/runs/{id}/cancel", null);

        // The steps not started are skipped at once; the run ends once the agent has stopped the
        // running burn (long before its two minutes), with what the burn used in its totals.
        Assert.Equal(HttpStatusCode.OK, cancelled.StatusCode);
        var run = await WaitForRunAsync("long", id, "cancelled");
        Assert.All(run.GetProperty("steps").EnumerateArray(), s => Assert.Equal("skipped", s.GetProperty("status").GetString()));
        var job = await WaitForStatusAsync(Step(run, "warm-up").GetProperty("jobId").GetString()!, "cancelled", Patience);
        Assert.Equal(Number(job, "energyJoules") ?? 0, run.GetProperty("sustainability").GetProperty("energyJoules").GetDouble(), 9);
        using var twice = await Client.PostAsync($"/api/v1/pipelines/long/runs/{id}/cancel", null);
        Assert.Equal(HttpStatusCode.Conflict, twice.StatusCode);
    }

    [Fact]
    public async Task Run_ForecastOverTheCarbonBudget_FailsBeforeAnyJobIsSubmitted()
    {
        var jobsBefore = await CountJobsAsync();
        Assert.Equal(HttpStatusCode.Created, (await PutAsync("thrifty", ChainYaml.Replace("deadline: PT1M", "deadline: PT1M\ncarbonBudgetGrams: 0.000000001", StringComparison.Ordinal)
            .Replace("estimatedPowerWatts: 5", "estimatedPowerWatts: 5\n    placement: {zones: [ES]}", StringComparison.Ordinal), "application/yaml")).Status);

        var run = await StartRunAsync("thrifty", new { });

        Assert.Equal("failed", run.GetProperty("status").GetString());
        Assert.Contains("over its carbon budget", run.GetProperty("statusReason").GetString(), StringComparison.Ordinal);
        Assert.All(run.GetProperty("steps").EnumerateArray(), s => Assert.Null(s.GetProperty("jobId").GetString()));
        Assert.Equal(jobsBefore, await CountJobsAsync());
    }

    [Fact]
    public async Task Advance_AfterACrashBetweenStoringTheJobAndTheRun_FindsThatJob_AndSubmitsNothingTwice()
    {
        const string yaml = """
            deadline: PT1M
            steps:
              - name: work
                kind: burn
                parameters: {duration: PT1S, threads: 1}
                estimatedPowerWatts: 5
            """;
        Assert.Equal(HttpStatusCode.Created, (await PutAsync("once", yaml, "application/yaml")).Status);
        var started = await StartRunAsync("once", new { });
        var runId = started.GetProperty("id").GetString()!;
        var jobId = Step(started, "work").GetProperty("jobId").GetString()!;
        var jobsBefore = await CountJobsAsync();

        // What a crash just after the job was stored leaves behind: the job, and the run as it was
        // stored before the step was submitted.
        var store = ControlPlane.Service<IPipelineStore>();
        await Eventually.WaitUntilAsync(async () =>
        {
            var run = (await store.GetRunAsync(runId, CancellationToken.None))!;
            var beforeSubmission = run with
            {
                Revision = run.Revision + 1,
                Steps = [.. run.Steps.Select(s => new PipelineStepRun(s.Name, PipelineStepStatus.Pending))],
            };
            return await store.UpdateRunAsync(beforeSubmission, CancellationToken.None);
        }, Patience, "the run stored as it was before the submission");

        var advanced = await ControlPlane.Service<PipelineRunner>().AdvanceAsync(runId, CancellationToken.None);

        Assert.Equal(jobId, advanced!.Step("work").JobId);
        Assert.Equal(1, advanced.Step("work").Attempts);
        Assert.Equal(jobsBefore, await CountJobsAsync());
    }

    [Fact]
    public async Task Put_SameDefinitionAsJsonAndYaml_IsOneVersion_AndBadInputIsRefusedNamingTheStep()
    {
        Assert.Equal(HttpStatusCode.Created, (await PutAsync("twins", ChainYaml, "application/yaml")).Status);
        var json = JsonSerializer.Serialize(new
        {
            parameters = new { seconds = "PT1S" },
            deadline = "PT1M",
            steps = new object[]
            {
                new { name = "warm-up", kind = "burn", parameters = new { duration = "${{ parameters.seconds }}", threads = 1 }, estimatedPowerWatts = 5 },
                new { name = "check", kind = "gate", dependsOn = new[] { "warm-up" }, when = "steps.warm-up.status != 'failed' && steps.warm-up.sustainability.energyJoules >= 0" },
                new { name = "main", kind = "burn", dependsOn = new[] { "check" }, parameters = new { duration = "PT2S", threads = 1 }, estimatedPowerWatts = 5 },
            },
        });
        var same = await PutAsync("twins", json, "application/json");
        Assert.Equal(HttpStatusCode.OK, same.Status);
        Assert.Equal(1, same.Body.GetProperty("version").GetInt32());

        var cycle = await PutAsync("twins", ChainYaml.Replace("    parameters: {duration: \"${{ parameters.seconds }}\", threads: 1}", "    dependsOn: [main]\n    parameters: {duration: PT1S}", StringComparison.Ordinal), "application/yaml");
        Assert.Equal(HttpStatusCode.BadRequest, cycle.Status);
        Assert.Contains("warm-up", cycle.Body.GetProperty("errors").ToString(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, (await PutAsync("twins", ChainYaml, "text/plain")).Status);
        Assert.Equal(HttpStatusCode.OK, (await PutAsync("twins", ChainYaml, "text/yaml")).Status);
        // What a run could never plan, a job name too long to submit, and control characters YAML would let through.
        var beyond = await PutAsync("twins", ChainYaml.Replace("deadline: PT1M", "deadline: P100D", StringComparison.Ordinal), "application/yaml");
        Assert.Equal(HttpStatusCode.BadRequest, beyond.Status);
        Assert.True(beyond.Body.GetProperty("errors").TryGetProperty("deadline", out _), beyond.Body.ToString());
        var control = await PutAsync("twins", ChainYaml.Replace("seconds: PT1S", "seconds: \"PT1S\\u001b[31m\"", StringComparison.Ordinal), "application/yaml");
        Assert.Equal(HttpStatusCode.BadRequest, control.Status);
        Assert.Equal(HttpStatusCode.BadRequest, (await PutAsync(new string('p', 100), ChainYaml.Replace("name: warm-up", "name: " + new string('w', 40), StringComparison.Ordinal)
            .Replace("steps.warm-up", "steps." + new string('w', 40), StringComparison.Ordinal).Replace("[warm-up]", $"[{new string('w', 40)}]", StringComparison.Ordinal), "application/yaml")).Status);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, (await PutAsync("twins", "#" + new string('x', 300 * 1024), "application/yaml")).Status);

        var pipeline = await Client.GetFromJsonAsync<JsonElement>("/api/v1/pipelines/twins");
        Assert.Equal(1, pipeline.GetProperty("latestVersion").GetInt32());
        Assert.Equal("application/yaml", pipeline.GetProperty("versions")[0].GetProperty("sourceContentType").GetString());
        Assert.Equal(HttpStatusCode.NotFound, (await Client.GetAsync("/api/v1/pipelines/missing")).StatusCode);
        using var noPipeline = await Client.PostAsJsonAsync("/api/v1/pipelines/missing/runs", new { });
        Assert.Equal(HttpStatusCode.NotFound, noPipeline.StatusCode);
        using var unknownParameter = await Client.PostAsJsonAsync("/api/v1/pipelines/twins/runs", new { parameters = new { nope = 1 } });
        Assert.Equal(HttpStatusCode.BadRequest, unknownParameter.StatusCode);
        using var pastDeadline = await Client.PostAsJsonAsync("/api/v1/pipelines/twins/runs", new { deadline = "2020-01-01T00:00:00Z" });
        Assert.Equal(HttpStatusCode.BadRequest, pastDeadline.StatusCode);
    }

    private async Task<(HttpStatusCode Status, JsonElement Body)> PutAsync(string name, string body, string contentType)
    {
        using var content = new StringContent(body, Encoding.UTF8);
        content.Headers.ContentType = new MediaTypeHeaderValue(contentType);
        using var response = await Client.PutAsync($"/api/v1/pipelines/{name}", content);
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone());
    }

    private async Task<JsonElement> StartRunAsync(string pipeline, object request)
    {
        using var response = await Client.PostAsJsonAsync($"/api/v1/pipelines/{pipeline}/runs", request);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(response.StatusCode == HttpStatusCode.Created, $"Expected 201, got {(int)response.StatusCode}: {body}");
        return body;
    }

    private async Task<JsonElement> WaitForRunAsync(string pipeline, string id, string status)
    {
        JsonElement run = default;
        await Eventually.WaitUntilAsync(async () =>
        {
            run = await Client.GetFromJsonAsync<JsonElement>($"/api/v1/pipelines/{pipeline}/runs/{id}");
            return run.GetProperty("status").GetString() == status;
        }, Patience, () => $"run {id} is {status}: {run}");
        return run;
    }

    private async Task WaitForStepAsync(string pipeline, string id, string step, string status)
    {
        JsonElement run = default;
        await Eventually.WaitUntilAsync(async () =>
        {
            run = await Client.GetFromJsonAsync<JsonElement>($"/api/v1/pipelines/{pipeline}/runs/{id}");
            return Step(run, step).GetProperty("status").GetString() == status;
        }, Patience, () => $"step {step} of run {id} is {status}: {run}");
    }

    private static JsonElement Step(JsonElement run, string name) =>
        run.GetProperty("steps").EnumerateArray().Single(s => s.GetProperty("name").GetString() == name);
}
