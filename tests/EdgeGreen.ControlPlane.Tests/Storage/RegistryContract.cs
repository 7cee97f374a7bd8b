using EdgeGreen.ControlPlane.Core.Storage;

namespace EdgeGreen.ControlPlane.Tests.Storage;

/// <summary>The model registry's and the webhooks' half of the contract.</summary>
public abstract partial class StorageContract
{
    [ContractFact]
    public async Task Models_VersionsNumberFromOnePerModel_AndRegistrationIsIdempotentPerJob_AcrossReopen()
    {
        var (first, created) = await Models.AddVersionAsync("credit", v => Version("credit", v, "job-1"), T0, CancellationToken.None);
        Assert.True(created);
        Assert.Equal(1, first.Version);

        await ReopenAsync();
        var (again, createdAgain) = await Models.AddVersionAsync("credit", v => Version("credit", v, "job-1"), T0.AddHours(1), CancellationToken.None);
        var (second, _) = await Models.AddVersionAsync("credit", v => Version("credit", v, "job-2"), T0.AddHours(2), CancellationToken.None);
        var (untracked, _) = await Models.AddVersionAsync("credit", v => Version("credit", v, null), T0.AddHours(3), CancellationToken.None);
        var (untrackedAgain, _) = await Models.AddVersionAsync("credit", v => Version("credit", v, null), T0.AddHours(4), CancellationToken.None);
        var (other, _) = await Models.AddVersionAsync("churn", v => Version("churn", v, "job-1"), T0.AddHours(5), CancellationToken.None);

        Assert.False(createdAgain);
        Assert.Equal((first.Version, first.CreatedAt), (again.Version, again.CreatedAt));
        Assert.Equal([2, 3, 4, 1], new[] { second, untracked, untrackedAgain, other }.Select(v => v.Version));
        Assert.Equal([1, 2, 3, 4], (await Models.ListVersionsAsync("credit", CancellationToken.None)).Select(v => v.Version));
        Assert.Equal(["churn", "credit"], (await Models.ListModelsAsync(CancellationToken.None)).Select(m => m.Name));
        var model = await Models.GetModelAsync("credit", CancellationToken.None);
        Assert.Equal(T0, model!.CreatedAt);
        Assert.Empty(model.Tags);
        Assert.Empty(model.Aliases);
        Assert.Equal("job-2", (await Models.GetVersionAsync("credit", 2, CancellationToken.None))!.Lineage.JobId);
        Assert.Null(await Models.GetVersionAsync("credit", 9, CancellationToken.None));
        Assert.Null(await Models.GetModelAsync("missing", CancellationToken.None));
        Assert.Empty(await Models.ListVersionsAsync("missing", CancellationToken.None));
    }

    [ContractFact]
    public async Task Models_VersionRoundTripsEveryField_AndUpdatesReplaceTagsAndAliases()
    {
        var measured = new ServingMeasurement(8, 2, 950.5, 1.25, 4.5, 12.75, 0.003);
        var full = Version("credit", 1, "job-1") with
        {
            Status = ModelVersionStatus.Failed,
            StatusMessage = "bad input",
            Serving = new ServingProfile("job-9", "a1", T0.AddTicks(77), measured, [measured, measured with { BatchSize = 1 }]),
        };
        await Models.AddVersionAsync("credit", _ => full, T0, CancellationToken.None);

        await ReopenAsync();
        var stored = (await Models.GetVersionAsync("credit", 1, CancellationToken.None))!;

        Assert.Equal(full with { Inputs = stored.Inputs, Outputs = stored.Outputs, Metrics = stored.Metrics, Lineage = stored.Lineage, Sustainability = stored.Sustainability,
            Tags = stored.Tags, Serving = stored.Serving }, stored);
        Assert.Equal(full.Inputs.Single() with { Shape = stored.Inputs.Single().Shape }, stored.Inputs.Single());
        Assert.Equal([-1L, 4L], stored.Inputs.Single().Shape);
        Assert.Equal(full.Metrics, stored.Metrics);
        Assert.Equal(full.Lineage with { Hyperparameters = stored.Lineage.Hyperparameters }, stored.Lineage);
        Assert.Equal(full.Lineage.Hyperparameters, stored.Lineage.Hyperparameters);
        Assert.Equal(full.Sustainability, stored.Sustainability);
        Assert.Equal(full.Serving!.Measured, stored.Serving!.Measured);
        Assert.Equal(full.Serving with { Measured = stored.Serving.Measured }, stored.Serving);

        var model = (await Models.GetModelAsync("credit", CancellationToken.None))!;
        Assert.True(await Models.UpdateModelAsync(model with
        {
            Tags = new Dictionary<string, string> { ["team"] = "risk" },
            Aliases = new Dictionary<string, int> { ["champion"] = 1 },
        }, CancellationToken.None));
        Assert.True(await Models.UpdateVersionAsync(stored with { Tags = new Dictionary<string, string> { ["stage"] = "production" } }, CancellationToken.None));
        Assert.False(await Models.UpdateModelAsync(model with { Name = "missing" }, CancellationToken.None));
        Assert.False(await Models.UpdateVersionAsync(stored with { Version = 7 }, CancellationToken.None));

        await ReopenAsync();
        var updated = (await Models.GetModelAsync("credit", CancellationToken.None))!;
        Assert.Equal(("risk", 1), (updated.Tags["team"], updated.Aliases["champion"]));
        Assert.Equal("production", Assert.Single((await Models.GetVersionAsync("credit", 1, CancellationToken.None))!.Tags).Value);
        Assert.Single(await Models.ListVersionsAsync("credit", CancellationToken.None));
    }

    [ContractFact]
    public async Task Models_ConcurrentRegistrations_GetDistinctNumbers()
    {
        var registrations = await Task.WhenAll(Enumerable.Range(1, 8).Select(i =>
            Task.Run(() => Models.AddVersionAsync("credit", v => Version("credit", v, $"job-{i}"), T0, CancellationToken.None))));

        Assert.All(registrations, r => Assert.True(r.Created));
        Assert.Equal(Enumerable.Range(1, 8), registrations.Select(r => r.Version.Version).Order());
        Assert.Equal(8, (await Models.ListVersionsAsync("credit", CancellationToken.None)).Count);
    }

    [ContractFact]
    public async Task Webhooks_ListedInCreationOrder_SecretsAsGiven_DeletedOnce_AcrossReopen()
    {
        var later = new WebhookRecord("w2", "https://example.org/hook", ["alert.raised"], "c2VjcmV0LTI=", T0.AddMinutes(1).AddTicks(3));
        var earlier = new WebhookRecord("w1", "https://example.com/hook", ["job.finished", "model.registered"], "secret-1", T0);
        await Webhooks.AddAsync(later, CancellationToken.None);
        await Webhooks.AddAsync(earlier, CancellationToken.None);

        await ReopenAsync();
        var listed = await Webhooks.ListAsync(CancellationToken.None);

        Assert.Equal(["w1", "w2"], listed.Select(w => w.Id));
        Assert.Equal(earlier with { Events = listed[0].Events }, listed[0]);
        Assert.Equal(later with { Events = listed[1].Events }, listed[1]);
        Assert.Equal(earlier.Events, listed[0].Events);
        Assert.True(await Webhooks.DeleteAsync("w1", CancellationToken.None));
        Assert.False(await Webhooks.DeleteAsync("w1", CancellationToken.None));
        Assert.False(await Webhooks.DeleteAsync("missing", CancellationToken.None));
        Assert.Equal(["w2"], (await Webhooks.ListAsync(CancellationToken.None)).Select(w => w.Id));
    }

    [ContractFact]
    public async Task Webhooks_ReplaceSecret_OnlyWhileItIsTheExpectedOne_AcrossReopen()
    {
        await Webhooks.AddAsync(new WebhookRecord("w1", "https://example.com/hook", ["alias.moved"], "clear", T0), CancellationToken.None);

        Assert.False(await Webhooks.ReplaceSecretAsync("w1", "not-the-secret", "sealed", CancellationToken.None));
        Assert.False(await Webhooks.ReplaceSecretAsync("missing", "clear", "sealed", CancellationToken.None));
        Assert.True(await Webhooks.ReplaceSecretAsync("w1", "clear", "sealed", CancellationToken.None));
        Assert.False(await Webhooks.ReplaceSecretAsync("w1", "clear", "sealed-again", CancellationToken.None));

        await ReopenAsync();
        Assert.Equal("sealed", Assert.Single(await Webhooks.ListAsync(CancellationToken.None)).Secret);
    }

    private static ModelVersionRecord Version(string name, int version, string? jobId) => new(
        name, version, ModelVersionStatus.Ready, null, T0.AddTicks(version), new string('a', 64), 4096, "onnx",
        [new ModelTensor("features", "float", [-1, 4])], [new ModelTensor("label", "int64", [-1])],
        new Dictionary<string, double> { ["auc"] = 0.812345678901 },
        new ModelLineage(jobId, "credit", 2, new string('b', 64), "FastTree", new Dictionary<string, string> { ["trees"] = "100" }),
        new ModelSustainability(3600, 0.5, 180.25, 0.0125, new SciTerms(0.001, 180.25, 0.02, "1000 inferences"), 0.1),
        new Dictionary<string, string>());
}
