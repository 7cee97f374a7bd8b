using EdgeGreen.ControlPlane.Core.Carbon;
using EdgeGreen.ControlPlane.Core.Deployments;
using EdgeGreen.ControlPlane.Core.Registry;
using EdgeGreen.ControlPlane.Core.Storage;
using EdgeGreen.Shared.Jobs;

namespace EdgeGreen.ControlPlane.Core.Monitoring;

public sealed record StartExperimentRequest(
    string? Name,
    string? Deployment,
    string? Control,
    string? Treatment,
    int? TrafficPercent,
    ExperimentMetricSpec? Metric,
    double? Alpha,
    double? MinimumDetectableEffect,
    bool? HigherIsBetter,
    double? MaxExtraCarbonShare);

/// <summary>One arm as measured: its traffic and energy, and the metric with a 1 − α interval of its own.</summary>
public sealed record ExperimentVariant(
    string Arm,
    string Model,
    int Version,
    long Requests,
    long Inferences,
    long Observations,
    double? Value,
    double[]? ConfidenceInterval,
    double? EnergyPer1kInferencesJoules,
    double? CarbonPer1kInferencesGrams);

/// <summary>
/// Where an experiment stands: each arm, and the difference (treatment − control) with its always-valid
/// p-value and confidence sequence (an mSPRT looked at once per hour of data), which the decision follows.
/// </summary>
public sealed record ExperimentResult(
    ExperimentRecord Experiment,
    IReadOnlyList<ExperimentVariant> Variants,
    double? Difference,
    double[]? ConfidenceSequence,
    double PValue,
    int Looks,
    string Decision);

/// <summary>A/B experiments on deployments: started, measured from the monitoring data, concluded.</summary>
public sealed class Experiments(
    IDeploymentStore deployments,
    IMonitoringStore store,
    ModelRegistry registry,
    IAgentStore agents,
    CarbonIntensity carbon,
    DeploymentEvents events,
    TimeProvider timeProvider)
{
    private const int MaxPredictions = 200_000;

    public async Task<(ExperimentResult? Result, MonitoringProblem? Problem)> StartAsync(StartExperimentRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (!ResourceNames.IsValid(request.Name ?? ""))
        {
            return Bad("name", "name is required: " + ResourceNames.Rule);
        }

        if (await FindAsync(request.Name!, cancellationToken) is not null)
        {
            return (null, new MonitoringProblem("name", $"An experiment named '{request.Name}' exists already.", NotFound: false) { Conflict = true });
        }

        if (request.TrafficPercent is not (>= 1 and <= 99))
        {
            return Bad("trafficPercent", "trafficPercent, the treatment's share of requests, must be from 1 to 99.");
        }

        if (request.Metric is not { Source: "feedback" or "prediction", Kind: "proportion" or "mean" })
        {
            return Bad("metric", "metric is {source: feedback|prediction, kind: proportion|mean, name}.");
        }

        var alpha = request.Alpha ?? 0.05;
        if (!(alpha is > 0 and <= 0.5))
        {
            return Bad("alpha", "alpha must be above 0 and at most 0.5.");
        }

        if (request.MinimumDetectableEffect is not { } mde || !(mde > 0 && double.IsFinite(mde)))
        {
            return Bad("minimumDetectableEffect", "minimumDetectableEffect, the smallest difference worth acting on in the metric's units, must be positive.");
        }

        if (request.MaxExtraCarbonShare is { } share && !(share >= 0 && double.IsFinite(share)))
        {
            return Bad("maxExtraCarbonShare", "maxExtraCarbonShare must be 0 or more (0.1: the treatment may emit 10 % more per 1,000 inferences).");
        }

        if (await deployments.GetAsync(request.Deployment ?? "", cancellationToken) is not { } deployment)
        {
            return (null, new MonitoringProblem("deployment", $"No deployment is named '{request.Deployment}'.", NotFound: true));
        }

        if (deployment.Rollout is not null || deployment.RunningExperiment is not null)
        {
            return (null, new MonitoringProblem("deployment", $"Deployment '{deployment.Name}' is rolling out a version or running an experiment; one change at a time.", NotFound: false) { Conflict = true });
        }

        var control = request.Control is { Length: > 0 } c ? await registry.ResolveAsync(c, cancellationToken) : null;
        if (control is null || control.Name != deployment.Current.Model || control.Version != deployment.Current.Version)
        {
            return Bad("control", $"control must name the version the deployment serves: models:/{deployment.Current.Model}/{deployment.Current.Version}.");
        }

        var treatment = request.Treatment is { Length: > 0 } t ? await registry.ResolveAsync(t, cancellationToken) : null;
        if (treatment is not { Status: ModelVersionStatus.Ready, Sha256: not null } || (treatment.Name == control.Name && treatment.Version == control.Version))
        {
            return Bad("treatment", "treatment must name a READY model version other than the control.");
        }

        var now = timeProvider.GetUtcNow();
        var experiment = new ExperimentRecord(request.Name!, deployment.Name, deployment.Current, new DeployedVersion(treatment.Name, treatment.Version, treatment.Sha256!),
            request.TrafficPercent.Value, request.Metric, alpha, mde, request.HigherIsBetter ?? true, request.MaxExtraCarbonShare, now);
        var updated = deployment with { Experiments = [.. deployment.Experiments.TakeLast(19), experiment], UpdatedAt = now, Revision = deployment.Revision + 1 };
        updated = updated.WithEvent(new DeploymentEvent(now, "experiment-started", treatment.Version,
            $"Experiment '{experiment.Name}': {experiment.TrafficPercent} % of requests to {treatment.Name} version {treatment.Version}, the rest to version {deployment.Current.Version}."));
        if (!await deployments.UpdateAsync(updated, cancellationToken))
        {
            return (null, new MonitoringProblem("deployment", $"Deployment '{deployment.Name}' changed meanwhile; try again.", NotFound: false) { Conflict = true });
        }

        events.PublishAdded(deployment, updated);
        return (await MeasureAsync(updated.Target, experiment, cancellationToken), null);
    }

    public async Task<IReadOnlyList<ExperimentRecord>> ListAsync(CancellationToken cancellationToken) =>
        [.. (await deployments.ListAsync(cancellationToken)).SelectMany(d => d.Experiments).OrderBy(e => e.StartedAt)];

    public async Task<ExperimentResult?> GetAsync(string name, CancellationToken cancellationToken) =>
        await FindAsync(name, cancellationToken) is { } found ? await MeasureAsync(found.Deployment.Target, found.Experiment, cancellationToken) : null;

    /// <summary>
    /// Ends the experiment on its current decision: a better treatment becomes what the deployment
    /// serves (and the alias the deployment names, if it names one, moves to it); anything else keeps
    /// the control. Either way the traffic split ends.
    /// </summary>
    public async Task<(ExperimentResult? Result, MonitoringProblem? Problem)> ConcludeAsync(string name, CancellationToken cancellationToken)
    {
        if (await FindAsync(name, cancellationToken) is not { } found)
        {
            return (null, new MonitoringProblem("name", $"No experiment is named '{name}'.", NotFound: true));
        }

        var (deployment, experiment) = found;
        if (!experiment.IsRunning)
        {
            return (null, new MonitoringProblem("name", $"Experiment '{name}' was concluded already: {experiment.Outcome}", NotFound: false) { Conflict = true });
        }

        var result = await MeasureAsync(deployment.Target, experiment, cancellationToken);
        var promote = result.Decision == "treatment-better";
        var now = timeProvider.GetUtcNow();
        var outcome = promote
            ? $"treatment-better: now serving {experiment.Treatment.Model} version {experiment.Treatment.Version}."
            : $"{result.Decision}: keeping {experiment.Control.Model} version {experiment.Control.Version}.";
        var concluded = experiment with { Status = ExperimentRecord.Concluded, ConcludedAt = now, Outcome = outcome };
        var updated = deployment with
        {
            Experiments = [.. deployment.Experiments.SkipLast(1), concluded],
            Current = promote ? experiment.Treatment : deployment.Current,
            Previous = promote ? experiment.Control : deployment.Previous,
            UpdatedAt = now,
            Revision = deployment.Revision + 1,
        };
        updated = updated.WithEvent(new DeploymentEvent(now, "experiment-concluded", updated.Current.Version, $"Experiment '{name}' concluded, {outcome}"));
        if (!await deployments.UpdateAsync(updated, cancellationToken))
        {
            return (null, new MonitoringProblem("name", $"Deployment '{deployment.Name}' changed meanwhile; try again.", NotFound: false) { Conflict = true });
        }

        events.PublishAdded(deployment, updated);
        if (promote && AliasOf(deployment.ModelReference) is { } alias && alias.Model == experiment.Treatment.Model)
        {
            await registry.SetAliasAsync(alias.Model, alias.Alias, experiment.Treatment.Version, cancellationToken);
        }

        return (result with { Experiment = concluded }, null);
    }

    private static (string Model, string Alias)? AliasOf(string reference) =>
        reference.StartsWith("models:/", StringComparison.Ordinal) && reference[8..].Split('@') is [var model, var alias] ? (model, alias) : null;

    private async Task<(DeploymentRecord Deployment, ExperimentRecord Experiment)?> FindAsync(string name, CancellationToken cancellationToken) =>
        (await deployments.ListAsync(cancellationToken)).SelectMany(d => d.Experiments.Select(e => (Deployment: d, Experiment: e)))
            .Where(p => p.Experiment.Name == name).Select(p => ((DeploymentRecord, ExperimentRecord)?)(p.Deployment, p.Experiment)).FirstOrDefault();

    /// <summary>Each arm's traffic, energy, carbon and metric since the experiment started, and the sequential test over its hours.</summary>
    private async Task<ExperimentResult> MeasureAsync(DeploymentTarget target, ExperimentRecord experiment, CancellationToken cancellationToken)
    {
        var to = experiment.ConcludedAt ?? timeProvider.GetUtcNow();
        var from = TrafficWindow.HourOf(experiment.StartedAt);
        var hours = await store.ListHoursAsync(experiment.Deployment, from, to, cancellationToken);
        var intensity = await IntensityByHourAsync(target, from, to, cancellationToken);
        var predictions = experiment.Metric.Source == "feedback" || experiment.Metric.Kind == "proportion"
            ? (await store.ListPredictionsAsync(experiment.Deployment, experiment.StartedAt, to, MaxPredictions, cancellationToken))
                .Where(p => experiment.Metric.Source == "prediction" || p.Label is not null).ToList()
            : [];
        var arms = new[] { experiment.Control, experiment.Treatment };
        var hourStarts = hours.Select(h => h.Start).Concat(predictions.Select(p => TrafficWindow.HourOf(p.Time))).Distinct().Order().ToList();
        var options = new ExperimentOptions(experiment.Metric.Kind == "proportion" ? ExperimentMetric.Proportion : ExperimentMetric.Mean,
            experiment.MinimumDetectableEffect, experiment.Alpha, HigherIsBetter: experiment.HigherIsBetter, MaxExtraCarbonShare: experiment.MaxExtraCarbonShare);
        var test = SequentialExperiment.Start(options);
        var carbonPerArm = arms.Select(arm => hours.Where(h => Is(h.Model, h.Version, arm)).Sum(h => h.EnergyJoules / 3.6e6 * intensity.GetValueOrDefault(h.Start, 0))).ToArray();
        var inferencesPerArm = arms.Select(arm => hours.Where(h => Is(h.Model, h.Version, arm)).Sum(h => h.Inferences)).ToArray();
        foreach (var hour in hourStarts)
        {
            var (control, treatment) = (Arm(experiment, arms[0], hour, hours, predictions), Arm(experiment, arms[1], hour, hours, predictions));
            test = test.Observe(control, treatment);
        }

        // The carbon rule compares grams per 1,000 inferences: each arm's summary carries its grams scaled to its observations.
        var final = new[] { test.Control, test.Treatment };
        if (experiment.MaxExtraCarbonShare is not null && inferencesPerArm.All(n => n > 0))
        {
            test = test.WithCarbon(carbonPerArm[0] / inferencesPerArm[0] * final[0].Count, carbonPerArm[1] / inferencesPerArm[1] * final[1].Count);
        }

        var variants = arms.Select((arm, i) =>
        {
            var traffic = hours.Where(h => Is(h.Model, h.Version, arm)).ToList();
            var summary = final[i];
            var energy = traffic.Sum(h => h.EnergyJoules);
            return new ExperimentVariant(i == 0 ? "control" : "treatment", arm.Model, arm.Version, traffic.Sum(h => h.Requests), inferencesPerArm[i], summary.Count,
                summary.Count == 0 ? null : summary.Mean, Interval(summary, options),
                inferencesPerArm[i] > 0 ? energy * 1000 / inferencesPerArm[i] : null,
                inferencesPerArm[i] > 0 ? carbonPerArm[i] * 1000 / inferencesPerArm[i] : null);
        }).ToList();
        return new ExperimentResult(experiment, variants, test.Looks > 0 ? test.Difference : null,
            test.Looks > 0 ? [test.Lower, test.Upper] : null, test.PValue, test.Looks, Decision(test.Decision));
    }

    private static ArmSummary Arm(ExperimentRecord experiment, DeployedVersion arm, DateTimeOffset hour, IReadOnlyList<TrafficWindow> hours, List<LoggedPrediction> predictions)
    {
        if (experiment.Metric.Source == "prediction" && experiment.Metric.Kind == "mean")
        {
            var output = hours.Where(h => h.Start == hour && Is(h.Model, h.Version, arm))
                .Select(h => experiment.Metric.Name is { } name ? h.Outputs.FirstOrDefault(o => o.Name == name) : h.Outputs.FirstOrDefault()).OfType<FeatureCounts>();
            return output.Aggregate(ArmSummary.Empty, (sum, o) => sum.Merge(new ArmSummary(o.Count, o.Sum, o.SumOfSquares)));
        }

        var values = predictions.Where(p => TrafficWindow.HourOf(p.Time) == hour && Is(p.Model, p.Version, arm))
            .Select(p => experiment.Metric.Source == "feedback" ? p.Label!.Value : p.Value)
            .Select(v => experiment.Metric.Kind == "proportion" ? (v >= PerformanceReports.Threshold ? 1.0 : 0.0) : v);
        return ArmSummary.Of(values);
    }

    private static bool Is(string model, int version, DeployedVersion arm) => model == arm.Model && version == arm.Version;

    /// <summary>The arm's own 1 − α interval (normal approximation, fixed horizon): a description of the arm, not the test.</summary>
    private static double[]? Interval(ArmSummary arm, ExperimentOptions options)
    {
        if (arm.Count < 2)
        {
            return null;
        }

        var mean = arm.Mean;
        var variance = options.Metric == ExperimentMetric.Proportion ? mean * (1 - mean) : Math.Max(0, (arm.SumOfSquares - (arm.Count * mean * mean)) / (arm.Count - 1));
        var half = Distributions.NormalQuantile(1 - (options.Alpha / 2)) * Math.Sqrt(variance / arm.Count);
        return [mean - half, mean + half];
    }

    /// <summary>The grid intensity each hour, averaged over the zones of the deployment's target agents.</summary>
    private async Task<Dictionary<DateTimeOffset, double>> IntensityByHourAsync(DeploymentTarget target, DateTimeOffset from, DateTimeOffset to, CancellationToken cancellationToken)
    {
        var zones = (await agents.ListAsync(cancellationToken))
            .Where(a => target.Includes(a.Id, a.EffectiveZone, a.Labels)).Select(a => a.EffectiveZone).Distinct(StringComparer.Ordinal).ToList();
        var byHour = new Dictionary<DateTimeOffset, List<double>>();
        foreach (var zone in zones)
        {
            foreach (var point in await carbon.GetHistoryAsync(zone, from, to + TimeSpan.FromHours(1), cancellationToken))
            {
                var hour = TrafficWindow.HourOf(point.Time);
                (byHour.TryGetValue(hour, out var list) ? list : byHour[hour] = []).Add(point.IntensityGramsPerKwh);
            }
        }

        return byHour.ToDictionary(p => p.Key, p => p.Value.Average());
    }

    private static string Decision(ExperimentDecision decision) => decision switch
    {
        ExperimentDecision.TreatmentBetter => "treatment-better",
        ExperimentDecision.ControlBetter => "control-better",
        ExperimentDecision.NoDifference => "no-difference",
        ExperimentDecision.TreatmentTooCostly => "treatment-too-costly",
        _ => "continue",
    };

    private static (ExperimentResult?, MonitoringProblem?) Bad(string field, string message) => (null, new MonitoringProblem(field, message, NotFound: false));
}
