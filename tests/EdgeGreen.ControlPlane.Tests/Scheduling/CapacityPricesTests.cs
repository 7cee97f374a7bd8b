using EdgeGreen.ControlPlane.Core.Scheduling;

namespace EdgeGreen.ControlPlane.Tests.Scheduling;

public sealed class CapacityPricesTests
{
    [Fact]
    public void Compute_TwoJobsForOneCleanWindow_BoundRisesFromCapacityBlindToTheOptimum()
    {
        // One core; both jobs want slots 0-1 (200 g each), only one can have them: the other pays 600 g.
        var intensity = new IntensityTable(1.0, new Dictionary<string, double[]> { ["A"] = [100, 100, 300, 300] });
        var calendar = new CapacityCalendar([new PlanningAgent("a", "A", 1)], 4);
        PlanningJob[] jobs = [new("x", 0, 4, 2, 1000, 1), new("y", 0, 4, 2, 1000, 1)];
        var (free, largest) = CapacityPrices.Capacity(calendar);

        var prices = CapacityPrices.Compute(jobs, free, largest, intensity, 4, knownSchedule: 800, iterations: 500);

        Assert.True(prices.Complete);
        Assert.InRange(prices.Bound, 790, 800 + 1e-9);
        Assert.True(prices.WindowPrice("A", 0, 2) > 0, "the contended window has a price");
    }

    [Fact]
    public void Compute_RandomSmallInstances_NeverAboveTheOptimumAndThePlannerNeverBelowIt()
    {
        var random = new Random(5);
        var (feasible, optimal) = (0, 0);
        for (var instance = 0; instance < 60; instance++)
        {
            const int Slots = 6;
            var intensity = new IntensityTable(1.0, new Dictionary<string, double[]>
            {
                ["A"] = [.. Enumerable.Range(0, Slots).Select(_ => 50.0 + random.Next(400))],
                ["B"] = [.. Enumerable.Range(0, Slots).Select(_ => 50.0 + random.Next(400))],
            });
            PlanningAgent[] agents = [new("a", "A", 2), new("b", "B", 1)];
            var jobs = Enumerable.Range(0, 4).Select(i =>
            {
                var duration = 1 + random.Next(2);
                var earliest = random.Next(Slots - duration);
                return new PlanningJob($"j{i}", earliest, Math.Min(Slots, earliest + duration + random.Next(4)), duration, 100 + random.Next(900), 1 + random.Next(2),
                    random.Next(3) == 0 ? ["A"] : null);
            }).ToArray();
            var optimum = BruteForce(jobs, agents, intensity, Slots);
            var (free, largest) = CapacityPrices.Capacity(new CapacityCalendar(agents, Slots));

            var prices = CapacityPrices.Compute(jobs, free, largest, intensity, Slots, optimum ?? 1e6, iterations: 300);
            var plan = new CarbonPlanner().Plan(jobs, new CapacityCalendar(agents, Slots), intensity);

            if (optimum is { } best)
            {
                Assert.True(prices.Bound <= best + 1e-6, $"instance {instance}: bound {prices.Bound} above the optimum {best}");
                if (plan.All(p => p is { MeetsDeadline: true }))
                {
                    var total = plan.Sum(p => p!.ForecastCarbonGrams);
                    Assert.True(total >= best - 1e-6, $"instance {instance}: a plan below the optimum");
                    feasible++;
                    optimal += total <= best + 1e-6 ? 1 : 0;
                }
            }
        }

        // Not a guarantee (the planner is a heuristic), but on instances this small it should almost always find the optimum.
        Assert.True(optimal >= 0.9 * feasible, $"the planner found the optimum in {optimal} of {feasible} instances");
    }

    /// <summary>The least emissions of any placement that meets every deadline within the agents' cores; null when there is none.</summary>
    private static double? BruteForce(PlanningJob[] jobs, PlanningAgent[] agents, IntensityTable intensity, int slots)
    {
        double? best = null;
        void Place(int index, CapacityCalendar calendar, double grams)
        {
            if (index == jobs.Length)
            {
                best = best is { } known ? Math.Min(known, grams) : grams;
                return;
            }

            var job = jobs[index];
            for (var agent = 0; agent < agents.Length; agent++)
            {
                if (job.Zones is { } zones && !zones.Contains(agents[agent].Zone))
                {
                    continue;
                }

                for (var start = job.EarliestSlot; start + job.DurationSlots <= Math.Min(job.DeadlineSlot, slots); start++)
                {
                    if (calendar.Fits(agent, start, job.DurationSlots, job.Demand))
                    {
                        calendar.Reserve(agent, start, job.DurationSlots, job.Demand);
                        Place(index + 1, calendar, grams + intensity.Emissions(agents[agent].Zone, start, job.DurationSlots, job.PowerWatts));
                        calendar.Release(agent, start, job.DurationSlots, job.Demand);
                    }
                }
            }
        }

        Place(0, new CapacityCalendar(agents, slots), 0);
        return best;
    }
}
