using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using EdgeGreen.ControlPlane.Core.Storage;
using EdgeGreen.ControlPlane.Tests.Storage;

namespace EdgeGreen.ControlPlane.Tests.Cluster;

/// <summary>
/// Two control-plane replicas on one PostgreSQL database: the first (a separate process, so that it
/// can die by SIGKILL) leads; an agent connected to the second runs jobs submitted to the second,
/// through the leader; when the leader is killed the second leads within the lease, a job that was
/// running meanwhile finishes once, and new jobs run.
/// </summary>
public sealed class ReplicaTests(PostgresServer server) : IClassFixture<PostgresServer>, IAsyncLifetime
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);
    private readonly TempDirectory _temp = new();
    private Faults.ControlPlaneProcess? _leader;

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        if (_leader is not null)
        {
            await _leader.DisposeAsync();
        }

        _temp.Dispose();
    }

    [RequiresProgramFact("initdb")]
    public async Task TwoReplicas_JobsRunThroughTheLeader_AndTheOtherLeadsWhenItDies_WithoutRunningAJobTwice()
    {
        var database = await server.CreateDatabaseAsync();
        var settings = new Dictionary<string, string?>
        {
            ["EdgeGreen:Storage:Provider"] = "Postgres",
            ["ConnectionStrings:EdgeGreen"] = database,
            ["EdgeGreen:Cluster:HeartbeatInterval"] = "00:00:00.250",
            ["EdgeGreen:Cluster:LeaderLease"] = "00:00:02",
            ["EdgeGreen:Cluster:ForgetAfter"] = "00:00:04",
            ["EdgeGreen:Scheduling:DispatchInterval"] = "00:00:00.100",
            // Long enough that a renewal delayed by a loaded machine (the suite's classes run in
            // parallel on two cores) does not lose a lease; the job across the failover outlasts it.
            ["EdgeGreen:Scheduling:LeaseDuration"] = "00:00:05",
        };
        _leader = new Faults.ControlPlaneProcess(Path.Combine(_temp.Path, "leader"),
            settings.ToDictionary(s => s.Key.Replace(":", "__", StringComparison.Ordinal), s => s.Value!));
        await _leader.StartAsync();

        await using var follower = await TestControlPlane.StartAsync(Path.Combine(_temp.Path, "follower"), settings: settings);
        using var client = follower.CreateClient(await follower.MintApiKeyAsync(ApiKeyRole.Operator));
        var cluster = await WaitForClusterAsync(client, c => c.Count == 2 && c.All(r => r.Url is not null) && c.Single(r => r.Leader).Self == false);
        Assert.Single(cluster, r => r.Self);

        await using var agent = await TestAgent.StartAsync(follower.GrpcUrl, await follower.MintEnrollmentTokenAsync(), Path.Combine(_temp.Path, "agent"),
            new Dictionary<string, string?> { ["EdgeGreen:Agent:Zone"] = "ES", ["EdgeGreen:Agent:CpuModel:Enabled"] = "true", ["EdgeGreen:Agent:HeartbeatInterval"] = "00:00:00.500" });
        await Eventually.WaitUntilAsync(async () => agent.Connection.AgentId is { } id
            && (await follower.Service<IAgentStore>().GetAsync(id, CancellationToken.None))?.State is not null, Patience, "the agent reports to the cluster");

        // Submitted to the follower, planned and leased by the leader, run by the follower's agent.
        var first = await SubmitAsync(client, "through-the-leader", "PT1S");
        var done = await WaitForAsync(client, first, "succeeded");
        Assert.Equal(1, done.GetProperty("attempts").GetInt32());

        // The leader dies (SIGKILL, no goodbye) while a job runs.
        var running = await SubmitAsync(client, "across-the-failover", "PT8S");
        await WaitForAsync(client, running, "running");
        await _leader.KillAsync();
        var failover = Stopwatch.StartNew();
        cluster = await WaitForClusterAsync(client, c => c.Any(r => r.Leader && r.Self));
        Assert.True(failover.Elapsed < TimeSpan.FromSeconds(10), $"the follower took {failover.Elapsed} to lead");

        var finished = await WaitForAsync(client, running, "succeeded");
        Assert.Equal(1, finished.GetProperty("attempts").GetInt32());
        var after = await SubmitAsync(client, "after-the-failover", "PT1S");
        Assert.Equal(1, (await WaitForAsync(client, after, "succeeded")).GetProperty("attempts").GetInt32());
        await WaitForClusterAsync(client, c => c.Count == 1 && c[0].Self && c[0].Leader);
    }

    private static async Task<List<Replica>> WaitForClusterAsync(HttpClient client, Func<List<Replica>, bool> condition)
    {
        List<Replica> replicas = [];
        await Eventually.WaitUntilAsync(async () =>
        {
            var body = await client.GetFromJsonAsync<JsonElement>(new Uri("/api/v1/cluster", UriKind.Relative));
            replicas = [.. body.GetProperty("replicas").EnumerateArray().Select(r => new Replica(
                r.GetProperty("id").GetString()!, r.GetProperty("url").GetString(), r.GetProperty("leader").GetBoolean(), r.GetProperty("self").GetBoolean()))];
            return condition(replicas);
        }, Patience, "the cluster is as expected");
        return replicas;
    }

    private static async Task<string> SubmitAsync(HttpClient client, string name, string duration)
    {
        using var response = await client.PostAsJsonAsync(new Uri("/api/v1/jobs", UriKind.Relative), new
        {
            name,
            kind = "burn",
            parameters = new { duration, threads = 1 },
        });
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(response.IsSuccessStatusCode, $"{(int)response.StatusCode}: {body}");
        return body.GetProperty("id").GetString()!;
    }

    private static async Task<JsonElement> WaitForAsync(HttpClient client, string id, string status)
    {
        JsonElement job = default;
        await Eventually.WaitUntilAsync(async () =>
        {
            job = await client.GetFromJsonAsync<JsonElement>(new Uri($"/api/v1/jobs/{id}", UriKind.Relative));
            Assert.NotEqual("failed", job.GetProperty("status").GetString());
            return job.GetProperty("status").GetString() == status;
        }, Patience, $"job {id} is {status}");
        return job;
    }

    private sealed record Replica(string Id, string? Url, bool Leader, bool Self);
}
