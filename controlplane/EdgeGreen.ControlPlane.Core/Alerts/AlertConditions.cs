using System.Collections.Concurrent;
using EdgeGreen.ControlPlane.Core.Agents;
using EdgeGreen.ControlPlane.Core.Carbon;
using EdgeGreen.ControlPlane.Core.Deployments;
using EdgeGreen.ControlPlane.Core.Monitoring;
using EdgeGreen.ControlPlane.Core.Storage;
using Microsoft.Extensions.Options;
using static System.FormattableString;

namespace EdgeGreen.ControlPlane.Core.Alerts;

/// <summary>
/// Looks at what each condition watches. Error rates and energy are rates over the time since the
/// rule's previous evaluation, from the counters agents report with their heartbeats (kept per rule,
/// in memory on the leader): the first evaluation on a new leader can only take the counters, and
/// observes nothing, which leaves the rule's alerts as they are.
/// </summary>
public sealed class AlertConditions(
    IAgentStore agents,
    IOptions<AgentsOptions> agentsOptions,
    DeploymentObservations served,
    DriftReports drift,
    PerformanceReports performance,
    CarbonIntensity carbon,
    IJobStore jobs,
    IPipelineStore pipelines,
    IOptions<AlertsOptions> options)
{
    /// <summary>The most finished jobs or runs one evaluation looks at.</summary>
    private const int MaxFinished = 1_000;

    /// <summary>The newest runs of each pipeline looked at for ones that finished since the previous evaluation.</summary>
    private const int RunsPerPipeline = 20;

    private readonly ConcurrentDictionary<string, RuleMemory> _memory = new(StringComparer.Ordinal);

    /// <summary>What the rule's condition shows at <paramref name="now"/>, one observation per label set.</summary>
    public async Task<IReadOnlyList<AlertObservation>> ObserveAsync(AlertRule rule, DateTimeOffset now, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(rule);
        var memory = _memory.GetOrAdd(rule.Name, _ => new RuleMemory());
        var since = memory.LastEvaluatedAt ?? now - options.Value.EvaluationInterval;
        memory.LastEvaluatedAt = now;
        var condition = rule.Condition;
        return condition switch
        {
            { Drift: { } c } => [await DriftAsync(c, cancellationToken)],
            { ErrorRate: { } c } => [ErrorRate(c, memory, now)],
            { P99Latency: { } c } => [P99Latency(c, now)],
            { Energy: { } c } => [Energy(c, memory, now)],
            { Carbon: { } c } => [await CarbonAsync(c, since, now, cancellationToken)],
            { AgentOffline: { } c } => await AgentsOfflineAsync(c, now, cancellationToken),
            { GridIntensity: { } c } => [await GridIntensityAsync(c, cancellationToken)],
            { Performance: { } c } => [await PerformanceAsync(c, cancellationToken)],
            { OutboxDrops: { } c } => await OutboxDropsAsync(c, memory, cancellationToken),
            _ => [],
        };
    }

    /// <summary>Forgets what is kept for rules that no longer exist.</summary>
    public void Retain(IEnumerable<string> rules)
    {
        var keep = rules.ToHashSet(StringComparer.Ordinal);
        foreach (var name in _memory.Keys.Where(n => !keep.Contains(n)))
        {
            _memory.TryRemove(name, out _);
        }
    }

    private async Task<AlertObservation> DriftAsync(DriftCondition condition, CancellationToken cancellationToken)
    {
        var (report, problem) = await drift.ComputeAsync(condition.Deployment, condition.Window, null, null, cancellationToken);
        if (report is null)
        {
            // A deployment that is gone drifts no more; any other problem (no reference yet) says nothing.
            return Deployment(condition.Deployment, problem is { NotFound: true } ? false : null, null, problem?.Message ?? "no drift report");
        }

        if (condition.Prediction)
        {
            return report.Prediction is { } predicted
                ? Deployment(condition.Deployment, report.Requests > 0 && predicted.Drifted, predicted.Score, Invariant(
                    $"prediction {predicted.Name} of deployment {condition.Deployment} {(predicted.Drifted ? "drifted" : "did not drift")} over {condition.Window} ({predicted.Method} {predicted.Score:0.####}, threshold {predicted.Threshold:0.####}; {report.Requests} requests)"))
                : Deployment(condition.Deployment, null, null, $"deployment {condition.Deployment} has no prediction to compare with its reference");
        }

        var share = report.Features.Count == 0 ? 0 : (double)report.DriftedFeatures / report.Features.Count;
        var holds = report.Requests > 0 && (condition.Threshold is { } threshold ? share >= threshold : report.DriftedFeatures > 0);
        var names = report.Features.Where(f => f.Drifted).Select(f => f.Name).Take(5).ToList();
        return Deployment(condition.Deployment, holds, share, Invariant(
            $"{report.DriftedFeatures} of {report.Features.Count} features of deployment {condition.Deployment} drifted over {condition.Window} ({report.Requests} requests)")
            + (names.Count == 0 ? "" : ": " + string.Join(", ", names) + (report.DriftedFeatures > names.Count ? ", …" : "")));
    }

    private async Task<AlertObservation> PerformanceAsync(PerformanceCondition condition, CancellationToken cancellationToken)
    {
        var (report, problem) = await performance.ComputeAsync(condition.Deployment, condition.Window, null, cancellationToken);
        if (report is null)
        {
            return Deployment(condition.Deployment, problem is { NotFound: true } ? false : null, null, problem?.Message ?? "no performance report");
        }

        var measured = condition.Metric switch
        {
            "accuracy" => report.Measured.Accuracy,
            "auc" => report.Measured.Auc,
            _ => report.Measured.Rmse,
        };
        var (value, how) = measured is { } m
            ? (m, Invariant($"measured on {report.Measured.Labelled} labelled predictions"))
            : condition.Estimated && report.Estimated is { Predictions: > 0 } estimate && condition.Metric != "rmse"
                ? (condition.Metric == "accuracy" ? estimate.Accuracy : estimate.Auc, Invariant($"estimated ({estimate.Method}) from {estimate.Predictions} predictions without labels"))
                : (null, "");
        if (value is not { } v)
        {
            return Deployment(condition.Deployment, null, null,
                $"no {condition.Metric} for deployment {condition.Deployment} over {condition.Window}: no labelled predictions{(condition.Estimated ? " and no estimate" : "")}");
        }

        var holds = condition.Below is { } below ? v < below : v > condition.Above;
        var limit = condition.Below is { } b ? Invariant($"below {b:0.####}") : Invariant($"above {condition.Above:0.####}");
        return Deployment(condition.Deployment, holds, v, Invariant(
            $"{condition.Metric} of deployment {condition.Deployment} version {report.Version} is {v:0.####} over {condition.Window}, {how} (alert when {limit})"));
    }

    private async Task<IReadOnlyList<AlertObservation>> OutboxDropsAsync(OutboxDropsCondition condition, RuleMemory memory, CancellationToken cancellationToken)
    {
        var watched = await WatchedAsync(condition.Agent, cancellationToken);
        if (condition.Agent is { } missing && watched.Count == 0)
        {
            return [AlertObservation.For("agent", missing, false, null, $"no agent {missing} is enrolled")];
        }

        var previous = memory.Dropped;
        var current = new Dictionary<string, long>(StringComparer.Ordinal);
        var observations = new List<AlertObservation>();
        foreach (var agent in watched)
        {
            if (agent.State is not { } state)
            {
                observations.Add(AlertObservation.For("agent", agent.Id, null, null, $"agent {agent.Id} ({agent.Name}) has not reported its outbox yet"));
                continue;
            }

            current[agent.Id] = state.OutboxDroppedReadings;
            if (!previous.TryGetValue(agent.Id, out var before))
            {
                observations.Add(AlertObservation.For("agent", agent.Id, null, null,
                    Invariant($"agent {agent.Id} ({agent.Name}) has dropped {state.OutboxDroppedReadings} readings in all; drops are counted from the next evaluation")));
                continue;
            }

            // A smaller count is a new outbox (the agent's data was reset): its count starts from zero.
            var dropped = state.OutboxDroppedReadings >= before ? state.OutboxDroppedReadings - before : state.OutboxDroppedReadings;
            observations.Add(AlertObservation.For("agent", agent.Id, dropped > condition.Above, dropped, Invariant(
                $"agent {agent.Id} ({agent.Name}) dropped {dropped} readings from its full outbox since the previous evaluation ({state.OutboxDroppedReadings} in all; limit {condition.Above})")));
        }

        memory.Dropped = current;
        return observations;
    }

    /// <summary>The one agent named, or every agent.</summary>
    private async Task<IReadOnlyList<AgentRecord>> WatchedAsync(string? agent, CancellationToken cancellationToken) =>
        agent is { } one
            ? (await agents.GetAsync(one, cancellationToken) is { } found ? [found] : [])
            : await agents.ListAsync(cancellationToken);

    private AlertObservation ErrorRate(ErrorRateCondition condition, RuleMemory memory, DateTimeOffset now)
    {
        if (Deltas(condition.Deployment, memory, now) is not { } delta)
        {
            return Deployment(condition.Deployment, null, null, "waiting for a second report of the deployment's counters");
        }

        var all = delta.Requests + delta.Failed;
        var rate = all == 0 ? 0 : (double)delta.Failed / all;
        return Deployment(condition.Deployment, all > 0 && rate > condition.Above, rate,
            Invariant($"error rate of deployment {condition.Deployment} {rate:P1} over {all} requests (limit {condition.Above:P1})"));
    }

    private AlertObservation Energy(EnergyCondition condition, RuleMemory memory, DateTimeOffset now)
    {
        if (Deltas(condition.Deployment, memory, now) is not { Elapsed.TotalSeconds: > 0 } delta)
        {
            return Deployment(condition.Deployment, null, null, "waiting for a second report of the deployment's counters");
        }

        var perDay = delta.EnergyJoules / delta.Elapsed.TotalDays;
        return Deployment(condition.Deployment, perDay > condition.PerDayJoulesAbove, perDay,
            Invariant($"deployment {condition.Deployment} serves at {perDay:0.#} J per day (limit {condition.PerDayJoulesAbove:0.#} J)"));
    }

    private AlertObservation P99Latency(P99LatencyCondition condition, DateTimeOffset now)
    {
        var fresh = served.For(condition.Deployment)
            .Where(r => now - r.ReportedAt <= agentsOptions.Value.OfflineAfter && r.Served.State == "serving" && r.Served.Requests > 0).ToList();
        if (fresh.Count == 0)
        {
            return Deployment(condition.Deployment, null, null, $"no online agent reports serving deployment {condition.Deployment}");
        }

        var worst = fresh.MaxBy(r => r.Served.P99LatencyMs);
        return Deployment(condition.Deployment, worst.Served.P99LatencyMs > condition.AboveMs, worst.Served.P99LatencyMs,
            Invariant($"p99 latency of deployment {condition.Deployment} {worst.Served.P99LatencyMs:0.##} ms on agent {worst.AgentId} (limit {condition.AboveMs:0.##} ms)"));
    }

    /// <summary>
    /// The deployment's counters summed over its agents since the rule's previous look, counting only
    /// agents whose counters run on from then (an agent that began serving anew starts a new count).
    /// </summary>
    private (long Requests, long Failed, double EnergyJoules, TimeSpan Elapsed)? Deltas(string deployment, RuleMemory memory, DateTimeOffset now)
    {
        var current = served.For(deployment).Where(r => r.Served.State == "serving").ToDictionary(
            r => (r.AgentId, r.Served.Model, r.Served.Version, Since: r.Served.Since?.ToDateTimeOffset() ?? DateTimeOffset.MinValue),
            r => new Counters((long)r.Served.Requests, (long)r.Served.FailedRequests, r.Served.EnergyJoules));
        var previous = memory.Counters;
        var previousAt = memory.CountersAt;
        (memory.Counters, memory.CountersAt) = (current, now);
        if (previousAt is null)
        {
            return null;
        }

        var (requests, failed, energy) = (0L, 0L, 0.0);
        foreach (var (key, now0) in current)
        {
            if (previous.TryGetValue(key, out var before))
            {
                requests += Math.Max(0, now0.Requests - before.Requests);
                failed += Math.Max(0, now0.Failed - before.Failed);
                energy += Math.Max(0, now0.EnergyJoules - before.EnergyJoules);
            }
        }

        return (requests, failed, energy, now - previousAt.Value);
    }

    private async Task<AlertObservation> CarbonAsync(CarbonCondition condition, DateTimeOffset since, DateTimeOffset now, CancellationToken cancellationToken)
    {
        IEnumerable<(string Id, double? Grams, double? Joules)> finished;
        if (condition.Scope == "job")
        {
            finished = (await jobs.ListFinishedAsync(since, now, MaxFinished, cancellationToken)).Select(j => (j.Id, j.CarbonGrams, j.EnergyJoules));
        }
        else
        {
            var runs = new List<(string, double?, double?)>();
            foreach (var pipeline in await pipelines.ListLatestAsync(cancellationToken))
            {
                runs.AddRange((await pipelines.ListRunsAsync(pipeline.Pipeline, RunsPerPipeline, cancellationToken))
                    .Where(r => r.IsFinished && r.FinishedAt >= since && r.FinishedAt < now)
                    // A finished run's forecast is what its steps measured.
                    .Select(r => (r.Id, r.ForecastCarbonGrams, r.ForecastEnergyJoules)));
            }

            finished = runs;
        }

        var over = finished.Where(f => f.Grams > condition.AboveGrams || f.Joules > condition.AboveJoules).ToList();
        var what = condition.Scope == "job" ? "job" : "pipeline run";
        var summary = over.Count == 0
            ? $"no {what} that finished since the previous evaluation was over its budget"
            : Invariant($"{over.Count} {what}(s) finished over the budget: ") + string.Join(", ", over.Take(5).Select(o => Invariant($"{o.Id} ({o.Grams:0.###} g, {o.Joules:0.#} J)")));
        return AlertObservation.For("scope", condition.Scope, over.Count > 0, over.Count == 0 ? null : over.Max(o => o.Grams ?? 0), summary);
    }

    private async Task<IReadOnlyList<AlertObservation>> AgentsOfflineAsync(AgentOfflineCondition condition, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var offlineAfter = agentsOptions.Value.OfflineAfter;
        var watched = await WatchedAsync(condition.Agent, cancellationToken);
        if (condition.Agent is { } missing && watched.Count == 0)
        {
            return [AlertObservation.For("agent", missing, false, null, $"no agent {missing} is enrolled")];
        }

        return [.. watched.Select(a =>
        {
            // An agent that never reported counts from its enrolment, so a new one has its first interval to connect.
            var silence = now - (a.LastHeartbeatAt ?? a.EnrolledAt);
            return AlertObservation.For("agent", a.Id, silence > offlineAfter, silence.TotalSeconds,
                Invariant($"agent {a.Id} ({a.Name}) last heard from {silence.TotalSeconds:0} s ago (offline after {offlineAfter.TotalSeconds:0} s)"));
        })];
    }

    private async Task<AlertObservation> GridIntensityAsync(GridIntensityCondition condition, CancellationToken cancellationToken)
    {
        var point = await carbon.GetCurrentAsync(condition.Zone, cancellationToken);
        return point is null
            ? AlertObservation.For("zone", condition.Zone, null, null, $"no current grid intensity for zone {condition.Zone}")
            : AlertObservation.For("zone", condition.Zone, point.IntensityGramsPerKwh > condition.AboveGramsPerKwh, point.IntensityGramsPerKwh,
                Invariant($"grid intensity in {condition.Zone} is {point.IntensityGramsPerKwh:0.#} gCO2e/kWh (limit {condition.AboveGramsPerKwh:0.#})"));
    }

    private static AlertObservation Deployment(string deployment, bool? holds, double? value, string summary) =>
        AlertObservation.For("deployment", deployment, holds, value, summary);

    private sealed record Counters(long Requests, long Failed, double EnergyJoules);

    /// <summary>What one rule's evaluations carry from one to the next.</summary>
    private sealed class RuleMemory
    {
        public DateTimeOffset? LastEvaluatedAt { get; set; }

        public DateTimeOffset? CountersAt { get; set; }

        public Dictionary<(string AgentId, string Model, int Version, DateTimeOffset Since), Counters> Counters { get; set; } = [];

        /// <summary>Each agent's outbox drop counter as the previous evaluation saw it.</summary>
        public Dictionary<string, long> Dropped { get; set; } = [];
    }
}
