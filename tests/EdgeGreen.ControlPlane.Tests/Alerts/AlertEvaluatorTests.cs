using EdgeGreen.ControlPlane.Core.Alerts;
using EdgeGreen.ControlPlane.Core.Cluster;
using EdgeGreen.ControlPlane.Core.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace EdgeGreen.ControlPlane.Tests.Alerts;

/// <summary>Evaluation passes over the control plane's own stores, on a fake clock: one alert per agent, kept in the store, taken up by a new leader.</summary>
public sealed class AlertEvaluatorTests : ControlPlaneTest
{
    private static readonly DateTimeOffset Enrolled = new(2026, 11, 1, 12, 0, 0, TimeSpan.Zero);
    private readonly FakeTimeProvider _clock = new(Enrolled);

    /// <summary>The host's own evaluator passes once at start, before any rule: the test's evaluators do the rest.</summary>
    protected override IReadOnlyDictionary<string, string?> Settings { get; } = new Dictionary<string, string?>
    {
        ["EdgeGreen:Alerts:EvaluationInterval"] = "01:00:00",
        ["EdgeGreen:Agents:OfflineAfter"] = "00:01:00",
    };

    /// <summary>
    /// The host runs on the test's clock too: its own evaluator's first pass may come after a rule is
    /// added (leadership is taken while the test runs), and it must judge the same instant the test does.
    /// </summary>
    protected override void ConfigureServices(IServiceCollection services) => services.AddSingleton<TimeProvider>(_clock);

    /// <summary>An evaluator as a newly elected leader has it: nothing in memory, everything from the store.</summary>
    private AlertEvaluator NewLeader() => new(ControlPlane.Service<IAlertStore>(),
        new AlertConditions(ControlPlane.Service<IAgentStore>(), ControlPlane.Service<IOptions<Core.Agents.AgentsOptions>>(),
            ControlPlane.Service<Core.Deployments.DeploymentObservations>(), ControlPlane.Service<Core.Monitoring.DriftReports>(), ControlPlane.Service<Core.Monitoring.PerformanceReports>(),
            ControlPlane.Service<Core.Carbon.CarbonIntensity>(), ControlPlane.Service<IJobStore>(), ControlPlane.Service<IPipelineStore>(),
            ControlPlane.Service<IOptions<AlertsOptions>>()),
        ControlPlane.Service<AlertNotifier>(), ControlPlane.Service<IOptions<AlertsOptions>>(), _clock,
        global::Prometheus.Metrics.WithCustomRegistry(global::Prometheus.Metrics.NewCustomRegistry()), ControlPlane.Service<ClusterMembership>(),
        NullLogger<AlertEvaluator>.Instance);

    [Fact]
    public async Task RunOnce_AgentOfflineForEveryAgent_OneAlertPerAgent_AndANewLeaderGoesOnFromTheStoredState()
    {
        var agents = ControlPlane.Service<IAgentStore>();
        foreach (var id in new[] { "a1", "a2" })
        {
            await agents.AddAsync(new AgentRecord(id, id, "NO", new Dictionary<string, string>(), "hash-" + id, Enrolled, null, null), CancellationToken.None);
        }

        var store = ControlPlane.Service<IAlertStore>();
        await store.AddRuleAsync(new AlertRule("offline", new AlertCondition(AgentOffline: new AgentOfflineCondition(null)), TimeSpan.FromMinutes(2), null, "warning",
            [], Enrolled, Enrolled), CancellationToken.None);
        // a2 keeps reporting; a1 never does.
        async Task HeartbeatA2() => await agents.ReportStateAsync("a2", new AgentReportedState("1", "Linux", ".NET", "NO", new Dictionary<string, string>(), [], 1, 1, 0, []),
            _clock.GetUtcNow(), CancellationToken.None);

        var first = NewLeader();
        await HeartbeatA2();
        await first.RunOnceAsync(CancellationToken.None);
        Assert.Empty(await store.ListAlertsAsync(CancellationToken.None));

        _clock.Advance(TimeSpan.FromMinutes(2));
        await HeartbeatA2();
        await first.RunOnceAsync(CancellationToken.None);
        var pending = Assert.Single(await store.ListAlertsAsync(CancellationToken.None));
        Assert.Equal(("agent=a1", AlertState.Pending), (pending.Key, pending.State));

        // The leader changes: the new one knows only what the store holds.
        _clock.Advance(TimeSpan.FromMinutes(2));
        await HeartbeatA2();
        await NewLeader().RunOnceAsync(CancellationToken.None);

        var firing = Assert.Single(await store.ListAlertsAsync(CancellationToken.None));
        Assert.Equal((AlertState.Firing, Enrolled.AddMinutes(2), Enrolled.AddMinutes(4)), (firing.State, firing.ActiveSince, firing.FiringSince));
        Assert.Equal("a1", firing.Labels["agent"]);
        Assert.Contains("agent a1 (a1) last heard from 240 s ago", firing.Summary, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunOnce_OutboxDrops_FiresOnReadingsDroppedSinceThePreviousLook_AndResolvesWhenTheyStop()
    {
        var agents = ControlPlane.Service<IAgentStore>();
        await agents.AddAsync(new AgentRecord("edge-1", "edge-1", "NO", new Dictionary<string, string>(), "hash", Enrolled, null, null), CancellationToken.None);
        async Task ReportAsync(long dropped) => await agents.ReportStateAsync("edge-1",
            new AgentReportedState("1", "Linux", ".NET", "NO", new Dictionary<string, string>(), [], 1, 1, 0, []) { OutboxDroppedReadings = dropped },
            _clock.GetUtcNow(), CancellationToken.None);

        var store = ControlPlane.Service<IAlertStore>();
        await store.AddRuleAsync(new AlertRule("drops", new AlertCondition(OutboxDrops: new OutboxDropsCondition(null, Above: 10)), TimeSpan.Zero,
            TimeSpan.FromMinutes(5), "warning", [], Enrolled, Enrolled), CancellationToken.None);
        var evaluator = NewLeader();
        async Task<AlertRecord?> PassAsync(long dropped)
        {
            await ReportAsync(dropped);
            _clock.Advance(TimeSpan.FromMinutes(1));
            await evaluator.RunOnceAsync(CancellationToken.None);
            return (await store.ListAlertsAsync(CancellationToken.None)).SingleOrDefault();
        }

        // Drops before the first look are history: the first look only takes the count.
        Assert.Null(await PassAsync(500));
        Assert.Null(await PassAsync(510));

        var firing = await PassAsync(530);
        Assert.Equal((AlertState.Firing, "agent=edge-1", 20d), (firing!.State, firing.Key, firing.Value));
        Assert.Contains("dropped 20 readings", firing.Summary, StringComparison.Ordinal);

        // No more drops: resolved once that has lasted resolveAfter, not before.
        Assert.Equal(AlertState.Firing, (await PassAsync(530))!.State);
        Assert.Equal(AlertState.Firing, (await PassAsync(530))!.State);
        await PassAsync(530);
        await PassAsync(530);
        await PassAsync(530);
        Assert.Equal(AlertState.Resolved, (await PassAsync(530))!.State);

        // A new outbox (the agent's data reset) counts from zero.
        Assert.Equal(AlertState.Firing, (await PassAsync(25))!.State);
    }

    [Fact]
    public async Task RunOnce_RuleDeletedWhileItsAlertWasKept_TheAlertIsDeletedToo()
    {
        var store = ControlPlane.Service<IAlertStore>();
        await store.SaveAlertAsync(new AlertRecord("gone", "agent=a1", new Dictionary<string, string> { ["agent"] = "a1" }, AlertState.Firing, Enrolled, Enrolled, null, null,
            null, "offline", Enrolled, []), CancellationToken.None);

        await NewLeader().RunOnceAsync(CancellationToken.None);

        Assert.Empty(await store.ListAlertsAsync(CancellationToken.None));
    }
}
