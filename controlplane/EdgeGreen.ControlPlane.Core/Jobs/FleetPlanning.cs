using System.Diagnostics;
using System.Globalization;
using EdgeGreen.ControlPlane.Core.Agents;
using EdgeGreen.ControlPlane.Core.Carbon;
using EdgeGreen.ControlPlane.Core.Scheduling;
using EdgeGreen.ControlPlane.Core.Storage;
using EdgeGreen.Shared;
using Microsoft.Extensions.Options;

namespace EdgeGreen.ControlPlane.Core.Jobs;

/// <summary>
/// Turns the fleet and the queue into the planner's model and its answer back into job plans.
/// The calendar starts now and runs <see cref="SchedulingOptions.Horizon"/> in slots of
/// <see cref="SchedulingOptions.SlotDuration"/>; its agents are those online with an open job
/// stream; running jobs hold their resources until they are expected to end; each slot's
/// intensity is the zone's current value for the current hour and its forecast after, the
/// forecast's last value standing for any hour past its end.
/// </summary>
public sealed partial class FleetPlanning(
    IAgentStore agentStore,
    CarbonIntensity carbon,
    JobDispatcher dispatcher,
    JobMetrics metrics,
    IOptions<SchedulingOptions> options,
    IOptions<AgentsOptions> agentsOptions,
    LogThrottle throttle,
    ILogger<FleetPlanning> logger)
{
    private readonly CarbonPlanner _planner = new();

    /// <summary>
    /// What a plan at <paramref name="now"/> is made from: the available agents and their zones'
    /// intensity over the horizon. Gathered apart from <see cref="Plan"/>, so that the scheduler
    /// does this I/O (a carbon source's HTTP call among it) outside its lock.
    /// </summary>
    public async Task<PlanningSnapshot> PrepareAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        var slots = (int)(options.Value.Horizon / options.Value.SlotDuration);
        var agents = await AvailableAgentsAsync(now, cancellationToken);
        var intensity = await IntensityAsync(agents.Select(a => a.Zone).Distinct(StringComparer.Ordinal), now, slots, cancellationToken);
        return new PlanningSnapshot(now, agents, intensity);
    }

    /// <summary>
    /// Plans <paramref name="pending"/> first and <paramref name="held"/> on what is left, around
    /// the <paramref name="running"/> jobs; returns each planned job with its new plan, or without
    /// one and the reason. Pure computation over <paramref name="snapshot"/>.
    /// </summary>
    public IReadOnlyList<JobRecord> Plan(
        PlanningSnapshot snapshot,
        IReadOnlyList<JobRecord> running,
        IReadOnlyList<JobRecord> pending,
        IReadOnlyList<JobRecord> held)
    {
        var started = Stopwatch.GetTimestamp();
        var slot = options.Value.SlotDuration;
        var slots = (int)(options.Value.Horizon / slot);
        var (now, agents, intensity) = (snapshot.Now, snapshot.Agents, snapshot.Intensity);
        var usable = agents.Where(a => intensity.Has(a.Zone)).ToList();
        var calendar = new CapacityCalendar([.. usable.Select(a => a.Planning)], slots);
        var index = usable.Select((a, i) => (a.Planning.Id, i)).ToDictionary(a => a.Id, a => a.i, StringComparer.Ordinal);

        foreach (var job in running)
        {
            if (job.AgentId is { } agentId && index.TryGetValue(agentId, out var agent))
            {
                var expectedEnd = (job.StartedAt ?? job.AssignedAt ?? now) + job.EstimatedDuration;
                var remaining = expectedEnd > now + slot ? expectedEnd - now : slot;
                calendar.Reserve(agent, 0, SlotsFor(remaining, slot), Demand(job));
            }
        }

        var results = new List<JobRecord>();
        foreach (var batch in new[] { pending, held })
        {
            var planned = new List<(JobRecord Job, PlanningJob Model)>();
            foreach (var job in batch)
            {
                var eligible = Eligible(job, usable);
                if (eligible.Count == 0)
                {
                    results.Add(job.WithoutPlan() with { StatusReason = NoAgentReason(job, agents.Count, usable.Count) });
                    continue;
                }

                // The deadline slot is the latest start that truly finishes by the deadline plus the
                // job's length in slots, so that rounding the length up to whole slots does not make
                // a job that fits look late.
                var durationSlots = SlotsFor(job.EstimatedDuration, slot);
                var latestStart = Math.Floor((job.Deadline - job.EstimatedDuration - now) / slot);
                planned.Add((job, new PlanningJob(
                    job.Id,
                    job.EarliestStart <= now ? 0 : SlotsFor(job.EarliestStart - now, slot),
                    (int)Math.Clamp(latestStart + durationSlots, -1, slots + durationSlots),
                    durationSlots,
                    job.EstimatedPowerWatts,
                    job.Resources.CpuCores,
                    MemoryBytes: job.Resources.MemoryBytes,
                    Gpus: job.Resources.Gpus,
                    EligibleAgents: eligible)));
            }

            var placements = _planner.Plan([.. planned.Select(p => p.Model)], calendar, intensity);
            for (var i = 0; i < planned.Count; i++)
            {
                results.Add(ToPlan(planned[i].Job, planned[i].Model, placements[i], usable, intensity, now, slot));
            }
        }

        var elapsed = Stopwatch.GetElapsedTime(started);
        metrics.PlanningSeconds.Observe(elapsed.TotalSeconds);
        LogPlanned(pending.Count + held.Count, usable.Count, elapsed.TotalMilliseconds);
        return results;
    }

    private static JobRecord ToPlan(JobRecord job, PlanningJob model, PlannedJob? placement, List<FleetAgent> agents, IntensityTable intensity,
        DateTimeOffset now, TimeSpan slot)
    {
        if (placement is null)
        {
            return job.WithoutPlan() with { StatusReason = "No agent has the capacity within the planning horizon; waiting for capacity." };
        }

        var zone = agents[placement.AgentIndex].Zone;
        var start = now + (slot * placement.StartSlot);
        var kilowattHours = model.PowerWatts / 1000 * model.DurationSlots * intensity.SlotHours;
        var forecastIntensity = placement.ForecastCarbonGrams / kilowattHours;
        var runNowIntensity = intensity.Emissions(zone, model.EarliestSlot, model.DurationSlots, model.PowerWatts) / kilowattHours;
        return job with
        {
            PlannedStart = start > job.EarliestStart ? start : job.EarliestStart,
            AgentId = agents[placement.AgentIndex].Planning.Id,
            Zone = zone,
            ForecastIntensityGramsPerKwh = forecastIntensity,
            ForecastCarbonGrams = JobAccounting.Grams(job.EstimatedEnergyJoules, forecastIntensity),
            RunNowCarbonGrams = JobAccounting.Grams(job.EstimatedEnergyJoules, runNowIntensity),
            MeetsDeadline = placement.MeetsDeadline,
            StatusReason = placement.MeetsDeadline ? null : "No window before the deadline fits; it runs as early as capacity allows.",
        };
    }

    private static HashSet<int> Eligible(JobRecord job, List<FleetAgent> agents)
    {
        var eligible = new HashSet<int>();
        for (var i = 0; i < agents.Count; i++)
        {
            var agent = agents[i];
            var capacity = agent.Planning.Capacity;
            if (agent.JobKinds.Contains(job.Kind)
                && (job.Placement.Zones.Count == 0 || job.Placement.Zones.Contains(agent.Zone, StringComparer.Ordinal))
                && job.Placement.AgentLabels.All(l => agent.Labels.TryGetValue(l.Key, out var value) && value == l.Value)
                && job.Resources.CpuCores <= capacity.CpuCores && job.Resources.MemoryBytes <= capacity.MemoryBytes && job.Resources.Gpus <= capacity.Gpus)
            {
                eligible.Add(i);
            }
        }

        return eligible;
    }

    private static string NoAgentReason(JobRecord job, int connected, int withIntensity)
    {
        if (connected == 0)
        {
            return "No agent is connected to take jobs; waiting for one.";
        }

        if (withIntensity == 0)
        {
            return "No connected agent is in a zone with carbon-intensity data; waiting for one.";
        }

        var needs = new List<string> { $"kind '{job.Kind}'", string.Create(CultureInfo.InvariantCulture, $"{job.Resources.CpuCores} cores") };
        if (job.Resources.MemoryBytes > 0)
        {
            needs.Add(string.Create(CultureInfo.InvariantCulture, $"{job.Resources.MemoryBytes} bytes of memory"));
        }

        if (job.Resources.Gpus > 0)
        {
            needs.Add(string.Create(CultureInfo.InvariantCulture, $"{job.Resources.Gpus} GPUs"));
        }

        if (job.Placement.Zones.Count > 0)
        {
            needs.Add($"a zone among {string.Join(", ", job.Placement.Zones)}");
        }

        if (job.Placement.AgentLabels.Count > 0)
        {
            needs.Add($"labels {string.Join(", ", job.Placement.AgentLabels.Select(l => $"{l.Key}={l.Value}"))}");
        }

        return $"No connected agent offers {string.Join(", ", needs)}; waiting for one.";
    }

    private async Task<List<FleetAgent>> AvailableAgentsAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        var offlineAfter = agentsOptions.Value.OfflineAfter;
        return [.. (await agentStore.ListAsync(cancellationToken))
            .Where(a => a.State is not null && a.LastHeartbeatAt is { } seen && now - seen <= offlineAfter && dispatcher.IsConnected(a.Id))
            .Select(a => new FleetAgent(
                new PlanningAgent(a.Id, a.EffectiveZone, a.State!.CpuCores, a.State.MemoryBytes > 0 ? a.State.MemoryBytes : long.MaxValue, a.State.Gpus),
                a.EffectiveZone,
                a.Labels,
                a.State.JobKinds.ToHashSet(StringComparer.Ordinal)))];
    }

    /// <summary>Each zone's intensity per slot from now: its current value, then its forecast (zones without data are left out).</summary>
    internal async Task<IntensityTable> IntensityAsync(IEnumerable<string> zones, DateTimeOffset now, int slots, CancellationToken cancellationToken)
    {
        var slot = options.Value.SlotDuration;
        var hours = (int)Math.Ceiling(options.Value.Horizon.TotalHours) + 1;
        var byZone = new Dictionary<string, double[]>(StringComparer.Ordinal);
        foreach (var zone in zones)
        {
            try
            {
                var points = new List<IntensityPoint>();
                if (await carbon.GetCurrentAsync(zone, cancellationToken) is { } current)
                {
                    points.Add(current);
                }

                points.AddRange((await carbon.GetForecastAsync(zone, hours, null, cancellationToken)).Points);
                if (points.Count == 0)
                {
                    continue;
                }

                var values = new double[slots];
                var next = 0;
                for (var k = 0; k < slots; k++)
                {
                    var time = now + (slot * k);
                    while (next + 1 < points.Count && points[next + 1].Time <= time)
                    {
                        next++;
                    }

                    values[k] = points[next].IntensityGramsPerKwh;
                }

                byZone[zone] = values;
            }
            catch (Exception ex) when (ex is UnknownZoneException or HttpRequestException or InvalidOperationException)
            {
                if (throttle.ShouldLog($"no-intensity:{zone}", out var suppressed))
                {
                    LogNoIntensity(zone, ex.Message, suppressed);
                }
            }
        }

        return new IntensityTable(slot.TotalHours, byZone);
    }

    private static int SlotsFor(TimeSpan duration, TimeSpan slot) => Math.Max(1, (int)Math.Ceiling(duration / slot));

    private static ResourceDemand Demand(JobRecord job) => new(job.Resources.CpuCores, job.Resources.MemoryBytes, job.Resources.Gpus);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Planned {Jobs} jobs over {Agents} agents in {Milliseconds} ms")]
    private partial void LogPlanned(int jobs, int agents, double milliseconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "No intensity for zone {Zone}; its agents get no jobs this round: {Reason} ({Suppressed} more rounds without it since the last such line)")]
    private partial void LogNoIntensity(string zone, string reason, long suppressed);

    /// <summary>The inputs of one plan, from <see cref="PrepareAsync"/>.</summary>
    public sealed record PlanningSnapshot
    {
        internal PlanningSnapshot(DateTimeOffset now, IReadOnlyList<FleetAgent> agents, IntensityTable intensity) =>
            (Now, Agents, Intensity) = (now, agents, intensity);

        public DateTimeOffset Now { get; }

        internal IReadOnlyList<FleetAgent> Agents { get; }

        internal IntensityTable Intensity { get; }
    }

    internal sealed record FleetAgent(PlanningAgent Planning, string Zone, IReadOnlyDictionary<string, string> Labels, HashSet<string> JobKinds);
}
