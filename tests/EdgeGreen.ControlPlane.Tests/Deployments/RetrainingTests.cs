using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using EdgeGreen.ControlPlane.Core.Deployments;
using EdgeGreen.ControlPlane.Core.Monitoring;
using EdgeGreen.ControlPlane.Core.Pipelines;
using EdgeGreen.ControlPlane.Core.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace EdgeGreen.ControlPlane.Tests.Deployments;

/// <summary>
/// Retraining policies end to end on a real control plane whose clock is a <see cref="FakeTimeProvider"/>:
/// the checks are asked for directly after the clock moves, so nothing depends on real waits.
/// </summary>
public sealed class RetrainingTests : ControlPlaneTest
{
    // Ten past the hour, so that an hourly cron occurrence lies ahead of the policy's start.
    private static readonly DateTimeOffset Start = new(DateTimeOffset.UtcNow.Year, DateTimeOffset.UtcNow.Month, DateTimeOffset.UtcNow.Day,
        DateTimeOffset.UtcNow.Hour, 10, 0, TimeSpan.Zero);

    private readonly FakeTimeProvider _clock = new(Start);

    private const string RetrainYaml = """
        parameters:
          seconds: PT1S
        deadline: PT1H
        steps:
          - name: train
            kind: burn
            parameters: {duration: "${{ parameters.seconds }}", threads: 1}
            estimatedPowerWatts: 5
        """;

    // The timer's own passes wait a day; the tests ask for each check.
    protected override IReadOnlyDictionary<string, string?>? Settings => new Dictionary<string, string?>
    {
        ["EdgeGreen:Deployments:RetrainingInterval"] = "1.00:00:00",
    };

    protected override void ConfigureServices(IServiceCollection services) => services.AddSingleton<TimeProvider>(_clock);

    private DeploymentRetrainer Retrainer => ControlPlane.Service<DeploymentRetrainer>();

    [Fact]
    public async Task Put_RetrainingPolicy_IsShownInGet_AndBadPoliciesAre400NamingTheField()
    {
        using var client = await ReadyAsync();
        var policy = Policy(new { schedule = new { cron = "0 3 * * *" } });
        using (var created = await client.PutAsJsonAsync("/api/v1/deployments/digits", Deployment(policy)))
        {
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        }

        var shown = (await client.GetFromJsonAsync<JsonElement>("/api/v1/deployments/digits")).GetProperty("retraining");
        Assert.Equal(("retrain", "0 3 * * *"), (shown.GetProperty("pipeline").GetString(),
            shown.GetProperty("triggers")[0].GetProperty("schedule").GetProperty("cron").GetString()));
        Assert.Equal("PT30S", shown.GetProperty("parameters").GetProperty("seconds").GetString());

        await AssertRefusedAsync(client, new { pipeline = "missing", triggers = new[] { new { schedule = new { cron = "0 3 * * *" } } } }, "retraining.pipeline");
        await AssertRefusedAsync(client, new { pipeline = "retrain", deadline = "PT30M", triggers = new[] { new { schedule = new { cron = "0 3 * * *" } } } }, "retraining.deadline");
        await AssertRefusedAsync(client, new { pipeline = "retrain", deadline = "P8D", triggers = new[] { new { schedule = new { cron = "0 3 * * *" } } } }, "retraining.deadline");
        await AssertRefusedAsync(client, new { pipeline = "retrain", cooldown = "PT59M", triggers = new[] { new { schedule = new { cron = "0 3 * * *" } } } }, "retraining.cooldown");
        await AssertRefusedAsync(client, new { pipeline = "retrain", triggers = Array.Empty<object>() }, "retraining.triggers");
        await AssertRefusedAsync(client, new { pipeline = "retrain", triggers = Enumerable.Repeat(new { schedule = new { cron = "0 3 * * *" } }, 11) }, "retraining.triggers");
        await AssertRefusedAsync(client, new { pipeline = "retrain", triggers = new[] { new { schedule = new { cron = "every night" } } } }, "retraining.triggers[0].schedule.cron");
        await AssertRefusedAsync(client, new { pipeline = "retrain", triggers = new[] { new { newDatasetVersion = new { dataset = "missing" } } } },
            "retraining.triggers[0].newDatasetVersion.dataset");
        await AssertRefusedAsync(client, new { pipeline = "retrain", triggers = new[] { new { drift = new { threshold = 1.5 } } } }, "retraining.triggers[0].drift.threshold");
        await AssertRefusedAsync(client, new { pipeline = "retrain", triggers = new[] { new { } } }, "retraining.triggers[0]");
        await AssertRefusedAsync(client, new { pipeline = "retrain", carbonBudgetGrams = -1, triggers = new[] { new { schedule = new { cron = "0 3 * * *" } } } },
            "retraining.carbonBudgetGrams");
    }

    [Fact]
    public async Task RunOnce_NewDatasetVersion_StartsOneRunDueAtStartPlusDeadline_ThenRespectsTheCooldown()
    {
        using var client = await ReadyAsync();
        await AddDatasetVersionAsync('a');
        using (var created = await client.PutAsJsonAsync("/api/v1/deployments/digits",
            Deployment(Policy(new { newDatasetVersion = new { dataset = "loans" } }, cooldown: "PT2H", carbonBudgetGrams: 500))))
        {
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        }

        // The version there when the policy was set is not news.
        Assert.Empty(await Retrainer.RunOnceAsync(CancellationToken.None));

        await AddDatasetVersionAsync('b');
        _clock.Advance(TimeSpan.FromMinutes(5));
        var startedAt = _clock.GetUtcNow();
        var runId = Assert.Single(await Retrainer.RunOnceAsync(CancellationToken.None));
        var run = (await ControlPlane.Service<IPipelineStore>().GetRunAsync(runId, CancellationToken.None))!;
        Assert.Equal(("retrain", startedAt + TimeSpan.FromHours(6), 500d), (run.Pipeline, run.Deadline, run.CarbonBudgetGrams));
        Assert.Equal("PT30S", run.Parameters["seconds"]);
        Assert.All(run.Steps.Where(s => s.PlannedStart is not null), s => Assert.True(s.PlannedStart <= run.Deadline));

        var deployment = await ControlPlane.Service<IDeploymentStore>().GetAsync("digits", CancellationToken.None);
        Assert.Equal(new LastRetraining(runId, "newDatasetVersion: loans version 2", startedAt), deployment!.LastRetraining);
        var started = deployment.History[^1];
        Assert.Equal("retraining-started", started.Kind);
        Assert.Contains(runId, started.Message, StringComparison.Ordinal);
        Assert.Contains("newDatasetVersion", started.Message, StringComparison.Ordinal);

        // The run is active: no second one, whatever fires.
        await AddDatasetVersionAsync('c');
        Assert.Empty(await Retrainer.RunOnceAsync(CancellationToken.None));

        // Ended, but inside the cooldown: still none; once it has passed, the pending version starts one.
        await ControlPlane.Service<PipelineRunner>().CancelAsync(runId, "done for the test", CancellationToken.None);
        // The run ends once its job's cancellation has gone through the scheduler.
        await Eventually.WaitUntilAsync(async () => (await ControlPlane.Service<IPipelineStore>().GetRunAsync(runId, CancellationToken.None))!.IsFinished,
            TimeSpan.FromSeconds(30), "the cancelled run ends");
        _clock.Advance(TimeSpan.FromHours(1));
        Assert.Empty(await Retrainer.RunOnceAsync(CancellationToken.None));

        // How the run ended is on the deployment, once.
        Assert.Empty(await Retrainer.RunOnceAsync(CancellationToken.None));
        var ended = (await ControlPlane.Service<IDeploymentStore>().GetAsync("digits", CancellationToken.None))!;
        Assert.Equal((runId, "cancelled"), (ended.LastRetraining!.RunId, ended.LastRetraining.Outcome));
        Assert.NotNull(ended.LastRetraining.FinishedAt);
        var outcome = Assert.Single(ended.History, h => h.Kind == "retraining-cancelled");
        Assert.Equal($"Run {runId} of pipeline retrain cancelled: done for the test.", outcome.Message);
        _clock.Advance(TimeSpan.FromHours(1));
        var again = Assert.Single(await Retrainer.RunOnceAsync(CancellationToken.None));
        Assert.NotEqual(runId, again);
        Assert.Equal("newDatasetVersion: loans version 3",
            (await ControlPlane.Service<IDeploymentStore>().GetAsync("digits", CancellationToken.None))!.LastRetraining!.Trigger);
    }

    [Fact]
    public async Task RunOnce_ScheduleOccurrencePassed_StartsOneRun_ThenRespectsTheCooldown()
    {
        using var client = await ReadyAsync();
        using (var created = await client.PutAsJsonAsync("/api/v1/deployments/digits", Deployment(Policy(new { schedule = new { cron = "0 * * * *" } }))))
        {
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        }

        // Ten past: the next occurrence is at the hour.
        Assert.Empty(await Retrainer.RunOnceAsync(CancellationToken.None));
        _clock.Advance(TimeSpan.FromMinutes(40));
        Assert.Empty(await Retrainer.RunOnceAsync(CancellationToken.None));

        _clock.Advance(TimeSpan.FromMinutes(20));
        var runId = Assert.Single(await Retrainer.RunOnceAsync(CancellationToken.None));
        await ControlPlane.Service<PipelineRunner>().CancelAsync(runId, "done for the test", CancellationToken.None);

        // Hourly occurrences keep passing, but the cooldown is a day.
        _clock.Advance(TimeSpan.FromHours(2));
        Assert.Empty(await Retrainer.RunOnceAsync(CancellationToken.None));
        // A day after the start: the service's own daily pass may run this check first, so the history tells.
        _clock.Advance(TimeSpan.FromHours(22));
        await Retrainer.RunOnceAsync(CancellationToken.None);
        var history = (await ControlPlane.Service<IDeploymentStore>().GetAsync("digits", CancellationToken.None))!.History;
        Assert.Equal(2, history.Count(h => h.Kind == "retraining-started"));
    }

    [Fact]
    public async Task RunOnce_RunRefused_IsRecordedAsRetrainingFailed_AndTheCooldownStillApplies()
    {
        using var client = await ReadyAsync();
        var policy = new { pipeline = "retrain", parameters = new Dictionary<string, object> { ["epochs"] = 3 }, triggers = new[] { new { schedule = new { cron = "0 * * * *" } } } };
        using (var created = await client.PutAsJsonAsync("/api/v1/deployments/digits", Deployment(policy)))
        {
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        }

        _clock.Advance(TimeSpan.FromHours(1));
        Assert.Empty(await Retrainer.RunOnceAsync(CancellationToken.None));
        _clock.Advance(TimeSpan.FromHours(1));
        Assert.Empty(await Retrainer.RunOnceAsync(CancellationToken.None));

        var deployment = (await ControlPlane.Service<IDeploymentStore>().GetAsync("digits", CancellationToken.None))!;
        var failed = Assert.Single(deployment.History, h => h.Kind == "retraining-failed");
        Assert.Contains("parameters.epochs", failed.Message, StringComparison.Ordinal);
        Assert.Null(deployment.LastRetraining!.RunId);
        Assert.Empty(await ControlPlane.Service<IPipelineStore>().ListRunsAsync("retrain", 10, CancellationToken.None));
    }

    [Fact]
    public async Task RunOnce_NoTriggerFires_StartsNoRun()
    {
        using var client = await ReadyAsync();
        await AddDatasetVersionAsync('a');
        using (var created = await client.PutAsJsonAsync("/api/v1/deployments/digits", Deployment(Policy(new { newDatasetVersion = new { dataset = "loans" } }))))
        {
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        }

        for (var i = 0; i < 3; i++)
        {
            _clock.Advance(TimeSpan.FromDays(1));
            Assert.Empty(await Retrainer.RunOnceAsync(CancellationToken.None));
        }

        Assert.Empty(await ControlPlane.Service<IPipelineStore>().ListRunsAsync("retrain", 10, CancellationToken.None));
        Assert.Null((await ControlPlane.Service<IDeploymentStore>().GetAsync("digits", CancellationToken.None))!.LastRetraining);
    }

    [Theory]
    [InlineData(new[] { "age" }, null, true)]
    [InlineData(new[] { "city" }, null, false)]
    [InlineData(new string[0], 0.5, true)]
    [InlineData(new string[0], 0.75, false)]
    [InlineData(new string[0], null, true)]
    public void DriftFired_ListedFeatureOrShareOfFeatures_FiresAsDocumented(string[] features, double? threshold, bool fires)
    {
        // Two of four features drifted: age and income.
        FeatureDrift[] report = [Feature("age", true), Feature("income", true), Feature("city", false), Feature("score", false)];
        Assert.Equal(fires, DeploymentRetrainer.DriftFired(new DriftTrigger(features, threshold), report) is not null);
    }

    [Fact]
    public void DriftFired_NoFeatures_DoesNotFire() =>
        Assert.Null(DeploymentRetrainer.DriftFired(new DriftTrigger([], 0.1), []));

    private static FeatureDrift Feature(string name, bool drifted) =>
        new(name, "numeric", "psi", drifted ? 0.5 : 0.01, 0.2, drifted, 100, 100, null, null, []);

    private static object Policy(object trigger, string cooldown = "P1D", double? carbonBudgetGrams = null) => new
    {
        pipeline = "retrain",
        parameters = new Dictionary<string, object> { ["seconds"] = "PT30S" },
        deadline = "PT6H",
        cooldown,
        carbonBudgetGrams,
        triggers = new[] { trigger },
    };

    private static object Deployment(object retraining) =>
        new { model = "models:/mnist/1", target = new { agents = new[] { "edge-1" } }, retraining };

    /// <summary>An operator client, with the <c>retrain</c> pipeline and a model for the deployment.</summary>
    private async Task<HttpClient> ReadyAsync()
    {
        var client = ControlPlane.CreateClient(await ControlPlane.MintApiKeyAsync(ApiKeyRole.Operator));
        using var yaml = new StringContent(RetrainYaml, Encoding.UTF8);
        yaml.Headers.ContentType = new MediaTypeHeaderValue("application/yaml");
        using (var pipeline = await client.PutAsync("/api/v1/pipelines/retrain", yaml))
        {
            Assert.Equal(HttpStatusCode.Created, pipeline.StatusCode);
        }

        var bytes = await File.ReadAllBytesAsync(Path.Combine(AppContext.BaseDirectory, "fixtures", "models", "mnist-8.onnx"));
        using var model = await client.PostAsync("/api/v1/models/mnist/versions", new ByteArrayContent(bytes));
        Assert.Equal(HttpStatusCode.Created, model.StatusCode);
        return client;
    }

    private Task AddDatasetVersionAsync(char content) =>
        ControlPlane.Service<IDatasetStore>().AddVersionAsync("loans", new string(content, 64), 10, 1, [], _clock.GetUtcNow(), CancellationToken.None);

    private static async Task AssertRefusedAsync(HttpClient client, object retraining, string field)
    {
        using var response = await client.PutAsJsonAsync("/api/v1/deployments/refused", Deployment(retraining));
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, problem.ToString());
        Assert.True(problem.GetProperty("errors").TryGetProperty(field, out _), problem.ToString());
    }
}
