using EdgeGreen.ControlPlane.Core.Storage;
using Microsoft.Extensions.Options;
using Prometheus;

namespace EdgeGreen.ControlPlane.Core.Alerts;

/// <summary>
/// Evaluates every rule on the cluster's leader, at once and then every
/// <c>EdgeGreen:Alerts:EvaluationInterval</c>: each label set a condition reports moves its alert
/// through <see cref="AlertStateMachine"/>, and an alert whose label set is no longer reported (its
/// agent was removed, the rule changed) is taken as no longer holding. Alerts are stored as they
/// change, so a new leader goes on from where the old one was; firing and resolving are notified
/// after the change is stored. A rule whose condition cannot be looked at is logged and counted,
/// and its alerts stay as they are until the next pass.
/// </summary>
public sealed partial class AlertEvaluator : Cluster.LeaderPeriodicService
{
    private readonly IAlertStore _store;
    private readonly AlertConditions _conditions;
    private readonly AlertNotifier _notifier;
    private readonly AlertsOptions _options;
    private readonly ILogger<AlertEvaluator> _logger;
    private readonly Counter _failures;
    private readonly Counter _transitions;
    private readonly Gauge _active;

    public AlertEvaluator(IAlertStore store, AlertConditions conditions, AlertNotifier notifier, IOptions<AlertsOptions> options, TimeProvider clock,
        IMetricFactory metrics, Cluster.ClusterMembership cluster, ILogger<AlertEvaluator> logger)
        : this(store, conditions, notifier, options, clock, metrics, cluster, logger,
            metrics.CreateCounter("edgegreen_alert_evaluation_failures_total", "Alert rule evaluations that failed (retried at the next interval)."))
    {
    }

    private AlertEvaluator(IAlertStore store, AlertConditions conditions, AlertNotifier notifier, IOptions<AlertsOptions> options, TimeProvider clock,
        IMetricFactory metrics, Cluster.ClusterMembership cluster, ILogger<AlertEvaluator> logger, Counter failures)
        : base(options.Value.EvaluationInterval, clock, cluster, failures, logger)
    {
        (_store, _conditions, _notifier, _options, _logger, _failures) = (store, conditions, notifier, options.Value, logger, failures);
        _transitions = metrics.CreateCounter("edgegreen_alert_transitions_total", "Alerts entering a state (pending, firing, resolved, inactive).", ["state"]);
        _active = metrics.CreateGauge("edgegreen_alerts", "Alerts by state, at the latest evaluation on the leader.", ["state"]);
    }

    protected override string What => "Alert evaluation";

    protected override Task PassAsync(CancellationToken cancellationToken) => RunOnceAsync(cancellationToken);

    /// <summary>One pass over every rule at the clock's present.</summary>
    public async Task RunOnceAsync(CancellationToken cancellationToken)
    {
        var now = Clock.GetUtcNow();
        var rules = await _store.ListRulesAsync(cancellationToken);
        var alerts = (await _store.ListAlertsAsync(cancellationToken)).ToLookup(a => a.Rule, StringComparer.Ordinal);
        _conditions.Retain(rules.Select(r => r.Name));
        var counts = Enum.GetValues<AlertState>().ToDictionary(s => s, _ => 0);
        foreach (var rule in rules)
        {
            IReadOnlyList<AlertObservation> observations;
            try
            {
                observations = await _conditions.ObserveAsync(rule, now, cancellationToken);
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                _failures.Inc();
                LogRuleFailed(ex, rule.Name);
                foreach (var alert in alerts[rule.Name])
                {
                    counts[alert.State]++;
                }

                continue;
            }

            foreach (var alert in await EvaluateAsync(rule, alerts[rule.Name].ToList(), observations, now, cancellationToken))
            {
                counts[alert.State]++;
            }
        }

        // Alerts of rules deleted since (the API deletes them with the rule; this catches a race with a pass).
        var names = rules.Select(r => r.Name).ToHashSet(StringComparer.Ordinal);
        foreach (var orphan in alerts.Where(g => !names.Contains(g.Key)).SelectMany(g => g))
        {
            await _store.DeleteAlertAsync(orphan.Rule, orphan.Key, cancellationToken);
        }

        foreach (var (state, count) in counts)
        {
            _active.WithLabels(state.ToString().ToLowerInvariant()).Set(count);
        }
    }

    /// <summary>Moves the rule's alerts; returns those kept.</summary>
    private async Task<List<AlertRecord>> EvaluateAsync(AlertRule rule, List<AlertRecord> existing, IReadOnlyList<AlertObservation> observations, DateTimeOffset now,
        CancellationToken cancellationToken)
    {
        var byKey = existing.ToDictionary(a => a.Key, StringComparer.Ordinal);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var kept = new List<AlertRecord>();
        foreach (var observation in observations)
        {
            var key = AlertRecord.KeyOf(observation.Labels);
            if (seen.Add(key) && await StepAsync(rule, byKey.GetValueOrDefault(key), observation, now, cancellationToken) is { } alert)
            {
                kept.Add(alert);
            }
        }

        foreach (var gone in existing.Where(a => !seen.Contains(a.Key)))
        {
            if (gone.State is AlertState.Inactive or AlertState.Resolved && now - gone.ChangedAt >= _options.ResolvedRetention)
            {
                await _store.DeleteAlertAsync(gone.Rule, gone.Key, cancellationToken);
                continue;
            }

            var missing = new AlertObservation(gone.Labels, false, null, "no longer reported by the condition");
            kept.Add((await StepAsync(rule, gone, missing, now, cancellationToken))!);
        }

        _notifier.Refresh(rule, kept.Where(a => a.State == AlertState.Firing && a.FiringSince != now));
        return kept;
    }

    private async Task<AlertRecord?> StepAsync(AlertRule rule, AlertRecord? alert, AlertObservation observation, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var next = AlertStateMachine.Next(rule, alert, observation, now);
        if (next is null || next == alert || (alert is not null && Same(alert, next)))
        {
            return next;
        }

        await _store.SaveAlertAsync(next, cancellationToken);
        if (next.State != alert?.State)
        {
            _transitions.WithLabels(next.State.ToString().ToLowerInvariant()).Inc();
            LogTransition(rule.Name, next.Key, next.State, next.Summary);
            if (next.State is AlertState.Firing or AlertState.Resolved)
            {
                _notifier.Notify(rule, next);
            }
        }

        return next;
    }

    /// <summary>Records are equal but for their history lists, which compare by reference.</summary>
    private static bool Same(AlertRecord a, AlertRecord b) => a with { History = [], Labels = b.Labels } == b with { History = [] } && a.History.Count == b.History.Count;

    [LoggerMessage(Level = LogLevel.Warning, Message = "Alert rule {Rule} could not be evaluated; its alerts stay as they are until the next pass")]
    private partial void LogRuleFailed(Exception exception, string rule);

    [LoggerMessage(Level = LogLevel.Information, Message = "Alert {Rule} {{{Key}}} is {State}: {Summary}")]
    private partial void LogTransition(string rule, string key, AlertState state, string summary);
}
