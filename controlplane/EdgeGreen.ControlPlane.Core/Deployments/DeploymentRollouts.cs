using System.Globalization;
using EdgeGreen.ControlPlane.Core.Storage;
using Microsoft.Extensions.Options;

namespace EdgeGreen.ControlPlane.Core.Deployments;

/// <summary><c>EdgeGreen:Deployments</c>.</summary>
public sealed class DeploymentOptions
{
    public const string SectionName = "EdgeGreen:Deployments";

    /// <summary>How often the leader analyses rollouts in progress.</summary>
    public TimeSpan AnalysisInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How often the leader checks retraining policies' triggers.</summary>
    public TimeSpan RetrainingInterval { get; set; } = TimeSpan.FromMinutes(5);
}

/// <summary>
/// Moves rollouts forward on the leader: each step gives the new version to the first share of
/// the target agents (in agent id order, so the set only grows), holds for the step's pause, then
/// analyses what those agents measured for the new version since the step began (their heartbeat
/// reports) and goes on, or rolls back to the previous version with the reason.
/// </summary>
public sealed partial class DeploymentRollouts(
    IDeploymentStore store,
    IAgentStore agents,
    DeploymentObservations observations,
    DeploymentEvents events,
    Cluster.ClusterMembership cluster,
    IOptions<DeploymentOptions> options,
    TimeProvider timeProvider,
    ILogger<DeploymentRollouts> logger) : BackgroundService
{
    /// <summary>The agents that serve the new version at the rollout's current step.</summary>
    public static IReadOnlyList<string> NewVersionAgents(DeploymentRecord deployment, IEnumerable<AgentRecord> known)
    {
        if (deployment.Rollout is not { } rollout || deployment.Strategy.Steps.Count == 0)
        {
            return [];
        }

        var targets = known.Where(a => deployment.Target.Includes(a.Id, a.EffectiveZone, a.Labels)).Select(a => a.Id).Order(StringComparer.Ordinal).ToList();
        var percent = deployment.Strategy.Steps[Math.Min(rollout.Step, deployment.Strategy.Steps.Count - 1)].Percent;
        var count = Math.Min(targets.Count, Math.Max(1, (int)Math.Ceiling(targets.Count * percent / 100.0)));
        return targets[..count];
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.AnalysisInterval, timeProvider);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                if (!cluster.IsLeader)
                {
                    continue;
                }

                try
                {
                    await AdvanceAllAsync(stoppingToken);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    LogRoundFailed(ex);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping.
        }
    }

    public async Task AdvanceAllAsync(CancellationToken cancellationToken)
    {
        // The fleet is read only when a rollout is under way: every few seconds, a fleet of
        // thousands of agents read for nothing would be most of this loop's work.
        IReadOnlyList<AgentRecord>? known = null;
        foreach (var deployment in await store.ListAsync(cancellationToken))
        {
            if (deployment.Rollout is not { Paused: false })
            {
                continue;
            }

            known ??= await agents.ListAsync(cancellationToken);
            if (Advance(deployment, known) is { } next && await store.UpdateAsync(next, cancellationToken))
            {
                events.PublishAdded(deployment, next);
                if (next.Rollout is null)
                {
                    LogRolloutEnded(next.Name, next.Current.Version, next.RolledBackReason ?? "promoted");
                }
            }
        }
    }

    /// <summary>The deployment's next state, or null when nothing changed.</summary>
    internal DeploymentRecord? Advance(DeploymentRecord deployment, IReadOnlyList<AgentRecord> known)
    {
        var rollout = deployment.Rollout!;
        var now = timeProvider.GetUtcNow();
        var step = deployment.Strategy.Steps[rollout.Step];
        var chosen = NewVersionAgents(deployment, known);
        var reports = observations.For(deployment.Name).Where(r => r.Served.Version == deployment.Current.Version && chosen.Contains(r.AgentId))
            .GroupBy(r => r.AgentId).ToDictionary(g => g.Key, g => g.OrderByDescending(r => r.ReportedAt).First().Served, StringComparer.Ordinal);

        if (reports.Values.FirstOrDefault(r => r.State == "failed") is { } failedLoad)
        {
            return RollBack(deployment, $"version {deployment.Current.Version} failed to load on an agent: {failedLoad.Error}");
        }

        // Each agent's counters when it was first seen serving the new version in this step.
        var baselines = new Dictionary<string, RolloutBaseline>(rollout.Baselines, StringComparer.Ordinal);
        foreach (var (agentId, served) in reports.Where(r => r.Value.State == "serving"))
        {
            var since = served.Since?.ToDateTimeOffset() ?? DateTimeOffset.MinValue;
            if (!baselines.TryGetValue(agentId, out var known0) || known0.Since != since)
            {
                baselines[agentId] = new RolloutBaseline(since, (long)served.Requests, (long)served.FailedRequests, (long)served.Inferences, served.EnergyJoules);
            }
        }

        var changed = baselines.Count != rollout.Baselines.Count || baselines.Any(b => !rollout.Baselines.TryGetValue(b.Key, out var old) || old != b.Value);
        if (now - rollout.StepStartedAt < step.Pause)
        {
            return changed ? deployment with { Rollout = rollout with { Baselines = baselines }, Revision = deployment.Revision + 1 } : null;
        }

        var (requests, failed, inferences, energy, p99) = (0L, 0L, 0L, 0.0, 0.0);
        foreach (var (agentId, served) in reports.Where(r => baselines.ContainsKey(r.Key)))
        {
            var from = baselines[agentId];
            requests += (long)served.Requests - from.Requests;
            failed += (long)served.FailedRequests - from.FailedRequests;
            inferences += (long)served.Inferences - from.Inferences;
            energy += served.EnergyJoules - from.EnergyJoules;
            p99 = Math.Max(p99, served.P99LatencyMs);
        }

        var analysis = deployment.Strategy.Analysis;
        if (requests + failed < analysis.MinRequests)
        {
            var waiting = string.Create(CultureInfo.InvariantCulture,
                $"Step {rollout.Step + 1}: waiting for {analysis.MinRequests} requests to the new version; {requests + failed} so far.");
            return changed || rollout.Waiting != waiting
                ? deployment with { Rollout = rollout with { Baselines = baselines, Waiting = waiting }, Revision = deployment.Revision + 1 }
                : null;
        }

        var errorRate = requests + failed == 0 ? 0 : (double)failed / (requests + failed);
        if (analysis.MaxErrorRate is { } maxErrors && errorRate > maxErrors)
        {
            return RollBack(deployment, string.Create(CultureInfo.InvariantCulture, $"error rate {errorRate:P1} over {requests + failed} requests is above {maxErrors:P1}"));
        }

        if (analysis.MaxP99LatencyMs is { } maxP99 && p99 > maxP99)
        {
            return RollBack(deployment, string.Create(CultureInfo.InvariantCulture, $"p99 latency {p99:0.##} ms is above {maxP99:0.##} ms"));
        }

        if (analysis.MaxEnergyPer1kInferencesRatio is { } maxRatio && inferences > 0 && deployment.Previous is { } previous
            && PreviousEnergyPer1k(deployment.Name, previous.Version) is { } before && before > 0)
        {
            var after = energy / inferences * 1000;
            if (after / before > maxRatio)
            {
                return RollBack(deployment, string.Create(CultureInfo.InvariantCulture,
                    $"energy per 1,000 inferences {after:0.###} J is {after / before:0.##}× version {previous.Version}'s {before:0.###} J, above {maxRatio:0.##}×"));
            }
        }

        if (rollout.Step + 1 < deployment.Strategy.Steps.Count)
        {
            var next = deployment.Strategy.Steps[rollout.Step + 1];
            return deployment.WithEvent(new DeploymentEvent(now, "step", deployment.Current.Version,
                    $"Step {rollout.Step + 1} passed; {next.Percent} % of the target agents serve version {deployment.Current.Version}."))
                with { Rollout = new Rollout(rollout.Step + 1, now, false, baselines), Revision = deployment.Revision + 1 };
        }

        return deployment.WithEvent(new DeploymentEvent(now, "promoted", deployment.Current.Version, $"Every step passed; version {deployment.Current.Version} serves on every target agent."))
            with { Rollout = null, RolledBackReason = null, Revision = deployment.Revision + 1 };
    }

    /// <summary>The previous version's energy per 1,000 inferences on the agents still serving it, from their counters.</summary>
    private double? PreviousEnergyPer1k(string deployment, int version)
    {
        var previous = observations.For(deployment).Where(r => r.Served.Version == version && r.Served.Inferences > 0).ToList();
        var inferences = previous.Sum(r => (double)r.Served.Inferences);
        return inferences > 0 ? previous.Sum(r => r.Served.EnergyJoules) / inferences * 1000 : null;
    }

    /// <summary>Back to the previous version on every agent, with the reason.</summary>
    public DeploymentRecord RollBack(DeploymentRecord deployment, string reason)
    {
        var now = timeProvider.GetUtcNow();
        var previous = deployment.Previous ?? deployment.Current;
        return deployment.WithEvent(new DeploymentEvent(now, "rolled-back", previous.Version, $"Rolled back from version {deployment.Current.Version}: {reason}."))
            with
            {
                Current = previous,
                Previous = deployment.Current,
                Rollout = null,
                RolledBackReason = $"Version {deployment.Current.Version}: {reason}.",
                UpdatedAt = now,
                Revision = deployment.Revision + 1,
            };
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Rollout of deployment {Deployment} ended at version {Version}: {Outcome}")]
    private partial void LogRolloutEnded(string deployment, int version, string outcome);

    [LoggerMessage(Level = LogLevel.Error, Message = "A round of rollout analysis failed; the next round tries again")]
    private partial void LogRoundFailed(Exception exception);
}
