using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using EdgeGreen.ControlPlane.Core.Jobs;
using EdgeGreen.ControlPlane.Jobs;
using EdgeGreen.ControlPlane.Core.Storage;
using EdgeGreen.ControlPlane.Storage;

namespace EdgeGreen.ControlPlane.Tests.Jobs;

/// <summary>A control plane with a fast scheduler, and real agents that run jobs on this machine.</summary>
public abstract class JobsTest : ControlPlaneTest
{
    private readonly List<TestAgent> _agents = [];
    private readonly TempDirectory _agentData = new();

    protected HttpClient Client { get; private set; } = null!;

    protected override IReadOnlyDictionary<string, string?>? Settings => new Dictionary<string, string?>
    {
        ["EdgeGreen:Scheduling:DispatchInterval"] = "00:00:00.100",
        ["EdgeGreen:Scheduling:LeaseDuration"] = "00:00:01.500",
    };

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        Client = ControlPlane.CreateClient(await ControlPlane.MintApiKeyAsync(ApiKeyRole.Operator));
    }

    public override async Task DisposeAsync()
    {
        // Each host fails the test on an error it logged that the test did not expect.
        try
        {
            foreach (var agent in _agents)
            {
                await agent.DisposeAsync();
            }
        }
        finally
        {
            Client.Dispose();
            await base.DisposeAsync();
            _agentData.Dispose();
        }
    }

    /// <summary>Starts an agent with the CPU model on (so jobs have energy) and waits until it takes jobs.</summary>
    internal async Task<TestAgent> StartAgentAsync(string zone = "ES", string name = "worker", string? site = null, string progressInterval = "00:00:00.200")
    {
        var settings = new Dictionary<string, string?>
        {
            ["EdgeGreen:Agent:Name"] = name,
            ["EdgeGreen:Agent:Zone"] = zone,
            ["EdgeGreen:Agent:CpuModel:Enabled"] = "true",
            ["EdgeGreen:Agent:Sensors:Rapl:Enabled"] = "true",
            ["EdgeGreen:Agent:SampleInterval"] = "00:00:00.200",
            ["EdgeGreen:Agent:HeartbeatInterval"] = "00:00:00.500",
            ["EdgeGreen:Agent:Jobs:ProgressInterval"] = progressInterval,
        };
        if (site is not null)
        {
            settings["EdgeGreen:Agent:Labels:site"] = site;
        }

        var agent = await TestAgent.StartAsync(ControlPlane.GrpcUrl, await ControlPlane.MintEnrollmentTokenAsync(), Path.Combine(_agentData.Path, name), settings);
        _agents.Add(agent);
        await Eventually.WaitUntilAsync(async () => agent.Connection.AgentId is { } id && ControlPlane.Service<JobDispatcher>().IsConnected(id)
            && (await ControlPlane.Service<IAgentStore>().GetAsync(id, CancellationToken.None))?.State is not null,
            TimeSpan.FromSeconds(20), "the agent watches for jobs");
        return agent;
    }

    protected async Task<(HttpStatusCode Status, JsonElement Body)> SubmitAsync(object job)
    {
        using var response = await Client.PostAsJsonAsync("/api/v1/jobs", job);
        return (response.StatusCode, await response.Content.ReadFromJsonAsync<JsonElement>());
    }

    protected async Task<JsonElement> SubmitAcceptedAsync(object job)
    {
        var (status, body) = await SubmitAsync(job);
        Assert.True(status == HttpStatusCode.Created, $"Expected 201, got {(int)status}: {body}");
        return body;
    }

    protected async Task<JsonElement> GetJobAsync(string id) => await Client.GetFromJsonAsync<JsonElement>($"/api/v1/jobs/{id}");

    protected async Task<JsonElement> WaitForStatusAsync(string id, string status, TimeSpan timeout)
    {
        JsonElement job = default;
        await Eventually.WaitUntilAsync(async () =>
        {
            job = await GetJobAsync(id);
            return job.GetProperty("status").GetString() == status;
        }, timeout, $"job {id} is {status}");
        return job;
    }

    protected async Task<int> CountJobsAsync() => (await Client.GetFromJsonAsync<JsonElement>("/api/v1/jobs")).GetArrayLength();

    protected static object Burn(string name, string duration, object? extra = null)
    {
        var job = new Dictionary<string, object?>
        {
            ["name"] = name,
            ["kind"] = "burn",
            ["parameters"] = new Dictionary<string, object> { ["duration"] = duration, ["threads"] = 1 },
        };
        foreach (var property in extra?.GetType().GetProperties() ?? [])
        {
            job[property.Name] = property.GetValue(extra);
        }

        return job;
    }

    protected static double? Number(JsonElement job, string property) =>
        job.GetProperty(property).ValueKind == JsonValueKind.Null ? null : job.GetProperty(property).GetDouble();
}
