using EdgeGreen.ControlPlane.Core.Jobs;
using EdgeGreen.ControlPlane.Core.Storage;
using EdgeGreen.Shared.Jobs;
using Microsoft.Extensions.Options;

namespace EdgeGreen.ControlPlane.Core.Pipelines;

/// <summary>
/// Plans a run's steps that have not started as a whole (<see cref="PipelinePlanner"/>) on the
/// scheduler's calendar: slots of <see cref="SchedulingOptions.SlotDuration"/> from now to the
/// run's deadline, each zone's current intensity and forecast. A step's estimates are its own,
/// else the median of succeeded jobs of the step (named <c>pipeline.step</c>), else what its kind
/// implies; it may run in its placement's zones, else in the zones of the agents that could take
/// it. Steps already submitted as jobs hold the slots their jobs are planned or running in.
/// Replans when a step changed and otherwise every <see cref="SchedulingOptions.ReplanInterval"/>.
/// </summary>
public sealed class PipelinePlanning(
    IAgentStore agents,
    IJobStore jobs,
    FleetPlanning fleet,
    IOptions<SchedulingOptions> options,
    TimeProvider timeProvider)
{
    private readonly PipelinePlanner _planner = new();

    /// <summary>The run with its unstarted steps planned and its totals renewed; unchanged when no replanning is due.</summary>
    public async Task<PipelineRun> PlanAsync(PipelineRun run, PipelineDefinition definition, bool force, CancellationToken cancellationToken)
    {
        var now = timeProvider.GetUtcNow();
        if (!force && run.PlannedAt is { } lastPlanned && now - lastPlanned < options.Value.ReplanInterval)
        {
            return run;
        }

        var slot = options.Value.SlotDuration;
        var horizonSlots = Math.Min(PipelinePlanner.MaxSlots, (int)(options.Value.Horizon / slot));
        var deadlineSlot = (int)Math.Clamp(Math.Floor((run.Deadline - now) / slot), 0, horizonSlots);
        var steps = definition.Steps.ToDictionary(s => s.Name, StringComparer.Ordinal);

        // What is in flight: its expected finish holds back the steps after it.
        var inFlight = new Dictionary<string, (int FinishSlot, double? ForecastGrams, double? RunNowGrams, double EnergyJoules)>(StringComparer.Ordinal);
        foreach (var state in run.Steps.Where(s => s.JobId is not null && !s.IsFinished))
        {
            if (await jobs.GetAsync(state.JobId!, cancellationToken) is { } job)
            {
                var start = job.StartedAt ?? job.AssignedAt ?? job.PlannedStart ?? now;
                var finish = start + job.EstimatedDuration;
                inFlight[state.Name] = ((int)Math.Max(0, Math.Ceiling((finish - now) / slot)), job.ForecastCarbonGrams, job.RunNowCarbonGrams, job.EstimatedEnergyJoules);
            }
        }

        var known = await agents.ListAsync(cancellationToken);
        var unstarted = run.Steps.Where(s => s.JobId is null && !s.IsFinished).Select(s => steps[s.Name]).ToList();
        var planningSteps = new List<PlanningStep>();
        var energy = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var step in unstarted)
        {
            var (duration, power) = await EstimateAsync(run, step, cancellationToken);
            energy[step.Name] = duration.TotalSeconds * power;
            var earliest = step.DependsOn.Where(inFlight.ContainsKey).Select(d => inFlight[d].FinishSlot).DefaultIfEmpty(0).Max();
            var slots = duration <= TimeSpan.Zero ? 0 : Math.Min(PipelinePlanner.MaxSlots, Math.Max(1, (int)Math.Ceiling(duration / slot)));
            planningSteps.Add(new PlanningStep(
                step.Name,
                slots,
                // Spread over whole slots, so that a step shorter than its slots is not charged for all of them.
                slots == 0 ? 0 : power * Math.Min(1, duration / (slot * slots)),
                [.. step.DependsOn.Where(d => unstarted.Any(u => u.Name == d))],
                Zones(step, known),
                Math.Min(earliest, horizonSlots)));
        }

        var zones = planningSteps.SelectMany(s => s.Zones ?? []).Distinct(StringComparer.Ordinal).ToList();
        var intensity = await fleet.IntensityAsync(zones, now, horizonSlots, cancellationToken);
        // A step with no zone that has intensity data cannot be planned, nor can the run as a whole.
        var usable = planningSteps.Select(s => s.Zones is null ? s : s with { Zones = [.. s.Zones.Where(intensity.Has)] }).ToList();
        var plannable = usable.Count > 0 && intensity.Zones.Any() && usable.All(s => s.Zones is null || s.Zones.Count > 0);
        var plan = plannable ? _planner.Plan(usable, deadlineSlot, intensity) : null;

        var planned = run.Steps.Select(state =>
        {
            if (plan?.Steps.FirstOrDefault(p => p.Name == state.Name) is { } place)
            {
                var latest = now + (slot * place.LatestFinishSlot);
                return state with
                {
                    PlannedStart = now + (slot * place.StartSlot),
                    LatestFinish = latest < run.Deadline ? latest : run.Deadline,
                    ForecastCarbonGrams = place.ForecastCarbonGrams,
                    ForecastEnergyJoules = energy[state.Name],
                };
            }

            return energy.TryGetValue(state.Name, out var joules) ? state with { ForecastEnergyJoules = joules } : state;
        }).ToList();

        var finished = planned.Where(s => s.IsFinished).ToList();
        var finishSlots = plan?.Steps.Select(p => p.FinishSlot).Concat(inFlight.Values.Select(f => f.FinishSlot)).DefaultIfEmpty(0).Max() ?? 0;
        var completeForecast = plan is not null || unstarted.Count == 0;
        return run with
        {
            Steps = planned,
            PlannedAt = now,
            PlannedFinish = unstarted.Count == 0 && inFlight.Count == 0 ? finished.Max(s => s.FinishedAt) : now + (slot * finishSlots),
            ForecastCarbonGrams = completeForecast
                ? finished.Sum(s => s.CarbonGrams ?? 0) + inFlight.Values.Sum(f => f.ForecastGrams ?? 0) + (plan?.ForecastCarbonGrams ?? 0)
                : null,
            RunNowCarbonGrams = completeForecast
                ? finished.Sum(s => s.RunNowCarbonGrams ?? s.CarbonGrams ?? 0) + inFlight.Values.Sum(f => f.RunNowGrams ?? f.ForecastGrams ?? 0) + (plan?.RunNowCarbonGrams ?? 0)
                : null,
            ForecastEnergyJoules = finished.Sum(s => s.EnergyJoules ?? 0) + inFlight.Values.Sum(f => f.EnergyJoules) + energy.Values.Sum(),
            StatusReason = plan is { MeetsDeadline: false } ? "The steps cannot all finish by the deadline: they run as early as they can." : run.StatusReason,
        };
    }

    /// <summary>How long the step is expected to run and at what power.</summary>
    private async Task<(TimeSpan Duration, double PowerWatts)> EstimateAsync(PipelineRun run, PipelineStep step, CancellationToken cancellationToken)
    {
        if (PipelineStepKinds.IsControlPlaneKind(step.Kind))
        {
            return (TimeSpan.Zero, 0);
        }

        var history = step.EstimatedDuration is null || step.EstimatedPowerWatts is null
            ? (await jobs.ListSucceededAsync($"{run.Pipeline}.{step.Name}", options.Value.EstimateHistory, cancellationToken))
                .Where(j => j.StartedAt is not null && j.FinishedAt > j.StartedAt).ToList()
            : [];
        var literal = step.Parameters.Where(p => !ParameterTemplate.ContainsExpressions(p.Value)).ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal);
        var typical = JobSubmissions.Median(history.Select(j => (j.FinishedAt!.Value - j.StartedAt!.Value).TotalSeconds));
        var duration = step.EstimatedDuration
            ?? (typical is { } seconds ? TimeSpan.FromSeconds(seconds) : (TimeSpan?)null)
            ?? JobKinds.Find(step.Kind)?.ImpliedDuration(literal)
            ?? options.Value.SlotDuration;
        var cores = step.Resources?.CpuCores ?? JobKinds.Find(step.Kind)?.ImpliedCpuCores(literal) ?? 1;
        var power = step.EstimatedPowerWatts
            ?? JobSubmissions.Median(history.Where(j => j.EnergyJoules > 0).Select(j => j.EnergyJoules!.Value / (j.FinishedAt!.Value - j.StartedAt!.Value).TotalSeconds))
            ?? options.Value.DefaultPowerWattsPerCore * Math.Max(1, cores);
        return (duration, power);
    }

    /// <summary>The step's placement zones, else those of the agents that could take it, else every agent's.</summary>
    private static List<string>? Zones(PipelineStep step, IReadOnlyList<AgentRecord> known)
    {
        if (PipelineStepKinds.IsControlPlaneKind(step.Kind))
        {
            // Takes no time and no agent: any zone will do.
            return null;
        }

        if (step.Placement is { Zones.Count: > 0 } placement)
        {
            return [.. placement.Zones];
        }

        var labels = step.Placement?.AgentLabels ?? new Dictionary<string, string>();
        var able = known.Where(a => (a.State is null || PipelineStepKinds.IsControlPlaneKind(step.Kind) || a.State.JobKinds.Contains(step.Kind))
            && labels.All(l => a.Labels.TryGetValue(l.Key, out var value) && value == l.Value)).ToList();
        return [.. (able.Count > 0 ? able : known).Select(a => a.EffectiveZone).Distinct(StringComparer.Ordinal)];
    }
}
