using EdgeGreen.ControlPlane.Core.Pipelines;
using EdgeGreen.ControlPlane.Core.Storage;

namespace EdgeGreen.ControlPlane.Tests.Storage;

/// <summary>The pipelines' half of the contract: versions, runs with optimistic revisions, the step cache.</summary>
public abstract partial class StorageContract
{
    [ContractFact]
    public async Task Pipelines_SameDefinitionIsTheSameVersion_AChangeTheNext_AcrossReopen()
    {
        var (first, created) = await Pipelines.AddVersionAsync("credit", Definition("PT12H"), "steps: []", "application/yaml", T0, CancellationToken.None);
        await ReopenAsync();
        var (same, createdAgain) = await Pipelines.AddVersionAsync("credit", Definition("PT12H"), "{\"steps\": []}", "application/json", T0.AddHours(1), CancellationToken.None);
        var (second, createdSecond) = await Pipelines.AddVersionAsync("credit", Definition("PT6H"), "changed", "application/json", T0.AddHours(2), CancellationToken.None);
        var (other, _) = await Pipelines.AddVersionAsync("churn", Definition("PT1H"), "other", "application/json", T0.AddHours(3), CancellationToken.None);

        Assert.True(created);
        Assert.False(createdAgain);
        Assert.True(createdSecond);
        Assert.Equal((1, 1, 2, 1), (first.Version, same.Version, second.Version, other.Version));
        Assert.Equal("steps: []", same.Source);
        var versions = await Pipelines.ListVersionsAsync("credit", CancellationToken.None);
        Assert.Equal([1, 2], versions.Select(v => v.Version));
        Assert.Equal(TimeSpan.FromHours(6), versions[1].Definition.Deadline);
        var step = versions[1].Definition.Steps.Single();
        Assert.Equal(("train", "train", "${{ parameters.dataset }}"), (step.Name, step.Kind, step.Parameters["dataset"]));
        Assert.Equal(new JobResources(2, 0, 0), step.Resources);
        Assert.Equal(["NO"], step.Placement!.Zones);
        Assert.Null(versions[1].Definition.Parameters["model"]);
        Assert.Equal(["churn:1", "credit:2"], (await Pipelines.ListLatestAsync(CancellationToken.None)).Select(v => $"{v.Pipeline}:{v.Version}"));
        Assert.Empty(await Pipelines.ListVersionsAsync("missing", CancellationToken.None));
    }

    [ContractFact]
    public async Task Pipelines_RunUpdatesNeedTheNextRevision_AndActiveRunsAreListed()
    {
        var run = Run("r1", T0);
        await Pipelines.AddRunAsync(run, CancellationToken.None);
        await Pipelines.AddRunAsync(Run("r2", T0.AddMinutes(1)), CancellationToken.None);
        await Pipelines.AddRunAsync(Run("r3", T0.AddMinutes(2)) with { Pipeline = "other" }, CancellationToken.None);

        var step = run.Steps[0] with { Status = PipelineStepStatus.Succeeded, Outputs = new Dictionary<string, string> { ["model"] = "models:/credit/3" }, CarbonGrams = 1.5 };
        var next = run.WithStep(step) with { Revision = 1, Status = PipelineRunStatus.Succeeded, FinishedAt = T0.AddHours(1) };
        Assert.True(await Pipelines.UpdateRunAsync(next, CancellationToken.None));
        Assert.False(await Pipelines.UpdateRunAsync(next with { StatusReason = "stale" }, CancellationToken.None));
        Assert.False(await Pipelines.UpdateRunAsync(next with { Id = "missing", Revision = 1 }, CancellationToken.None));

        await ReopenAsync();
        var stored = (await Pipelines.GetRunAsync("r1", CancellationToken.None))!;
        Assert.Equal(1, stored.Revision);
        Assert.Null(stored.StatusReason);
        Assert.Equal(PipelineRunStatus.Succeeded, stored.Status);
        Assert.Equal("models:/credit/3", stored.Steps[0].Outputs["model"]);
        Assert.Equal(1.5, stored.Steps[0].CarbonGrams);
        Assert.Equal(T0.AddHours(1), stored.FinishedAt);
        Assert.Equal(["r2", "r1"], (await Pipelines.ListRunsAsync("credit", 10, CancellationToken.None)).Select(r => r.Id));
        Assert.Equal(["r2"], (await Pipelines.ListRunsAsync("credit", 1, CancellationToken.None)).Select(r => r.Id));
        Assert.Equal(["r2", "r3"], (await Pipelines.ListActiveRunsAsync(CancellationToken.None)).Select(r => r.Id).Order());
        Assert.Null(await Pipelines.GetRunAsync("missing", CancellationToken.None));
    }

    [ContractFact]
    public async Task Pipelines_CacheEntryIsFoundByKey_AndALaterOneReplacesIt()
    {
        var entry = new PipelineCacheEntry("k1", "r1", "train", new Dictionary<string, string> { ["model"] = "models:/credit/1" },
            new Dictionary<string, double> { ["auc"] = 0.78 }, 1200, 0.4, T0);
        await Pipelines.PutCacheEntryAsync(entry, CancellationToken.None);
        await Pipelines.PutCacheEntryAsync(entry with { RunId = "r2" }, CancellationToken.None);

        await ReopenAsync();
        var found = (await Pipelines.FindCacheEntryAsync("k1", CancellationToken.None))!;
        Assert.Equal("r2", found.RunId);
        Assert.Equal(0.78, found.Metrics["auc"]);
        Assert.Equal("models:/credit/1", found.Outputs["model"]);
        Assert.Null(await Pipelines.FindCacheEntryAsync("k2", CancellationToken.None));
    }

    private static PipelineDefinition Definition(string deadline) => new(
        new Dictionary<string, string?> { ["dataset"] = "credit:1", ["model"] = null },
        EdgeGreen.Shared.Durations.TryParse(deadline, out var d) ? d : null,
        50,
        null,
        [new PipelineStep("train", "train", new Dictionary<string, string> { ["dataset"] = "${{ parameters.dataset }}" }, [], null, true, 1,
            TimeSpan.FromMinutes(10), 30, new JobResources(2, 0, 0), new JobPlacement(new Dictionary<string, string>(), ["NO"]), false, null, null)]);

    private static PipelineRun Run(string id, DateTimeOffset createdAt) => new(
        id, "credit", 1, new Dictionary<string, string> { ["dataset"] = "credit:1" }, createdAt, createdAt.AddHours(12), 50, null, PipelineRunStatus.Running,
        [new PipelineStepRun("train", PipelineStepStatus.Running) { JobId = "job-1", Attempts = 1 }, new PipelineStepRun("evaluate", PipelineStepStatus.Pending)], 0);
}
