using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text.Json;
using EdgeGreen.ControlPlane.Core.Storage;
using EdgeGreen.ControlPlane.Storage;

namespace EdgeGreen.ControlPlane.Tests;

public sealed class SingleNodeTests
{
    private static readonly TimeSpan TenSeconds = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task LocalAgent_EnrolsOverLoopbackGrpc_AndIsListedWithReadingsWithinTenSeconds()
    {
        using var temp = new TempDirectory();
        await using var controlPlane = await TestControlPlane.StartAsync(temp.Path, localAgent: true);
        using var viewer = controlPlane.CreateClient(controlPlane.AdminKey);

        var agent = await WaitForLocalAgentWithReadingsAsync(viewer);

        Assert.Equal("online", agent.GetProperty("status").GetString());
        Assert.Equal("ES", agent.GetProperty("zone").GetString());
        Assert.True(agent.GetProperty("powerWatts").GetDouble() > 0);
        // No counter is readable here: CPU and RAM are modelled, each saying why or how.
        var sensors = agent.GetProperty("sensors").EnumerateArray().ToDictionary(s => s.GetProperty("domain").GetString()!);
        Assert.Equal(["cpu.package", "dram"], sensors.Keys.Order());
        Assert.All(sensors.Values, s => Assert.Equal("modelled", s.GetProperty("provenance").GetString()));
        Assert.Contains("no RAPL package zone", sensors["cpu.package"].GetProperty("note").GetString());
        Assert.Contains("module(s)", sensors["dram"].GetProperty("note").GetString());
        var inference = agent.GetProperty("inference");
        Assert.Equal("CPUExecutionProvider", inference.GetProperty("provider").GetString());
        Assert.Contains("no CUDA execution provider", inference.GetProperty("note").GetString());
        Assert.True(File.Exists(Path.Combine(temp.Path, "local-agent", "agent-credential.json")));
        Assert.True(File.Exists(Path.Combine(temp.Path, "local-agent", "outbox.db")));
        Assert.Empty(controlPlane.Errors.Entries);
    }

    [Fact]
    public async Task LocalAgentInference_BodyOver64MiB_Answers413WithTheProtocolsError()
    {
        using var temp = new TempDirectory();
        await using var controlPlane = await TestControlPlane.StartAsync(temp.Path, localAgent: true);
        using var viewer = controlPlane.CreateClient(await controlPlane.MintApiKeyAsync(ApiKeyRole.Viewer));

        using var response = await viewer.PostAsync(new Uri("/v2/models/any/infer", UriKind.Relative), new ByteArrayContent(new byte[70 * 1024 * 1024]));

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.True((await response.Content.ReadFromJsonAsync<JsonElement>()).TryGetProperty("error", out _));
        Assert.Empty(controlPlane.Errors.Entries);
    }

    [Fact]
    public async Task LocalAgent_Restart_KeepsItsIdentity()
    {
        using var temp = new TempDirectory();
        string firstId;
        await using (var first = await TestControlPlane.StartAsync(temp.Path, localAgent: true))
        {
            using var client = first.CreateClient(first.AdminKey);
            firstId = (await WaitForLocalAgentWithReadingsAsync(client)).GetProperty("id").GetString()!;
        }

        await using var second = await TestControlPlane.StartAsync(temp.Path, localAgent: true);
        var adminKeyAfterRestart = second.AdminKey;
        using var http = second.CreateClient(adminKeyAfterRestart);
        var durableBefore = await second.Service<ITelemetryStore>().GetDurableSequenceAsync(firstId, CancellationToken.None);
        await Eventually.WaitUntilAsync(
            async () => await second.Service<ITelemetryStore>().GetDurableSequenceAsync(firstId, CancellationToken.None) > durableBefore,
            TenSeconds, "the same agent streams again");

        var agents = await http.GetFromJsonAsync<JsonElement>(new Uri("/api/v1/agents", UriKind.Relative));
        Assert.Equal(firstId, Assert.Single(agents.EnumerateArray()).GetProperty("id").GetString());
    }

    [Fact]
    public async Task LocalAgentDisabled_NoAgentIsEnrolled()
    {
        using var temp = new TempDirectory();
        await using var controlPlane = await TestControlPlane.StartAsync(temp.Path, localAgent: false);

        // Nothing of the agent is there to enrol later: its services are not registered at all.
        Assert.Null(controlPlane.Service<IServiceProvider>().GetService(typeof(EdgeGreen.Agent.Uplink.AgentConnection)));
        Assert.Empty(await controlPlane.Service<IAgentStore>().ListAsync(CancellationToken.None));
    }

    [Theory]
    [InlineData("EdgeGreen:Ingest:MaxPowerWatts", "-1")]
    [InlineData("EdgeGreen:Agents:OfflineAfter", "00:00:00")]
    [InlineData("EdgeGreen:LocalAgent:SampleInterval", "00:00:00")]
    [InlineData("EdgeGreen:LocalAgent:Outbox:MaxReadings", "5")]
    [InlineData("EdgeGreen:Feed:TopicPrefix", "edgegreen/#")]
    [InlineData("EdgeGreen:Feed:MaxPacketSizeBytes", "100")]
    [InlineData("EdgeGreen:Feed:MaxConnections", "0")]
    [InlineData("EdgeGreen:Feed:MaxRetainedMessages", "0")]
    [InlineData("EdgeGreen:Feed:MaxRetainedPayloadBytes", "-1")]
    [InlineData("EdgeGreen:Telemetry:RawRetention", "00:00:01")]
    [InlineData("EdgeGreen:Telemetry:MaxBatchesPerCommit", "0")]
    [InlineData("EdgeGreen:Telemetry:ConcurrentCommits", "65")]
    [InlineData("EdgeGreen:Cluster:LeaderLease", "00:00:01")]
    [InlineData("EdgeGreen:Cluster:AdvertisedHttpUrl", "not a url")]
    [InlineData("EdgeGreen:Limits:AnonymousRequestsPerMinute", "0")]
    [InlineData("EdgeGreen:Limits:RequestTimeout", "00:00:00")]
    [InlineData("EdgeGreen:Outbound:AllowedNetworks:0", "127.0.0.0/33")]
    [InlineData("EdgeGreen:Security:KeyDirectory", " ")]
    [InlineData("EdgeGreen:Pipelines:Interval", "00:00:00")]
    [InlineData("EdgeGreen:Deployments:AnalysisInterval", "00:00:00")]
    [InlineData("EdgeGreen:Deployments:RetrainingInterval", "00:00:00")]
    [InlineData("EdgeGreen:Pipelines:MaxDefinitionBytes", "10")]
    [InlineData("EdgeGreen:Alerts:EvaluationInterval", "00:00:00")]
    [InlineData("EdgeGreen:Alerts:MaxRules", "0")]
    [InlineData("EdgeGreen:Alerts:ResolvedRetention", "00:00:01")]
    [InlineData("EdgeGreen:Dashboard:SessionLifetime", "00:00:10")]
    public async Task Start_InvalidSetting_FailsWithMessageNamingTheKey(string key, string value)
    {
        using var temp = new TempDirectory();

        // Some settings are read while the routes are mapped (the dashboard's key ring), the rest at start: both are the start.
        var error = await Assert.ThrowsAnyAsync<Exception>(async () =>
        {
            await using var app = TestControlPlane.Build(temp.Path, 0, localAgent: true, new Dictionary<string, string?> { [key] = value }, out _);
            await app.StartAsync();
        });

        Assert.Contains(key, error.Message, StringComparison.Ordinal);
    }

    /// <summary>The README's run command, as a separate process configured by environment variables.</summary>
    [Fact]
    public async Task ControlPlaneProcess_FreshDirectory_PrintsUrlsAndKeyAndListsLocalAgentWithinTenSeconds()
    {
        using var temp = new TempDirectory();
        var (httpPort, grpcPort, mqttPort) = (LoopbackPorts.Free(), LoopbackPorts.Free(), LoopbackPorts.Free());
        var start = new ProcessStartInfo("dotnet", [Path.Combine(AppContext.BaseDirectory, "EdgeGreen.ControlPlane.dll")])
        {
            WorkingDirectory = temp.Path,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            Environment =
            {
                ["Kestrel__Endpoints__Http__Url"] = $"http://127.0.0.1:{httpPort}",
                ["Kestrel__Endpoints__Grpc__Url"] = $"http://127.0.0.1:{grpcPort}",
                ["EdgeGreen__LocalAgent__SampleInterval"] = "00:00:00.500",
                ["EdgeGreen__Feed__Port"] = mqttPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
            },
        };
        using var process = Process.Start(start)!;
        var output = new System.Collections.Concurrent.ConcurrentQueue<string>();
        process.OutputDataReceived += (_, e) => output.Enqueue(e.Data ?? "");
        process.ErrorDataReceived += (_, e) => output.Enqueue(e.Data ?? "");
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            await Eventually.WaitUntilAsync(() => output.Any(l => l.Contains("Admin key", StringComparison.Ordinal)) || process.HasExited, TimeSpan.FromSeconds(30),
                "the control plane prints its URLs");
            Assert.False(process.HasExited, $"the control plane exited: {string.Join(Environment.NewLine, output)}");
            var stopwatch = Stopwatch.StartNew();
            var keyPath = Path.Combine(temp.Path, "data", "admin.key");
            Assert.Contains(output, l => l.Contains($"http://127.0.0.1:{httpPort}/api/v1", StringComparison.Ordinal));
            Assert.Contains(output, l => l.Contains(keyPath, StringComparison.Ordinal));
            Assert.Contains(output, l => l.Contains(File.ReadAllText(keyPath).Trim(), StringComparison.Ordinal));

            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{httpPort}") };
            http.DefaultRequestHeaders.Authorization = new("Bearer", File.ReadAllText(keyPath).Trim());
            await WaitForLocalAgentWithReadingsAsync(http);
            Assert.True(stopwatch.Elapsed < TenSeconds, $"the local agent took {stopwatch.Elapsed} to appear");

            // The embedded MQTT broker carries the local agent's readings.
            Assert.Contains(output, l => l.Contains($"MQTT feed     mqtt://127.0.0.1:{mqttPort} (embedded; topics edgegreen/v1/#)", StringComparison.Ordinal));
            await using var subscriber = await Feed.FeedTests.SubscriberAsync(mqttPort, "edgegreen/v1/agents/+/readings");
            await Eventually.WaitUntilAsync(() => subscriber.Messages.Any(m => m.Payload.GetProperty("readings").GetArrayLength() > 0), TenSeconds,
                "a readings message arrives on the feed");
        }
        finally
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }
    }

    private static async Task<JsonElement> WaitForLocalAgentWithReadingsAsync(HttpClient http)
    {
        JsonElement agent = default;
        await Eventually.WaitUntilAsync(async () =>
        {
            using var response = await http.GetAsync(new Uri("/api/v1/agents", UriKind.Relative));
            if (response.StatusCode != HttpStatusCode.OK)
            {
                return false;
            }

            var agents = await response.Content.ReadFromJsonAsync<JsonElement>();
            if (agents.GetArrayLength() != 1 || agents[0].GetProperty("energyJoules").GetDouble() <= 0 || agents[0].GetProperty("sensors").GetArrayLength() == 0)
            {
                return false;
            }

            agent = agents[0];
            var readings = await http.GetFromJsonAsync<JsonElement>(new Uri($"/api/v1/agents/{agent.GetProperty("id").GetString()}/readings?step=PT1S", UriKind.Relative));
            return readings.GetProperty("points").GetArrayLength() > 0;
        }, TenSeconds, "the local agent is listed with readings");
        return agent;
    }
}
