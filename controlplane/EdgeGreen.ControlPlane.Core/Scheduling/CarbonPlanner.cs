namespace EdgeGreen.ControlPlane.Core.Scheduling;

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
/// <item>A repair pass (ruin and recreate) moves jobs that other jobs keep from their best window
/// into it and places the jobs in the way again, when that lowers the total. Improvement and
/// repair repeat while they help (up to three rounds for queues of up to 2,000 jobs).</item>
/// <item>Queues of up to 2,000 jobs are also planned in two other orders (largest energy first,
/// earliest deadline first), and (up to 1,000 jobs) least slack first again with each job's first placement weighing
/// its emissions plus the price of the cores it takes (<see cref="CapacityPrices"/>: under
/// contention, jobs that gain little from the cleanest hours leave them to jobs that gain more;
/// queues of up to 100 jobs get such a plan in each of the three orders, at three stages of the
/// price search).
/// The plan with the fewest late jobs, then the least carbon, wins and is improved by a seeded
/// local search (see <see cref="Search"/>).</item>
/// </list>
/// A job whose deadline leaves no window that fits is placed as early as capacity allows and
/// flagged (<see cref="PlannedJob.MeetsDeadline"/> false): it runs at once rather than not at all.
/// </summary>
public sealed class CarbonPlanner
{
    /// <returns>One placement per job, in the jobs' order; null for a job that fits nowhere in the calendar.</returns>
    public IReadOnlyList<PlannedJob?> Plan(IReadOnlyList<PlanningJob> jobs, CapacityCalendar calendar, IntensityTable intensity)
    {
        if (jobs.Count == 0)
        {
            return [];
        }

        var zones = calendar.Agents.Select((a, i) => (a.Zone, Index: i)).GroupBy(a => a.Zone, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.Select(a => a.Index).ToArray(), StringComparer.Ordinal);
        var indexed = jobs.Select((job, index) => (job, index)).ToList();
        var leastSlack = indexed.OrderBy(j => j.job.DeadlineSlot - j.job.EarliestSlot - j.job.DurationSlots)
            .ThenByDescending(j => j.job.PowerWatts * j.job.DurationSlots).ToList();
        if (jobs.Count > MaxJobsForRounds)
        {
            return PlanInOrder(jobs, leastSlack, calendar, intensity, zones, rounds: 1);
        }

        // Small queues: try other orders too on copies of the calendar, keep the plan that misses
        // the fewest deadlines and then emits least, and reserve it in the real calendar.
        var orders = new[]
        {
            leastSlack,
            indexed.OrderByDescending(j => j.job.PowerWatts * j.job.DurationSlots * j.job.CpuCores).ToList(),
            indexed.OrderBy(j => j.job.DeadlineSlot).ThenByDescending(j => j.job.PowerWatts * j.job.DurationSlots).ToList(),
        };
        PlannedJob?[]? best = null;
        CapacityCalendar? bestCalendar = null;
        foreach (var order in orders)
        {
            var copy = calendar.Clone();
            var plan = PlanInOrder(jobs, order, copy, intensity, zones, MaxRounds);
            if (best is null || Rank(plan).CompareTo(Rank(best)) < 0)
            {
                (best, bestCalendar) = (plan, copy);
            }
        }

        // And once more least slack first, each job first placed where it is cheapest once the
        // capacity it takes from others is priced in (see CapacityPrices).
        if (jobs.Count <= MaxJobsForPricing)
        {
            // A short queue tries the prices of three stages of their search (early prices are
            // gentler) with each of the three orders: a Lagrangian heuristic.
            var (free, largest) = CapacityPrices.Capacity(calendar);
            var budget = (int)Math.Clamp(PricingBudget / Math.Max(1, jobs.Sum(j => Math.Max(1, j.DeadlineSlot - j.EarliestSlot) * (long)(j.Zones?.Count ?? zones.Count))), 10, MaxPricingIterations);
            var shortQueue = jobs.Count <= MaxJobsForPriceStages;
            foreach (var iterations in shortQueue ? new[] { budget / 10, budget / 3, budget } : [budget])
            {
                var prices = CapacityPrices.Compute(jobs, free, largest, intensity, calendar.Slots, Total(best!), Math.Max(1, iterations));
                foreach (var order in shortQueue ? orders : [leastSlack])
                {
                    var pricedCalendar = calendar.Clone();
                    var priced = PlanInOrder(jobs, order, pricedCalendar, intensity, zones, MaxRounds, prices);
                    if (Rank(priced).CompareTo(Rank(best!)) < 0)
                    {
                        (best, bestCalendar) = (priced, pricedCalendar);
                    }
                }
            }
        }

        Search(jobs, best!, bestCalendar!, intensity, zones, SearchIterations(jobs.Count));

        for (var i = 0; i < jobs.Count; i++)
        {
            if (best![i] is { } placed)
            {
                calendar.Reserve(placed.AgentIndex, placed.StartSlot, jobs[i].DurationSlots, jobs[i].Demand);
            }
        }

        return best!;
    }

    /// <summary>
    /// Local search by ruin and recreate: take a placed job and the jobs it competes with for its
    /// zone at its time (plus one job from anywhere), put them back one by one at their cheapest
    /// fit in a random order, and keep the result when it emits less and every one of them still
    /// meets its deadline. Seeded, so a plan is reproducible.
    /// </summary>
    private static void Search(IReadOnlyList<PlanningJob> jobs, PlannedJob?[] placements, CapacityCalendar calendar, IntensityTable intensity,
        Dictionary<string, int[]> zones, int iterations)
    {
        var placed = Enumerable.Range(0, jobs.Count).Where(i => placements[i] is { MeetsDeadline: true }).ToArray();
        if (placed.Length < 2)
        {
            return;
        }

        var random = new Random(SearchSeed);
        for (var iteration = 0; iteration < iterations; iteration++)
        {
            var seed = placed[random.Next(placed.Length)];
            var anchor = placements[seed]!;
            var zone = calendar.Agents[anchor.AgentIndex].Zone;
            var (from, to) = (anchor.StartSlot, anchor.StartSlot + jobs[seed].DurationSlots);
            var ruined = placed.Where(i => i != seed && calendar.Agents[placements[i]!.AgentIndex].Zone == zone
                    && placements[i]!.StartSlot < to && from < placements[i]!.StartSlot + jobs[i].DurationSlots)
                .OrderBy(_ => random.Next()).Take(MaxRuined - 2).Prepend(seed).ToList();
            var extra = placed[random.Next(placed.Length)];
            if (!ruined.Contains(extra))
            {
                ruined.Add(extra);
            }

            Recreate(jobs, placements, calendar, [.. ruined.OrderBy(_ => random.Next())], i => Place(jobs[i], calendar, intensity, zones));
        }
    }

    private const int SearchSeed = 17;
    private const int MaxRuined = 10;

    /// <summary>
    /// Local search steps for a queue: <see cref="SearchIterationsPerJob"/> per job up to
    /// <see cref="MaxSearchIterations"/>, fewer for long queues, where each step scans the queue
    /// (steps × jobs stays within <see cref="SearchBudget"/>), but never fewer than 10 per job up to
    /// 2,000 (a queue of 50 jobs gets 8,000 steps, one of 100 gets 4,000, one of 200 or more 2,000).
    /// </summary>
    public static int SearchIterations(int jobs) =>
        Math.Max(Math.Min(10 * jobs, 2_000), Math.Min(Math.Min(SearchIterationsPerJob * jobs, MaxSearchIterations), SearchBudget / Math.Max(1, jobs)));

    public const int SearchIterationsPerJob = 200;

    public const int MaxSearchIterations = 20_000;

    public const int SearchBudget = 400_000;

    private static (int Unplaced, int Late, double Grams) Rank(PlannedJob?[] plan) =>
        (plan.Count(p => p is null), plan.Count(p => p is { MeetsDeadline: false }), Total(plan));

    /// <summary>
    /// Subgradient steps spent on capacity prices for a queue small enough to get them: up to
    /// <see cref="MaxPricingIterations"/>, fewer when the queue has many windows to weigh (steps ×
    /// windows stays near <see cref="PricingBudget"/>), never fewer than 10.
    /// </summary>
    public const int MaxPricingIterations = 150;

    /// <summary>The largest queue that also gets the priced plan (it costs about as much as another order).</summary>
    public const int MaxJobsForPricing = 1_000;

    /// <summary>The largest queue that gets priced plans at three stages of the price search, in each order.</summary>
    public const int MaxJobsForPriceStages = 100;

    public const long PricingBudget = 40_000_000;

    /// <summary>
    /// Places the jobs one by one in <paramref name="order"/>, then improves and repairs the plan for
    /// up to <paramref name="rounds"/> rounds. <paramref name="prices"/>, when given, are added to
    /// each job's emissions for its first placement; improvement and repair weigh emissions alone.
    /// </summary>
    private static PlannedJob?[] PlanInOrder(IReadOnlyList<PlanningJob> jobs, List<(PlanningJob job, int index)> order, CapacityCalendar calendar,
        IntensityTable intensity, Dictionary<string, int[]> zones, int rounds, CapacityPrices? prices = null)
    {
        var placements = new PlannedJob?[jobs.Count];
        foreach (var (job, index) in order)
        {
            placements[index] = Place(job, calendar, intensity, zones, prices);
        }

        for (var round = 0; round < rounds; round++)
        {
            var before = Total(placements);
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

            Repair(jobs, placements, calendar, intensity, zones);
            if (Total(placements) >= before * (1 - 1e-6))
            {
                break;
            }
        }

        return placements;
    }

    /// <summary>
    /// Ruin and recreate: a job kept from its best window only by other jobs (the greedy placed
    /// them first) is put in that window, the jobs in its way are taken out and placed again at
    /// their cheapest fit, and the change is kept when the total falls and every moved job still
    /// meets its deadline. Jobs are tried by how much they lose against their best window, most
    /// first, at most <see cref="MaxRepairs"/> of them.
    /// </summary>
    private static void Repair(IReadOnlyList<PlanningJob> jobs, PlannedJob?[] placements, CapacityCalendar calendar, IntensityTable intensity,
        Dictionary<string, int[]> zones)
    {
        var candidates = new List<(int Index, double Loss, int Agent, int Start, double Grams)>();
        for (var i = 0; i < jobs.Count; i++)
        {
            if (placements[i] is { MeetsDeadline: true } placed && Ideal(jobs[i], intensity, zones) is { } ideal
                && ideal.Grams < placed.ForecastCarbonGrams * (1 - 1e-9) && (ideal.Zone != calendar.Agents[placed.AgentIndex].Zone || ideal.Start != placed.StartSlot))
            {
                foreach (var agent in zones[ideal.Zone])
                {
                    if (jobs[i].EligibleAgents is null || jobs[i].EligibleAgents!.Contains(agent))
                    {
                        candidates.Add((i, placed.ForecastCarbonGrams - ideal.Grams, agent, ideal.Start, ideal.Grams));
                    }
                }
            }
        }

        foreach (var (index, _, agent, start, grams) in candidates.OrderByDescending(c => c.Loss).Take(MaxRepairs))
        {
            if (placements[index] is not { } current || current.ForecastCarbonGrams <= grams)
            {
                continue;
            }

            TryMove(index, agent, start, grams, jobs, placements, calendar, intensity, zones);
        }
    }

    /// <summary>Rounds of improvement and repair, repeated while a round lowers the total.</summary>
    public const int MaxRounds = 3;

    /// <summary>Larger queues get one round, which keeps 10,000 jobs well under a second.</summary>
    public const int MaxJobsForRounds = 2_000;

    private static double Total(PlannedJob?[] placements) => placements.Sum(p => p?.ForecastCarbonGrams ?? 0);

    /// <summary>At most this many repair attempts per planning round, which bounds its cost.</summary>
    public const int MaxRepairs = 500;

    private static void TryMove(int index, int agent, int start, double grams, IReadOnlyList<PlanningJob> jobs, PlannedJob?[] placements,
        CapacityCalendar calendar, IntensityTable intensity, Dictionary<string, int[]> zones)
    {
        var job = jobs[index];
        var blockers = new List<int>();
        for (var i = 0; i < jobs.Count; i++)
        {
            if (i != index && placements[i] is { } other && other.AgentIndex == agent
                && other.StartSlot < start + job.DurationSlots && start < other.StartSlot + jobs[i].DurationSlots)
            {
                blockers.Add(i);
            }
        }

        var order = blockers.OrderBy(b => jobs[b].DeadlineSlot - jobs[b].EarliestSlot - jobs[b].DurationSlots).Prepend(index).ToList();
        Recreate(jobs, placements, calendar, order, i =>
        {
            if (i != index)
            {
                return Place(jobs[i], calendar, intensity, zones);
            }

            if (!calendar.Fits(agent, start, job.DurationSlots, job.Demand))
            {
                return null;
            }

            calendar.Reserve(agent, start, job.DurationSlots, job.Demand);
            return new PlannedJob(job.Id, agent, start, grams, MeetsDeadline: true);
        });
    }

    /// <summary>
    /// Takes the jobs of <paramref name="order"/> out of the plan and puts them back one by one in
    /// that order with <paramref name="place"/> (which reserves what it returns). The result is kept
    /// when every one of them meets its deadline and together they emit less; otherwise the plan
    /// and the calendar are restored.
    /// </summary>
    private static void Recreate(IReadOnlyList<PlanningJob> jobs, PlannedJob?[] placements, CapacityCalendar calendar, IReadOnlyList<int> order,
        Func<int, PlannedJob?> place)
    {
        var before = order.Sum(i => placements[i]!.ForecastCarbonGrams);
        foreach (var i in order)
        {
            calendar.Release(placements[i]!.AgentIndex, placements[i]!.StartSlot, jobs[i].DurationSlots, jobs[i].Demand);
        }

        var created = new List<(int Index, PlannedJob? Placement)>();
        foreach (var i in order)
        {
            var placement = place(i);
            created.Add((i, placement));
            if (placement is not { MeetsDeadline: true })
            {
                break;
            }
        }

        if (created.Count == order.Count && created.All(c => c.Placement is { MeetsDeadline: true })
            && created.Sum(c => c.Placement!.ForecastCarbonGrams) < before * (1 - 1e-9))
        {
            foreach (var (i, placement) in created)
            {
                placements[i] = placement;
            }

            return;
        }

        foreach (var (i, placement) in created)
        {
            if (placement is not null)
            {
                calendar.Release(placement.AgentIndex, placement.StartSlot, jobs[i].DurationSlots, jobs[i].Demand);
            }
        }

        foreach (var i in order)
        {
            calendar.Reserve(placements[i]!.AgentIndex, placements[i]!.StartSlot, jobs[i].DurationSlots, jobs[i].Demand);
        }
    }

    /// <summary>The job's cheapest window ignoring capacity, among the zones it may use.</summary>
    private static (string Zone, int Start, double Grams)? Ideal(PlanningJob job, IntensityTable intensity, Dictionary<string, int[]> zones)
    {
        (string Zone, int Start, double Grams)? best = null;
        foreach (var (zone, agents) in zones)
        {
            if (!intensity.Has(zone) || (job.Zones is { } allowed && !allowed.Contains(zone, StringComparer.Ordinal))
                || (job.EligibleAgents is { } eligible && !agents.Any(eligible.Contains)))
            {
                continue;
            }

            for (var start = job.EarliestSlot; start <= Math.Min(job.DeadlineSlot, intensity.Slots(zone)) - job.DurationSlots; start++)
            {
                var grams = intensity.Emissions(zone, start, job.DurationSlots, job.PowerWatts);
                if (best is not { } known || grams < known.Grams)
                {
                    best = (zone, start, grams);
                }
            }
        }

        return best;
    }

    /// <summary>
    /// The cheapest fitting placement, reserved in the calendar; null when the job fits nowhere at
    /// all. Cheapest in emissions, plus the cores' price over the window when <paramref name="prices"/> are given.
    /// </summary>
    private static PlannedJob? Place(PlanningJob job, CapacityCalendar calendar, IntensityTable intensity, Dictionary<string, int[]> zones,
        CapacityPrices? prices = null)
    {
        var lastStart = Math.Min(job.DeadlineSlot, calendar.Slots) - job.DurationSlots;
        (int Agent, int Start, double Grams, double Cost)? best = null;
        foreach (var (zone, agents) in zones)
        {
            if (!intensity.Has(zone) || (job.Zones is { } allowed && !allowed.Contains(zone, StringComparer.Ordinal)))
            {
                continue;
            }

            var starts = new List<(int Start, double Grams, double Cost)>();
            for (var start = job.EarliestSlot; start <= lastStart; start++)
            {
                var grams = intensity.Emissions(zone, start, job.DurationSlots, job.PowerWatts);
                starts.Add((start, grams, grams + (prices is null ? 0 : job.CpuCores * prices.WindowPrice(zone, start, job.DurationSlots))));
            }

            starts.Sort((a, b) => a.Cost != b.Cost ? a.Cost.CompareTo(b.Cost) : a.Start.CompareTo(b.Start));
            foreach (var (start, grams, cost) in starts)
            {
                if (best is { } known && cost >= known.Cost)
                {
                    break;
                }

                if (FirstFitting(agents, start, job, calendar) is { } agent)
                {
                    best = (agent, start, grams, cost);
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
