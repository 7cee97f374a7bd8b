namespace EdgeGreen.ControlPlane.Scheduling;

/// <summary>
/// Places jobs in time and across agents to minimise expected emissions under agent capacity.
/// <list type="number">
/// <item>Jobs are taken least slack first (those with the fewest windows before their deadline),
/// ties by largest expected energy (where the most carbon is at stake). Taking the largest first
/// saved about as much carbon but let flexible jobs take the room urgent ones needed.</item>
/// <item>Each goes to the cheapest (agent, start) that fits: per allowed zone, its feasible starts
/// are ranked by window emissions (prefix sums make each O(1)), and the first start at which some
/// agent of the zone has the cores free wins the zone; the cheapest zone wins.</item>
/// <item>One improvement pass then lifts each job out and puts it back at its cheapest fit, which
/// recovers slots that larger jobs took first but did not need.</item>
/// </list>
/// A job whose deadline leaves no window that fits is placed as early as capacity allows and
/// flagged (<see cref="PlannedJob.MeetsDeadline"/> false): it runs at once rather than not at all.
/// </summary>
public sealed class CarbonPlanner
{
    /// <returns>One placement per job, in the jobs' order; null for a job that fits nowhere in the calendar.</returns>
    public IReadOnlyList<PlannedJob?> Plan(IReadOnlyList<PlanningJob> jobs, CapacityCalendar calendar, IntensityTable intensity)
    {
        var zones = calendar.Agents.Select((a, i) => (a.Zone, Index: i)).GroupBy(a => a.Zone, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.Select(a => a.Index).ToArray(), StringComparer.Ordinal);
        var order = jobs.Select((job, index) => (job, index))
            .OrderBy(j => j.job.DeadlineSlot - j.job.EarliestSlot - j.job.DurationSlots)
            .ThenByDescending(j => j.job.PowerWatts * j.job.DurationSlots)
            .ToList();

        var placements = new PlannedJob?[jobs.Count];
        foreach (var (job, index) in order)
        {
            placements[index] = Place(job, calendar, intensity, zones);
        }

        foreach (var (job, index) in order)
        {
            if (placements[index] is not { MeetsDeadline: true } current)
            {
                continue;
            }

            calendar.Release(current.AgentIndex, current.StartSlot, job.DurationSlots, job.Demand);
            var candidate = Place(job, calendar, intensity, zones);
            if (candidate is { MeetsDeadline: true } && candidate.ForecastCarbonGrams < current.ForecastCarbonGrams)
            {
                placements[index] = candidate;
                continue;
            }

            if (candidate is not null)
            {
                calendar.Release(candidate.AgentIndex, candidate.StartSlot, job.DurationSlots, job.Demand);
            }

            calendar.Reserve(current.AgentIndex, current.StartSlot, job.DurationSlots, job.Demand);
        }

        return placements;
    }

    /// <summary>The cheapest fitting placement, reserved in the calendar; null when the job fits nowhere at all.</summary>
    private static PlannedJob? Place(PlanningJob job, CapacityCalendar calendar, IntensityTable intensity, Dictionary<string, int[]> zones)
    {
        var lastStart = Math.Min(job.DeadlineSlot, calendar.Slots) - job.DurationSlots;
        (int Agent, int Start, double Grams)? best = null;
        foreach (var (zone, agents) in zones)
        {
            if (!intensity.Has(zone) || (job.Zones is { } allowed && !allowed.Contains(zone, StringComparer.Ordinal)))
            {
                continue;
            }

            var starts = new List<(int Start, double Grams)>();
            for (var start = job.EarliestSlot; start <= lastStart; start++)
            {
                starts.Add((start, intensity.Emissions(zone, start, job.DurationSlots, job.PowerWatts)));
            }

            starts.Sort((a, b) => a.Grams != b.Grams ? a.Grams.CompareTo(b.Grams) : a.Start.CompareTo(b.Start));
            foreach (var (start, grams) in starts)
            {
                if (best is { } known && grams >= known.Grams)
                {
                    break;
                }

                if (FirstFitting(agents, start, job, calendar) is { } agent)
                {
                    best = (agent, start, grams);
                    break;
                }
            }
        }

        if (best is { } chosen)
        {
            calendar.Reserve(chosen.Agent, chosen.Start, job.DurationSlots, job.Demand);
            return new PlannedJob(job.Id, chosen.Agent, chosen.Start, chosen.Grams, MeetsDeadline: true);
        }

        return PlaceAsap(job, calendar, intensity, zones);
    }

    /// <summary>No window meets the deadline: the earliest start any allowed agent can take.</summary>
    private static PlannedJob? PlaceAsap(PlanningJob job, CapacityCalendar calendar, IntensityTable intensity, Dictionary<string, int[]> zones)
    {
        for (var start = job.EarliestSlot; start + job.DurationSlots <= calendar.Slots; start++)
        {
            foreach (var (zone, agents) in zones)
            {
                if (!intensity.Has(zone) || (job.Zones is { } allowed && !allowed.Contains(zone, StringComparer.Ordinal)))
                {
                    continue;
                }

                if (FirstFitting(agents, start, job, calendar) is { } agent)
                {
                    calendar.Reserve(agent, start, job.DurationSlots, job.Demand);
                    return new PlannedJob(job.Id, agent, start, intensity.Emissions(zone, start, job.DurationSlots, job.PowerWatts),
                        MeetsDeadline: start + job.DurationSlots <= job.DeadlineSlot);
                }
            }
        }

        return null;
    }

    private static int? FirstFitting(int[] agents, int start, PlanningJob job, CapacityCalendar calendar)
    {
        foreach (var agent in agents)
        {
            if ((job.EligibleAgents is null || job.EligibleAgents.Contains(agent)) && calendar.Fits(agent, start, job.DurationSlots, job.Demand))
            {
                return agent;
            }
        }

        return null;
    }
}
