using System.Net;
using System.Net.Http.Json;

namespace EdgeGreen.ControlPlane.Tests.Jobs;

public sealed class JobSubmissionTests : JobsTest
{
    public static TheoryData<string, object> InvalidJobs => new()
    {
        { "name", new { kind = "burn", parameters = new { duration = "PT1S" } } },
        { "kind", new { name = "x", kind = "mine-bitcoin", parameters = new { duration = "PT1S" } } },
        { "parameters.duration", new { name = "x", kind = "burn", parameters = new { duration = "forever" } } },
        { "parameters.threads", new { name = "x", kind = "burn", parameters = new { duration = "PT1S", threads = 0 } } },
        { "parameters.nested", new { name = "x", kind = "burn", parameters = new { duration = "PT1S", nested = new { a = 1 } } } },
        { "deadline", new { name = "x", kind = "burn", parameters = new { duration = "PT1S" }, earliestStart = "2030-01-02T00:00:00Z", deadline = "2030-01-01T00:00:00Z" } },
        { "estimatedDuration", new { name = "x", kind = "burn", parameters = new { duration = "PT1S" }, estimatedDuration = "PT100H" } },
        { "estimatedPowerWatts", new { name = "x", kind = "burn", parameters = new { duration = "PT1S" }, estimatedPowerWatts = -3 } },
        { "carbonBudgetGrams", new { name = "x", kind = "burn", parameters = new { duration = "PT1S" }, carbonBudgetGrams = 0 } },
        { "resources", new { name = "x", kind = "burn", parameters = new { duration = "PT1S" }, resources = new { cpuCores = -1 } } },
        { "placement.zones", new { name = "x", kind = "burn", parameters = new { duration = "PT1S" }, placement = new { zones = new[] { "ATLANTIS" } } } },
        { "deadline", new { name = "x", kind = "burn", parameters = new { duration = "PT1S" }, earliestStart = "1970-01-01T00:00:00Z", deadline = "1970-01-02T00:00:00Z" } },
        { "deadline", new { name = "x", kind = "burn", parameters = new { duration = "PT1S" }, earliestStart = "2020-01-01T00:00:00Z", deadline = "2020-01-01T01:00:00Z" } },
        { "deadline", new { name = "x", kind = "burn", parameters = new { duration = "PT1S" }, deadline = "9999-12-31T23:59:59Z" } },
        { "earliestStart", new { name = "x", kind = "burn", parameters = new { duration = "PT1S" }, earliestStart = "0001-01-01T00:00:00Z" } },
        { "earliestStart", new { name = "x", kind = "burn", parameters = new { duration = "PT1S" }, earliestStart = "9999-12-31T00:00:00Z", deadline = "9999-12-31T23:59:59Z" } },
    };

    [Theory]
    [MemberData(nameof(InvalidJobs))]
    public async Task Submit_Invalid_Returns400NamingTheFieldAndStoresNothing(string field, object job)
    {
        var (status, body) = await SubmitAsync(job);

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.True(body.GetProperty("errors").TryGetProperty(field, out _), $"expected an error for {field}: {body}");
        Assert.Equal(0, await CountJobsAsync());
    }

    [Theory]
    [InlineData("pending,running")]
    [InlineData("2")]
    [InlineData("bogus")]
    public async Task List_StatusNotExactlyOneName_Returns400NamingTheStatuses(string status)
    {
        using var response = await Client.GetAsync($"/api/v1/jobs?status={Uri.EscapeDataString(status)}");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<System.Text.Json.JsonElement>();
        Assert.Contains("pending, held, running", problem.GetProperty("errors").GetProperty("status")[0].GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Submit_OverItsCarbonBudget_Returns422WithTheReasonAndStoresNothing()
    {
        await StartAgentAsync();

        // A kilowatt for an hour is a kilowatt-hour: hundreds of grams in any bundled zone.
        var (status, body) = await SubmitAsync(Burn("greedy", "PT1H", new { estimatedPowerWatts = 1000.0, carbonBudgetGrams = 1.0 }));

        Assert.Equal(HttpStatusCode.UnprocessableEntity, status);
        Assert.Contains("carbon budget", body.GetProperty("detail").GetString());
        Assert.True(body.GetProperty("forecastCarbonGrams").GetDouble() > 1);
        Assert.Equal(0, await CountJobsAsync());
    }

    [Fact]
    public async Task Submit_ThreadsWithoutResources_ReservesThatManyCores()
    {
        await StartAgentAsync();

        var (_, implied) = await SubmitAsync(new { name = "two", kind = "burn", parameters = new { duration = "PT1S", threads = 2 } });
        var (_, named) = await SubmitAsync(new { name = "one", kind = "burn", parameters = new { duration = "PT1S", threads = 2 }, resources = new { cpuCores = 1 } });
        var (_, none) = await SubmitAsync(new { name = "default", kind = "burn", parameters = new { duration = "PT1S" } });

        Assert.Equal(2, implied.GetProperty("resources").GetProperty("cpuCores").GetInt32());
        Assert.Equal(1, named.GetProperty("resources").GetProperty("cpuCores").GetInt32());
        Assert.Equal(1, none.GetProperty("resources").GetProperty("cpuCores").GetInt32());
    }

    [Fact]
    public async Task Submit_OverItsEnergyBudget_Returns422()
    {
        await StartAgentAsync();

        var (status, body) = await SubmitAsync(Burn("hungry", "PT10S", new { estimatedPowerWatts = 100.0, energyBudgetJoules = 10.0 }));

        Assert.Equal(HttpStatusCode.UnprocessableEntity, status);
        Assert.Contains("energy budget", body.GetProperty("detail").GetString());
    }

    [Fact]
    public async Task Submit_WithoutOperatorRole_IsForbidden()
    {
        using var viewer = ControlPlane.CreateClient(await ControlPlane.MintApiKeyAsync(EdgeGreen.ControlPlane.Core.Storage.ApiKeyRole.Viewer));

        using var response = await viewer.PostAsync("/api/v1/jobs", System.Net.Http.Json.JsonContent.Create(Burn("x", "PT1S")));

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
    }
}

public sealed class JobHoldAndFlagPolicyTests : JobsTest
{
    protected override IReadOnlyDictionary<string, string?>? Settings => new Dictionary<string, string?>(base.Settings!)
    {
        ["EdgeGreen:Scheduling:OverBudget"] = "Hold",
        ["EdgeGreen:Scheduling:Overrun"] = "Flag",
    };

    [Fact]
    public async Task Submit_OverBudgetUnderHoldPolicy_IsStoredHeldWithTheReason()
    {
        await StartAgentAsync();

        var held = await SubmitAcceptedAsync(Burn("greedy", "PT1H", new { estimatedPowerWatts = 1000.0, carbonBudgetGrams = 1.0 }));

        Assert.Equal("held", held.GetProperty("status").GetString());
        Assert.Contains("carbon budget", held.GetProperty("statusReason").GetString());
        // A submission replans every pending and held job: the held one stays held.
        await SubmitAcceptedAsync(Burn("small", "PT1S", new { estimatedPowerWatts = 1.0 }));
        Assert.Equal("held", (await GetJobAsync(held.GetProperty("id").GetString()!)).GetProperty("status").GetString());
    }

    [Fact]
    public async Task Overrun_UnderFlagPolicy_FinishesFlagged()
    {
        await StartAgentAsync();

        var id = (await SubmitAcceptedAsync(Burn("runaway", "PT2S", new { estimatedPowerWatts = 0.0001, energyBudgetJoules = 0.001 })))
            .GetProperty("id").GetString()!;

        var done = await WaitForStatusAsync(id, "succeeded", TimeSpan.FromSeconds(30));
        Assert.True(done.GetProperty("overBudget").GetBoolean());
        Assert.Contains("energy budget", done.GetProperty("statusReason").GetString());
    }
}
