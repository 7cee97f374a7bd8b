using EdgeGreen.ControlPlane.Core.Alerts;
using Microsoft.Extensions.Time.Testing;

namespace EdgeGreen.ControlPlane.Tests.Alerts;

/// <summary>inactive → pending → firing → resolved, driven by a fake clock one evaluation at a time.</summary>
public sealed class AlertStateMachineTests
{
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(30);
    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2026, 11, 1, 12, 0, 0, TimeSpan.Zero));

    private static AlertRule Rule(TimeSpan @for, TimeSpan? resolveAfter = null) => new("offline", new AlertCondition(AgentOffline: new AgentOfflineCondition(null)),
        @for, resolveAfter, "warning", [], DateTimeOffset.UnixEpoch, DateTimeOffset.UnixEpoch);

    private static AlertObservation Seen(bool? holds, double? value = null) => AlertObservation.For("agent", "a1", holds, value, holds == true ? "offline" : "online");

    /// <summary>Advances one evaluation interval and evaluates.</summary>
    private AlertRecord? Evaluate(AlertRule rule, AlertRecord? alert, bool? holds)
    {
        _clock.Advance(Interval);
        return AlertStateMachine.Next(rule, alert, Seen(holds), _clock.GetUtcNow());
    }

    [Fact]
    public void Next_ConditionNeverHeld_KeepsNoAlert()
    {
        Assert.Null(Evaluate(Rule(TimeSpan.FromMinutes(5)), null, false));
        Assert.Null(Evaluate(Rule(TimeSpan.FromMinutes(5)), null, null));
    }

    [Fact]
    public void Next_ConditionHoldsForTheForDuration_PendingThenFiringOnlyOnceItHasHeldThatLong()
    {
        var rule = Rule(TimeSpan.FromMinutes(2));
        var alert = Evaluate(rule, null, true)!;
        var pendingSince = _clock.GetUtcNow();
        Assert.Equal((AlertState.Pending, pendingSince), (alert.State, alert.ActiveSince));

        // 30 s, 60 s, 90 s after it began: still pending.
        for (var i = 0; i < 3; i++)
        {
            alert = Evaluate(rule, alert, true)!;
            Assert.Equal(AlertState.Pending, alert.State);
        }

        alert = Evaluate(rule, alert, true)!;
        Assert.Equal(AlertState.Firing, alert.State);
        Assert.Equal(pendingSince + TimeSpan.FromMinutes(2), alert.FiringSince);
        Assert.Equal([AlertState.Pending, AlertState.Firing], alert.History.Select(h => h.State));
        Assert.Equal("agent=a1", alert.Key);
    }

    [Fact]
    public void Next_PendingConditionStopsHolding_BackToInactiveAndTheForDurationStartsAgain()
    {
        var rule = Rule(TimeSpan.FromMinutes(1));
        var alert = Evaluate(rule, Evaluate(rule, null, true), false)!;
        Assert.Equal(AlertState.Inactive, alert.State);
        Assert.Null(alert.ActiveSince);

        alert = Evaluate(rule, alert, true)!;
        alert = Evaluate(rule, alert, true)!;
        Assert.Equal(AlertState.Pending, alert.State);
        alert = Evaluate(rule, alert, true)!;
        Assert.Equal(AlertState.Firing, alert.State);
    }

    [Fact]
    public void Next_FiringConditionFalseForLessThanForThenTrue_StaysFiringWithoutANewTransition()
    {
        var rule = Rule(TimeSpan.FromMinutes(1));
        var alert = Evaluate(rule, Evaluate(rule, Evaluate(rule, null, true), true), true)!;
        Assert.Equal(AlertState.Firing, alert.State);
        var firingSince = alert.FiringSince;

        alert = Evaluate(rule, alert, false)!;
        Assert.Equal((AlertState.Firing, _clock.GetUtcNow()), (alert.State, alert.ClearSince));
        alert = Evaluate(rule, alert, false)!;
        Assert.Equal(AlertState.Firing, alert.State);
        alert = Evaluate(rule, alert, true)!;

        Assert.Equal(AlertState.Firing, alert.State);
        Assert.Null(alert.ClearSince);
        Assert.Equal(firingSince, alert.FiringSince);
        Assert.Equal(2, alert.History.Count);
    }

    [Fact]
    public void Next_FiringConditionFalseForTheForDuration_Resolves()
    {
        var rule = Rule(TimeSpan.FromMinutes(1));
        var alert = Evaluate(rule, Evaluate(rule, Evaluate(rule, null, true), true), true)!;

        alert = Evaluate(rule, alert, false)!;
        var clearSince = _clock.GetUtcNow();
        alert = Evaluate(rule, alert, false)!;
        Assert.Equal(AlertState.Firing, alert.State);
        alert = Evaluate(rule, alert, false)!;

        Assert.Equal(AlertState.Resolved, alert.State);
        Assert.Equal(clearSince + TimeSpan.FromMinutes(1), alert.ResolvedAt);
        Assert.Equal([AlertState.Pending, AlertState.Firing, AlertState.Resolved], alert.History.Select(h => h.State));
    }

    [Fact]
    public void Next_ResolveAfterShorterThanFor_ResolvesAfterResolveAfter()
    {
        var rule = Rule(TimeSpan.FromMinutes(10), resolveAfter: TimeSpan.Zero);
        var alert = AlertStateMachine.Next(rule, null, Seen(true), _clock.GetUtcNow())!;
        _clock.Advance(TimeSpan.FromMinutes(10));
        alert = AlertStateMachine.Next(rule, alert, Seen(true), _clock.GetUtcNow())!;
        Assert.Equal(AlertState.Firing, alert.State);

        alert = Evaluate(rule, alert, false)!;

        Assert.Equal(AlertState.Resolved, alert.State);
    }

    [Fact]
    public void Next_ForZero_FiresAtTheFirstEvaluationThatHolds_AndFiresAgainAfterResolving()
    {
        var rule = Rule(TimeSpan.Zero);
        var alert = Evaluate(rule, null, true)!;
        Assert.Equal(AlertState.Firing, alert.State);
        alert = Evaluate(rule, alert, false)!;
        Assert.Equal(AlertState.Resolved, alert.State);

        alert = Evaluate(rule, alert, true)!;

        Assert.Equal(AlertState.Firing, alert.State);
        Assert.Equal(_clock.GetUtcNow(), alert.FiringSince);
    }

    [Fact]
    public void Next_ConditionUnknown_LeavesTheStateAndItsTimesAsTheyAre()
    {
        var rule = Rule(TimeSpan.FromMinutes(1));
        var firing = Evaluate(rule, Evaluate(rule, Evaluate(rule, null, true), true), true)!;
        var cleared = Evaluate(rule, firing, false)!;

        for (var i = 0; i < 10; i++)
        {
            Assert.Equal(cleared with { Summary = "online" }, Evaluate(rule, cleared, null)! with { Summary = "online" });
        }

        // The condition's false stretch began before the unknown ones: it has lasted long enough now.
        Assert.Equal(AlertState.Resolved, Evaluate(rule, cleared, false)!.State);
    }

    [Fact]
    public void Next_ManyTransitions_HistoryKeepsTheLatestOnly()
    {
        var rule = Rule(TimeSpan.Zero);
        AlertRecord? alert = null;
        for (var i = 0; i < AlertRecord.MaxHistory + 10; i++)
        {
            alert = Evaluate(rule, alert, i % 2 == 0);
        }

        Assert.Equal(AlertRecord.MaxHistory, alert!.History.Count);
        Assert.Equal(_clock.GetUtcNow(), alert.History[^1].At);
    }
}
