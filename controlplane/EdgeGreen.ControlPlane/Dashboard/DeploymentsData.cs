using EdgeGreen.ControlPlane.Core.Deployments;
using EdgeGreen.ControlPlane.Core.Monitoring;
using EdgeGreen.ControlPlane.Deployments;
using Microsoft.Extensions.Options;

namespace EdgeGreen.ControlPlane.Dashboard;

/// <summary>An experiment as the deployments page lists it: measured while it runs, its outcome once concluded.</summary>
public sealed record ExperimentRow(ExperimentRecord Experiment, ExperimentResult? Running);

/// <summary>Every deployment as the API shows it, and every experiment, newest first.</summary>
public sealed record DeploymentsOverview(IReadOnlyList<DeploymentResponse> Deployments, IReadOnlyList<ExperimentRow> Experiments);

/// <summary>
/// What the target agents report for one version of a deployment, summed over them: requests and
/// failures since each began serving it, the highest of their p99 latencies (percentiles do not
/// add), and energy per 1,000 inferences as all their attributed energy over all their inferences.
/// </summary>
public sealed record VersionTraffic(int Version, int Agents, long Requests, long Errors, double? HighestP99LatencyMs, double? EnergyPer1kInferencesJoules)
{
    public double? ErrorRate => Requests > 0 ? (double)Errors / Requests : null;
}

/// <summary>One deployment: the API's view of it, its traffic per version and its experiments.</summary>
public sealed record DeploymentDetail(DeploymentResponse Deployment, IReadOnlyList<VersionTraffic> Versions, IReadOnlyList<ExperimentRecord> Experiments);

/// <summary>What the deployment page loaded: the deployment, or null when there is none by that name.</summary>
public sealed record DeploymentPage(DeploymentDetail? Detail);

/// <summary>What the experiment page loaded: the experiment measured, or null when there is none by that name.</summary>
public sealed record ExperimentPage(ExperimentResult? Result);

/// <summary>Deployments and experiments, read through what the deployments and experiments APIs use.</summary>
public sealed class DeploymentsData(
    IDeploymentStore store,
    IAgentStore agents,
    DeploymentObservations observations,
    Experiments experiments,
    IOptions<AgentsOptions> agentsOptions,
    TimeProvider time)
{
    public async Task<DeploymentsOverview> ListAsync(CancellationToken cancellationToken)
    {
        var records = await store.ListAsync(cancellationToken);
        var responses = new List<DeploymentResponse>();
        foreach (var deployment in records.OrderBy(d => d.Name, StringComparer.Ordinal))
        {
            responses.Add(await DeploymentsApi.ResponseAsync(deployment, agents, observations, agentsOptions.Value, time.GetUtcNow(), cancellationToken));
        }

        // Only running experiments are measured here (at most one per deployment); a concluded one shows its outcome.
        var rows = new List<ExperimentRow>();
        foreach (var experiment in records.SelectMany(d => d.Experiments).OrderByDescending(e => e.StartedAt))
        {
            rows.Add(new ExperimentRow(experiment, experiment.IsRunning ? await experiments.GetAsync(experiment.Name, cancellationToken) : null));
        }

        return new DeploymentsOverview(responses, rows);
    }

    /// <summary>The deployment, or null when there is none by that name.</summary>
    public async Task<DeploymentDetail?> GetAsync(string name, CancellationToken cancellationToken)
    {
        if (await store.GetAsync(name, cancellationToken) is not { } deployment)
        {
            return null;
        }

        var response = await DeploymentsApi.ResponseAsync(deployment, agents, observations, agentsOptions.Value, time.GetUtcNow(), cancellationToken);
        var online = response.Agents.Select(a => a.AgentId).ToHashSet(StringComparer.Ordinal);
        var versions = observations.For(name).Where(r => online.Contains(r.AgentId)).GroupBy(r => r.Served.Version).OrderByDescending(g => g.Key).Select(g =>
        {
            var served = g.Select(r => r.Served).ToList();
            var requests = served.Sum(s => (long)s.Requests);
            var inferences = served.Sum(s => (double)s.Inferences);
            var withTraffic = served.Where(s => s.Requests > 0).ToList();
            return new VersionTraffic(g.Key, served.Count, requests, served.Sum(s => (long)s.FailedRequests),
                withTraffic.Count > 0 ? withTraffic.Max(s => s.P99LatencyMs) : null,
                inferences > 0 ? served.Sum(s => s.EnergyJoules) / inferences * 1000 : null);
        }).ToList();
        return new DeploymentDetail(response, versions, [.. deployment.Experiments.Reverse()]);
    }

    /// <summary>The experiment measured as its API answers it, or null when there is none by that name.</summary>
    public Task<ExperimentResult?> GetExperimentAsync(string name, CancellationToken cancellationToken) => experiments.GetAsync(name, cancellationToken);
}

/// <summary>A deployment's settings in words, for the deployments pages.</summary>
public static class DeploymentText
{
    /// <summary>The model as named (an alias or a version) and the version it resolved to.</summary>
    public static string Model(DeploymentResponse deployment) =>
        deployment.Model == $"models:/{deployment.ModelName}/{deployment.CurrentVersion}"
            ? deployment.Model
            : $"{deployment.Model} (serving {deployment.ModelName} v{deployment.CurrentVersion})";

    public static string Target(DeploymentTarget target)
    {
        var parts = new List<string>();
        if (target.Agents.Count > 0)
        {
            parts.Add((target.Agents.Count == 1 ? "agent " : "agents ") + string.Join(", ", target.Agents));
        }

        if (target.Zones.Count > 0)
        {
            parts.Add((target.Zones.Count == 1 ? "zone " : "zones ") + string.Join(", ", target.Zones));
        }

        if (target.AgentLabels.Count > 0)
        {
            parts.Add("labels " + string.Join(", ", target.AgentLabels.Select(l => $"{l.Key}={l.Value}")));
        }

        return string.Join("; ", parts);
    }

    public static string Strategy(DeploymentStrategy strategy) =>
        strategy.Steps.Count == 0 ? strategy.Type : $"{strategy.Type}: {string.Join(" → ", strategy.Steps.Select(s => $"{s.Percent} %"))}";

    /// <summary>The step a rollout is at and what it waits for, or why it rolled back.</summary>
    public static string Rollout(DeploymentResponse deployment) =>
        string.Join(" ", new[] { deployment.Step is { } step ? $"step {step} of {deployment.Strategy.Steps.Count}" : null, deployment.StatusReason }.OfType<string>());
}

/// <summary>One row of an interval plot: a value and its interval, either of which may not be known yet.</summary>
public sealed record IntervalRow(string Label, double? Value, double? Lower, double? Upper);

/// <summary>
/// The horizontal scale of an interval plot: a domain that holds every value, interval end and
/// reference line (a zero line, ± the minimum detectable effect), padded by a twentieth on each side
/// so that nothing sits on the edge, and positions on a plot <c>width</c> wide.
/// </summary>
public sealed record IntervalScale(double Min, double Max)
{
    public static IntervalScale For(IEnumerable<IntervalRow> rows, params double[] references)
    {
        var values = rows.SelectMany(r => new[] { r.Value, r.Lower, r.Upper }).OfType<double>().Concat(references).Where(double.IsFinite).ToList();
        if (values.Count == 0)
        {
            return new IntervalScale(0, 1);
        }

        var (min, max) = (values.Min(), values.Max());
        var pad = max > min ? (max - min) / 20 : Math.Max(Math.Abs(min) / 10, 0.5);
        return new IntervalScale(min - pad, max + pad);
    }

    /// <summary>Where <paramref name="value"/> lies on a plot from 0 to <paramref name="width"/>.</summary>
    public double Position(double value, double width) => (value - Min) / (Max - Min) * width;
}
