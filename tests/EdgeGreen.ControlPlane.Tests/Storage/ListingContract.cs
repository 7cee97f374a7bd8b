using EdgeGreen.ControlPlane.Core.Storage;

namespace EdgeGreen.ControlPlane.Tests.Storage;

/// <summary>The listings that let a store be copied whole (<c>copy-to-postgres</c>).</summary>
public abstract partial class StorageContract
{
    [ContractFact]
    public async Task Access_ListsEveryApiKeyAndUnconsumedToken_OldestFirst_AcrossReopen()
    {
        Assert.Empty(await Access.ListApiKeysAsync(CancellationToken.None));
        Assert.Empty(await Access.ListEnrollmentTokensAsync(CancellationToken.None));
        var newer = new ApiKeyRecord("k1", "dashboard", ApiKeyRole.Viewer, "hash-1", T0.AddMinutes(1));
        var older = new ApiKeyRecord("k2", "bootstrap-admin", ApiKeyRole.Admin, "hash-2", T0);
        var first = new EnrollmentTokenRecord("t2", T0, T0.AddHours(1));
        var second = new EnrollmentTokenRecord("t1", T0.AddMinutes(1), T0.AddHours(1));
        await Access.AddApiKeyAsync(newer, CancellationToken.None);
        await Access.AddApiKeyAsync(older, CancellationToken.None);
        await Access.AddEnrollmentTokenAsync(second, CancellationToken.None);
        await Access.AddEnrollmentTokenAsync(first, CancellationToken.None);
        await Access.AddEnrollmentTokenAsync(new EnrollmentTokenRecord("t3", T0, T0.AddHours(1)), CancellationToken.None);
        Assert.True(await Access.TryConsumeEnrollmentTokenAsync("t3", T0.AddMinutes(2), CancellationToken.None));

        await ReopenAsync();

        Assert.Equal([older, newer], await Access.ListApiKeysAsync(CancellationToken.None));
        Assert.Equal([first, second], await Access.ListEnrollmentTokensAsync(CancellationToken.None));
    }

    [ContractFact]
    public async Task Jobs_ListAll_GivesEveryJobOnce_WhateverItsStatus_BeyondOnePage()
    {
        Assert.Empty(await Jobs.ListAllAsync(CancellationToken.None).ToListAsync());
        // More jobs than a page of the stores that read a page at a time (LiteDB reads 1,000), added out of id order.
        var statuses = Enum.GetValues<JobStatus>();
        var jobs = Enumerable.Range(0, 1_050)
            .Select(i => Job($"job-{i * 7_919 % 1_050:x4}", "x", T0.AddSeconds(i)) with { Status = statuses[i % statuses.Length] })
            .ToList();
        foreach (var job in jobs)
        {
            await Jobs.AddAsync(job, CancellationToken.None);
        }

        await ReopenAsync();
        var listed = await Jobs.ListAllAsync(CancellationToken.None).ToListAsync();

        Assert.Equal(jobs.Select(j => (j.Id, j.Status, j.SubmittedAt)).OrderBy(j => j.Id, StringComparer.Ordinal),
            listed.Select(j => (j.Id, j.Status, j.SubmittedAt)).OrderBy(j => j.Id, StringComparer.Ordinal));
        Assert.Equal(jobs[0].Placement.Zones, listed.Single(j => j.Id == jobs[0].Id).Placement.Zones);
    }
}
