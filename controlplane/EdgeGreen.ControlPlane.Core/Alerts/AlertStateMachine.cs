namespace EdgeGreen.ControlPlane.Core.Alerts;

/// <summary>
/// inactive → pending → firing → resolved, as Prometheus moves its alerts, with hysteresis on the
/// way out: a pending alert whose condition stops holding goes back to inactive at once, but a
/// firing one resolves only once the condition has been false for the rule's resolve delay, so an
/// alert near its threshold does not flap between firing and resolved at every evaluation.
/// </summary>
public static class AlertStateMachine
{
    /// <summary>
    /// The alert after <paramref name="observation"/> at <paramref name="now"/>; null when there is
    /// none and the condition does not hold (nothing is kept for conditions that never held).
    /// </summary>
    public static AlertRecord? Next(AlertRule rule, AlertRecord? alert, AlertObservation observation, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(rule);
        ArgumentNullException.ThrowIfNull(observation);
        if (alert is null)
        {
            if (observation.Holds != true)
            {
                return null;
            }

            alert = new AlertRecord(rule.Name, AlertRecord.KeyOf(observation.Labels), observation.Labels, AlertState.Inactive, null, null, null, null,
                null, "", now, []);
        }

        var seen = alert with { Value = observation.Value ?? alert.Value, Summary = observation.Summary };
        return (alert.State, observation.Holds) switch
        {
            (_, null) => seen,
            (AlertState.Inactive or AlertState.Resolved, true) => rule.For <= TimeSpan.Zero
                ? Move(seen with { ActiveSince = now, FiringSince = now, ClearSince = null }, AlertState.Firing, now)
                : Move(seen with { ActiveSince = now }, AlertState.Pending, now),
            (AlertState.Pending, true) when now - alert.ActiveSince >= rule.For =>
                Move(seen with { FiringSince = now, ClearSince = null }, AlertState.Firing, now),
            (AlertState.Pending, false) => Move(seen with { ActiveSince = null }, AlertState.Inactive, now),
            (AlertState.Firing, true) => seen with { ClearSince = null },
            (AlertState.Firing, false) when now - (alert.ClearSince ?? now) >= rule.ResolveDelay =>
                Move(seen with { ActiveSince = null, ClearSince = null, ResolvedAt = now }, AlertState.Resolved, now),
            (AlertState.Firing, false) => seen with { ClearSince = alert.ClearSince ?? now },
            _ => seen,
        };
    }

    private static AlertRecord Move(AlertRecord alert, AlertState state, DateTimeOffset now) => alert with
    {
        State = state,
        ChangedAt = now,
        History = [.. alert.History.TakeLast(AlertRecord.MaxHistory - 1), new AlertTransition(now, state, alert.Value, alert.Summary)],
    };
}
