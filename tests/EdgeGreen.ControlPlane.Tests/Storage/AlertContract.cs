using EdgeGreen.ControlPlane.Core.Alerts;

namespace EdgeGreen.ControlPlane.Tests.Storage;

/// <summary>The alerts' half of the contract: rules one per name, alerts one per rule and label key, both whole across a reopen.</summary>
public abstract partial class StorageContract
{
    internal static AlertRule AlertRule(string name) => new(name,
        new AlertCondition(Drift: new DriftCondition("credit", "P1D", 0.5)), TimeSpan.FromMinutes(5), TimeSpan.FromMinutes(10), "critical",
        [
            new AlertTarget(Webhook: new WebhookTarget("https://hooks.example.com/a", "dp1:sealed")),
            new AlertTarget(PagerDuty: new PagerDutyTarget("dp1:key", null)),
            new AlertTarget(Mqtt: new MqttTarget("alerts/credit")),
        ],
        T0, T0.AddMinutes(1));

    internal static AlertRecord Alert(string rule, string agent, AlertState state) => new(rule, "agent=" + agent,
        new Dictionary<string, string> { ["agent"] = agent }, state, T0, state == AlertState.Firing ? T0.AddMinutes(5) : null, null, null, 12.5, "offline", T0.AddMinutes(5),
        [new AlertTransition(T0, AlertState.Pending, 1, "offline"), new AlertTransition(T0.AddMinutes(5), state, 12.5, "offline")]);

    [ContractFact]
    public async Task Alerts_RulesOnePerName_AlertsOnePerRuleAndKey_DeletingARuleDeletesItsAlerts_AcrossReopen()
    {
        var rule = AlertRule("credit-drift");
        Assert.True(await Alerts.AddRuleAsync(rule, CancellationToken.None));
        Assert.False(await Alerts.AddRuleAsync(rule with { Severity = "info" }, CancellationToken.None));
        Assert.True(await Alerts.AddRuleAsync(AlertRule("another"), CancellationToken.None));
        Assert.False(await Alerts.ReplaceRuleAsync(AlertRule("missing"), CancellationToken.None));
        Assert.True(await Alerts.ReplaceRuleAsync(rule with { For = TimeSpan.FromMinutes(1) }, CancellationToken.None));

        await Alerts.SaveAlertAsync(Alert("credit-drift", "a1", AlertState.Pending), CancellationToken.None);
        await Alerts.SaveAlertAsync(Alert("credit-drift", "a1", AlertState.Firing), CancellationToken.None);
        await Alerts.SaveAlertAsync(Alert("credit-drift", "a2", AlertState.Resolved), CancellationToken.None);
        await Alerts.SaveAlertAsync(Alert("another", "a1", AlertState.Firing), CancellationToken.None);

        await ReopenAsync();
        var stored = (await Alerts.GetRuleAsync("credit-drift", CancellationToken.None))!;
        Assert.Equal(TimeSpan.FromMinutes(1), stored.For);
        Assert.Equal(TimeSpan.FromMinutes(10), stored.ResolveAfter);
        Assert.Equal(new DriftCondition("credit", "P1D", 0.5), stored.Condition.Drift);
        Assert.Equal(["webhook", "pagerduty", "mqtt"], stored.Notify.Select(t => t.Kind));
        Assert.Equal(("dp1:sealed", "dp1:key"), (stored.Notify[0].Webhook!.Secret, stored.Notify[1].PagerDuty!.RoutingKey));
        Assert.Equal((T0, T0.AddMinutes(1)), (stored.CreatedAt, stored.UpdatedAt));
        Assert.Equal(["another", "credit-drift"], (await Alerts.ListRulesAsync(CancellationToken.None)).Select(r => r.Name));

        var alerts = await Alerts.ListAlertsAsync(CancellationToken.None);
        Assert.Equal([("another", "agent=a1"), ("credit-drift", "agent=a1"), ("credit-drift", "agent=a2")], alerts.Select(a => (a.Rule, a.Key)));
        var firing = alerts[1];
        Assert.Equal((AlertState.Firing, T0.AddMinutes(5), 12.5, "a1"), (firing.State, firing.FiringSince, firing.Value, firing.Labels["agent"]));
        Assert.Equal([AlertState.Pending, AlertState.Firing], firing.History.Select(h => h.State));

        Assert.True(await Alerts.DeleteAlertAsync("credit-drift", "agent=a2", CancellationToken.None));
        Assert.False(await Alerts.DeleteAlertAsync("credit-drift", "agent=a2", CancellationToken.None));
        Assert.True(await Alerts.DeleteRuleAsync("credit-drift", CancellationToken.None));
        Assert.False(await Alerts.DeleteRuleAsync("credit-drift", CancellationToken.None));
        Assert.Null(await Alerts.GetRuleAsync("credit-drift", CancellationToken.None));
        Assert.Equal([("another", "agent=a1")], (await Alerts.ListAlertsAsync(CancellationToken.None)).Select(a => (a.Rule, a.Key)));
    }
}
