using EdgeGreen.ControlPlane.Core.Deployments;

namespace EdgeGreen.ControlPlane.Tests.Storage;

/// <summary>The deployments' half of the contract: one per name, updates at the next revision only.</summary>
public abstract partial class StorageContract
{
    [ContractFact]
    public async Task Deployments_OnePerName_UpdatesNeedTheNextRevision_AcrossReopen()
    {
        var target = new DeploymentTarget(new Dictionary<string, string> { ["site"] = "lab" }, ["NO"], ["a1"]);
        var created = new DeploymentRecord("credit", "models:/credit@champion", target, 2, new DeployedVersion("credit", 1, new string('a', 64)), null, T0, T0, 0)
            .WithEvent(new DeploymentEvent(T0, "created", 1, "Serving version 1."));
        Assert.True(await Deployments.AddAsync(created, CancellationToken.None));
        Assert.False(await Deployments.AddAsync(created with { Threads = 4 }, CancellationToken.None));
        await Deployments.AddAsync(created with { Name = "churn" }, CancellationToken.None);

        var updated = created with { Current = new DeployedVersion("credit", 2, new string('b', 64)), Previous = created.Current, UpdatedAt = T0.AddHours(1), Revision = 1 };
        Assert.True(await Deployments.UpdateAsync(updated, CancellationToken.None));
        Assert.False(await Deployments.UpdateAsync(updated with { Threads = 8 }, CancellationToken.None));

        await ReopenAsync();
        var stored = (await Deployments.GetAsync("credit", CancellationToken.None))!;
        Assert.Equal((2, 1, 1L, 2), (stored.Current.Version, stored.Previous!.Version, stored.Revision, stored.Threads));
        Assert.Equal(["NO"], stored.Target.Zones);
        Assert.Equal("lab", stored.Target.AgentLabels["site"]);
        Assert.Equal("Serving version 1.", Assert.Single(stored.History).Message);
        Assert.Equal(["churn", "credit"], (await Deployments.ListAsync(CancellationToken.None)).Select(d => d.Name));
        Assert.True(await Deployments.DeleteAsync("churn", CancellationToken.None));
        Assert.False(await Deployments.DeleteAsync("churn", CancellationToken.None));
        Assert.Null(await Deployments.GetAsync("churn", CancellationToken.None));
    }
}
