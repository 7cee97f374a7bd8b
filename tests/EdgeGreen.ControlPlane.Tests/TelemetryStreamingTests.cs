using EdgeGreen.ControlPlane.Core.Storage;
using EdgeGreen.ControlPlane.Storage;

namespace EdgeGreen.ControlPlane.Tests;

public sealed class TelemetryStreamingTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Upload_10000Readings_EveryOneStoredExactlyOnce()
    {
        using var temp = new TempDirectory();
        await using var controlPlane = await TestControlPlane.StartAsync(temp.Sub("cp"));
        await using var agent = await TestAgent.StartAsync(controlPlane.GrpcUrl, await controlPlane.MintEnrollmentTokenAsync(), temp.Sub("agent"));

        for (var chunk = 0; chunk < 100; chunk++)
        {
            agent.Produce(100);
        }

        await Eventually.WaitUntilDrainedAsync(() => agent.Outbox.Depth, Patience, () => "the outbox is fully acknowledged");
        await AssertStoredExactlyOnceAsync(controlPlane, agent.Connection.AgentId!, 10_000);
        Assert.Empty(controlPlane.Errors.Entries);
        Assert.Empty(agent.Errors.Entries);
    }

    [Fact]
    public async Task Heartbeat_OutboxDroppedReadings_ReachTheControlPlaneForAlerts()
    {
        using var temp = new TempDirectory();
        var controlPlane = await TestControlPlane.StartAsync(temp.Sub("cp"));
        var grpcPort = controlPlane.GrpcUrl.Port;
        await using var agent = await TestAgent.StartAsync(controlPlane.GrpcUrl, await controlPlane.MintEnrollmentTokenAsync(), temp.Sub("agent"),
            new Dictionary<string, string?> { ["EdgeGreen:Agent:Outbox:MaxReadings"] = "1000" });
        await Eventually.WaitUntilAsync(() => agent.Uplink.IsConnected, Patience, "the agent is connected");
        await controlPlane.DisposeAsync();
        await Eventually.WaitUntilAsync(() => !agent.Uplink.IsConnected, Patience, "the agent sees the control plane gone");

        // Offline, 2,500 readings into an outbox of 1,000: the oldest are dropped, as they could not be sent.
        agent.Produce(1000);
        agent.Produce(1500);
        Assert.True(agent.Outbox.Dropped + agent.Outbox.DroppedInFlight >= 1000, $"dropped {agent.Outbox.Dropped}, in flight {agent.Outbox.DroppedInFlight}");

        await using var restarted = await TestControlPlane.StartAsync(temp.Sub("cp"), grpcPort);
        var agents = restarted.Service<IAgentStore>();
        AgentRecord? stored = null;
        await Eventually.WaitUntilAsync(async () =>
        {
            stored = await agents.GetAsync(agent.Connection.AgentId!, CancellationToken.None);
            return agent.Outbox.Dropped >= 1000 && stored?.State?.OutboxDroppedReadings == agent.Outbox.Dropped;
        }, Patience, () => $"the heartbeat reports the {agent.Outbox.Dropped} readings dropped (stored: {stored?.State?.OutboxDroppedReadings})");
    }

    [Fact]
    public async Task Upload_ControlPlaneStoppedFor10SecondsMidStream_AfterRestartEveryReadingStoredExactlyOnce()
    {
        using var temp = new TempDirectory();
        var controlPlane = await TestControlPlane.StartAsync(temp.Sub("cp"));
        var grpcPort = controlPlane.GrpcUrl.Port;
        await using var agent = await TestAgent.StartAsync(controlPlane.GrpcUrl, await controlPlane.MintEnrollmentTokenAsync(), temp.Sub("agent"));

        using var producing = new CancellationTokenSource();
        var producer = Task.Run(async () =>
        {
            for (var chunk = 0; chunk < 100; chunk++)
            {
                agent.Produce(100);
                await Task.Delay(150, CancellationToken.None);
            }
        }, CancellationToken.None);

        await Eventually.WaitUntilAsync(() => agent.Outbox.LastSequence >= 2_000 && agent.Uplink.IsConnected, Patience, "the stream carries readings");
        var storedBeforeStop = (await controlPlane.Service<ITelemetryStore>().GetDurableSequenceAsync(agent.Connection.AgentId!, CancellationToken.None));
        await controlPlane.DisposeAsync();

        await Task.Delay(TimeSpan.FromSeconds(10));
        Assert.False(agent.Uplink.IsConnected);
        Assert.True(agent.Outbox.Depth > 0, "readings produced while the control plane is down wait in the outbox");

        await using var restarted = await TestControlPlane.StartAsync(temp.Sub("cp"), grpcPort);
        await producer;
        await Eventually.WaitUntilDrainedAsync(() => agent.Outbox.Depth, Patience,
            () => $"the backlog is acknowledged after the restart (outbox depth {agent.Outbox.Depth}, last sequence {agent.Outbox.LastSequence}, " +
                $"connected {agent.Uplink.IsConnected})\nagent:\n{agent.Errors.Recent}\ncontrol plane:\n{restarted.Errors.Recent}");

        Assert.True(storedBeforeStop > 0, "some readings were stored before the stop");
        await AssertStoredExactlyOnceAsync(restarted, agent.Connection.AgentId!, 10_000);
        Assert.Empty(restarted.Errors.Entries);
    }

    [Fact]
    public async Task Upload_ServerRefusesABatch_AgentSetsItAsideCountedAndTheRestFlows()
    {
        using var temp = new TempDirectory();
        await using var controlPlane = await TestControlPlane.StartAsync(temp.Sub("cp"));
        await using var agent = await TestAgent.StartAsync(controlPlane.GrpcUrl, await controlPlane.MintEnrollmentTokenAsync(), temp.Sub("agent"));
        agent.Produce(10);
        await Eventually.WaitUntilAsync(() => agent.Outbox.Depth == 0, Patience, "the first readings are acknowledged");

        agent.ProduceAt(DateTimeOffset.UtcNow.AddYears(10));
        agent.Produce(10);

        await Eventually.WaitUntilAsync(() => agent.Outbox.Depth == 0, Patience, "the outbox drains past the refused reading");
        agent.Produce(5);
        await Eventually.WaitUntilAsync(() => agent.Outbox.Depth == 0, Patience, "later readings flow");
        var stored = await controlPlane.Service<ITelemetryStore>().ReadReadingsAsync(agent.Connection.AgentId!, null, DateTimeOffset.MinValue, DateTimeOffset.MaxValue, CancellationToken.None).ToListAsync();
        Assert.DoesNotContain(stored, r => r.Time > DateTimeOffset.UtcNow.AddYears(1));
        Assert.Equal(Enumerable.Range(1, 10).Select(i => (long)i), stored.Take(10).Select(r => r.Sequence));
        Assert.Equal(Enumerable.Range(22, 5).Select(i => (long)i), stored.TakeLast(5).Select(r => r.Sequence));
        Assert.Equal(26, stored.Count + agent.Rejected);
        Assert.Contains(agent.Errors.Entries, e => e.Contains("refused", StringComparison.Ordinal));
        agent.Errors.Expect("The control plane refused");
    }

    private static async Task AssertStoredExactlyOnceAsync(TestControlPlane controlPlane, string agentId, int expected)
    {
        var stored = await controlPlane.Service<ITelemetryStore>().ReadReadingsAsync(agentId, null, DateTimeOffset.MinValue, DateTimeOffset.MaxValue, CancellationToken.None).ToListAsync();
        var sequences = stored.Select(r => r.Sequence).Order().ToList();
        Assert.Equal(expected, sequences.Count);
        Assert.Equal(Enumerable.Range(1, expected).Select(i => (long)i), sequences);
        var summary = await controlPlane.Service<ITelemetryStore>().GetSummaryAsync(agentId, CancellationToken.None);
        Assert.Equal(expected, summary!.ReadingCount);
        Assert.Equal(stored.Sum(r => r.EnergyJoules), summary.EnergyJoules, 6);
    }
}
