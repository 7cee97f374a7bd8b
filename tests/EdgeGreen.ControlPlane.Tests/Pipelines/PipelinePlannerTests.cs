using EdgeGreen.ControlPlane.Core.Pipelines;
using EdgeGreen.ControlPlane.Core.Scheduling;

namespace EdgeGreen.ControlPlane.Tests.Pipelines;

public sealed class PipelinePlannerTests
{
    private static readonly PipelinePlanner Planner = new();

    [Fact]
    public void Plan_Chain_TakesTheValleyAndKeepsOrder()
    {
        var intensity = Flat(24, 300, valley: (10, 4, 50));
        PlanningStep[] steps = [Step("train", 2, 1000), Step("evaluate", 1, 500, "train"), Step("deploy", 0, 0, "evaluate")];

        var plan = Planner.Plan(steps, 24, Table(("A", intensity)));

        Assert.Equal([10, 12, 13], plan.Steps.Select(s => s.StartSlot));
        Assert.Equal(2 * 50 + 0.5 * 50, plan.ForecastCarbonGrams, 9);
        Assert.Equal(2 * 300 + 0.5 * 300, plan.RunNowCarbonGrams, 9);
        Assert.True(plan.MeetsDeadline);
        AssertValid(steps, 24, plan);
    }

    [Fact]
    public void Plan_TwoStepsWantOneCleanSlot_TheHeavierOneGetsItAndTheOtherRunsBefore()
    {
        // One clean slot (5). Giving it to the light first step, as a step-by-step planner would,
        // pushes the heavy second step to slot 6: 0.1 × 10 + 1 × 100 = 101 g instead of 40 g.
        double[] intensity = [400, 400, 400, 400, 300, 10, 100, 400];
        PlanningStep[] steps = [Step("light", 1, 100), Step("heavy", 1, 1000, "light")];

        var plan = Planner.Plan(steps, 8, Table(("A", intensity)));

        Assert.Equal([4, 5], plan.Steps.Select(s => s.StartSlot));
        Assert.Equal((0.1 * 300) + 10, plan.ForecastCarbonGrams, 9);
    }

    [Fact]
    public void Plan_RandomChains_EqualsBruteForceWithEitherExactMethod()
    {
        var random = new Random(20240611);
        for (var instance = 0; instance < 150; instance++)
        {
            var (steps, deadline, zones) = RandomInstance(random, chain: true);
            var optimum = BruteForce(steps, deadline, zones);

            var plan = Planner.Plan(steps, deadline, Table(zones));
            var cut = PipelinePlanner.Plan(steps, deadline, Table(zones), alwaysCut: true);

            AssertValid(steps, deadline, plan);
            AssertValid(steps, deadline, cut);
            Assert.Equal(double.IsFinite(optimum), plan.MeetsDeadline);
            if (plan.MeetsDeadline)
            {
                Assert.Equal(optimum, plan.ForecastCarbonGrams, 6);
                Assert.Equal(optimum, cut.ForecastCarbonGrams, 6);
            }
        }
    }

    [Fact]
    public void Plan_RandomDags_EqualsBruteForce()
    {
        var random = new Random(7);
        var withSharedPredecessor = 0;
        for (var instance = 0; instance < 200; instance++)
        {
            var (steps, deadline, zones) = RandomInstance(random, chain: false);
            var optimum = BruteForce(steps, deadline, zones);
            withSharedPredecessor += steps.SelectMany(s => s.DependsOn).GroupBy(n => n).Any(g => g.Count() > 1) ? 1 : 0;

            var plan = Planner.Plan(steps, deadline, Table(zones));

            AssertValid(steps, deadline, plan);
            Assert.Equal(double.IsFinite(optimum), plan.MeetsDeadline);
            if (plan.MeetsDeadline)
            {
                Assert.Equal(optimum, plan.ForecastCarbonGrams, 6);
            }
        }

        // Most instances must fan out somewhere, or the minimum cut goes untested.
        Assert.True(withSharedPredecessor >= 60, $"{withSharedPredecessor} of 200 instances fan out");
    }

    [Fact]
    public void Plan_Diamond_BothBranchesRunAfterTheirCommonStepAndBeforeTheJoin()
    {
        var intensity = Flat(16, 400, valley: (6, 4, 50));
        PlanningStep[] steps =
        [
            Step("train", 2, 1000),
            Step("evaluate-a", 1, 500, "train"),
            Step("evaluate-b", 2, 200, "train"),
            Step("gate", 0, 0, "evaluate-a", "evaluate-b"),
            Step("deploy", 1, 50, "gate"),
        ];

        var plan = Planner.Plan(steps, 16, Table(("A", intensity)));

        Assert.Equal([6, 8, 8, 10, 10], plan.Steps.Select(s => s.StartSlot));
        Assert.Equal(BruteForce(steps, 16, [("A", intensity)]), plan.ForecastCarbonGrams, 9);
        // The train step must be done when the first evaluation starts; the gate is ready when both are.
        Assert.Equal([8, 10, 10, 10, 16], plan.Steps.Select(s => s.LatestFinishSlot));
        Assert.Equal([0, 8, 8, 10, 10], plan.Steps.Select(s => s.ReadySlot));
        AssertValid(steps, 16, plan);
    }

    [Fact]
    public void Plan_DeadlineTooClose_PlansAsSoonAsPossibleAndFlagsIt()
    {
        var intensity = Flat(12, 300, valley: (8, 4, 10));
        PlanningStep[] steps = [Step("train", 3, 1000) with { EarliestSlot = 2 }, Step("evaluate", 3, 1000, "train")];

        var plan = Planner.Plan(steps, 6, Table(("A", intensity)));

        Assert.False(plan.MeetsDeadline);
        Assert.Equal([2, 5], plan.Steps.Select(s => s.StartSlot));
        Assert.Equal(plan.RunNowCarbonGrams, plan.ForecastCarbonGrams, 9);
        // The late step's window ends at its own finish, so it is submitted to run at once.
        Assert.Equal([5, 8], plan.Steps.Select(s => s.LatestFinishSlot));
    }

    [Fact]
    public void Plan_ZeroDurationSteps_StartWhenReadyAndCostNothing()
    {
        var intensity = Flat(12, 300, valley: (6, 2, 20));
        PlanningStep[] steps =
        [
            Step("check-data", 0, 0),
            Step("train", 2, 1000, "check-data"),
            Step("set-alias", 0, 0, "train"),
            Step("deploy", 0, 0, "set-alias"),
        ];

        var plan = Planner.Plan(steps, 12, Table(("A", intensity)));

        Assert.Equal([0, 6, 8, 8], plan.Steps.Select(s => s.StartSlot));
        Assert.Equal([0.0, 40, 0, 0], plan.Steps.Select(s => s.ForecastCarbonGrams));
        AssertValid(steps, 12, plan);
    }

    [Fact]
    public void Plan_OnlyZeroDurationStepsAtADeadlineOfZero_MeetsIt()
    {
        PlanningStep[] steps = [Step("gate", 0, 0), Step("set-alias", 0, 0, "gate")];

        var plan = Planner.Plan(steps, 0, Table(("A", [100])));

        Assert.True(plan.MeetsDeadline);
        Assert.All(plan.Steps, s => Assert.Equal((0, 0, 0.0), (s.StartSlot, s.FinishSlot, s.ForecastCarbonGrams)));
    }

    [Fact]
    public void Plan_ZoneRestriction_KeepsStepsInTheirZones()
    {
        var clean = Flat(8, 300, valley: (3, 2, 20));
        var flat = Flat(8, 200, valley: (0, 0, 0));
        PlanningStep[] steps =
        [
            Step("anywhere", 2, 1000),
            Step("resident", 2, 1000) with { Zones = ["B", "unknown"] },
        ];

        var plan = Planner.Plan(steps, 8, Table(("A", clean), ("B", flat)));

        Assert.Equal(("A", 3), (plan.Steps[0].Zone, plan.Steps[0].StartSlot));
        Assert.Equal(("B", 0), (plan.Steps[1].Zone, plan.Steps[1].StartSlot));
        // Run now puts each in its cleanest zone at once: both in B.
        Assert.Equal(2 * 200 * 2, plan.RunNowCarbonGrams, 9);
    }

    [Fact]
    public void Plan_StepOnlyForZonesTheTableLacks_Throws()
    {
        var error = Assert.Throws<ArgumentException>(() => Planner.Plan([Step("s", 1, 10) with { Zones = ["FR"] }], 4, Table(("A", Flat(4, 1, (0, 0, 0))))));

        Assert.Contains("'s'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Plan_EarliestSlotAndFinishedPredecessor_StartsNoEarlierThanTheRunningStepEnds()
    {
        // "train" runs already (not in the input) and is expected to finish at slot 5: the valley before it is out of reach.
        var intensity = Flat(12, 300, valley: (2, 2, 10));
        intensity[9] = 100;

        var plan = Planner.Plan([Step("evaluate", 1, 1000, "train") with { EarliestSlot = 5 }], 12, Table(("A", intensity)));

        Assert.Equal(9, Assert.Single(plan.Steps).StartSlot);
        Assert.Equal(5, plan.Steps[0].ReadySlot);
    }

    [Fact]
    public void Plan_Cycle_Throws()
    {
        var error = Assert.Throws<ArgumentException>(() => Planner.Plan([Step("a", 1, 1, "b"), Step("b", 1, 1, "a"), Step("c", 1, 1)], 8, Table(("A", Flat(8, 1, (0, 0, 0))))));

        Assert.Contains("'a', 'b'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Plan_RepeatedNameOrTooMuchWork_Throws()
    {
        var table = Table(("A", Flat(8, 1, (0, 0, 0))));

        Assert.Throws<ArgumentException>(() => Planner.Plan([Step("a", 1, 1), Step("a", 1, 1)], 8, table));
        Assert.Throws<ArgumentException>(() => Planner.Plan([.. Enumerable.Range(0, PipelinePlanner.MaxSteps + 1).Select(i => Step($"s{i}", 0, 0))], 8, table));
        Assert.Throws<ArgumentOutOfRangeException>(() => Planner.Plan([Step("a", 1, 1)], PipelinePlanner.MaxSlots + 1, table));
        Assert.Throws<ArgumentException>(() => Planner.Plan([Step("a", -1, 1)], 8, table));
    }

    [Fact]
    public void Plan_LargestDag_IsValidAndNoWorseThanRunningNow()
    {
        var random = new Random(3);
        var zones = new[] { ("A", RandomIntensity(random, 600)), ("B", RandomIntensity(random, 600)) };
        var steps = Enumerable.Range(0, PipelinePlanner.MaxSteps).Select(i => new PlanningStep($"s{i}", random.Next(0, 5), random.Next(10, 400),
            [.. Enumerable.Range(Math.Max(0, i - 6), Math.Min(i, 6)).Where(_ => random.NextDouble() < 0.3).Select(p => $"s{p}")])).ToArray();

        var plan = Planner.Plan(steps, 600, Table(zones));

        Assert.True(plan.MeetsDeadline);
        Assert.True(plan.ForecastCarbonGrams <= plan.RunNowCarbonGrams);
        AssertValid(steps, 600, plan);
    }

    private static PlanningStep Step(string name, int duration, double powerWatts, params string[] dependsOn) => new(name, duration, powerWatts, dependsOn);

    private static IntensityTable Table(params (string Zone, double[] Values)[] zones) =>
        new(1.0, zones.ToDictionary(z => z.Zone, z => z.Values, StringComparer.Ordinal));

    private static double[] Flat(int slots, double value, (int Start, int Length, double Value) valley) =>
        [.. Enumerable.Range(0, slots).Select(s => s >= valley.Start && s < valley.Start + valley.Length ? valley.Value : value)];

    private static double[] RandomIntensity(Random random, int slots) => [.. Enumerable.Range(0, slots).Select(_ => (double)random.Next(20, 500))];

    /// <summary>
    /// 3–4 steps over 24 hourly slots of two zones: durations 0–5, some steps kept to one zone, some
    /// with a later earliest slot, deadlines from tight (some infeasible) to loose. DAGs take each
    /// earlier step as a predecessor with probability one half.
    /// </summary>
    private static (PlanningStep[] Steps, int Deadline, (string Zone, double[] Values)[] Zones) RandomInstance(Random random, bool chain)
    {
        var zones = new[] { ("A", RandomIntensity(random, 24)), ("B", RandomIntensity(random, 24)) };
        var steps = new PlanningStep[random.Next(3, 5)];
        for (var i = 0; i < steps.Length; i++)
        {
            string[] dependsOn = chain
                ? i == 0 ? [] : [$"s{i - 1}"]
                : [.. Enumerable.Range(0, i).Where(_ => random.NextDouble() < 0.5).Select(p => $"s{p}")];
            IReadOnlyList<string>? allowed = random.Next(3) switch { 0 => null, 1 => ["A"], _ => ["B"] };
            steps[i] = new PlanningStep($"s{i}", random.Next(0, 6), random.Next(10, 1000), dependsOn, allowed, random.NextDouble() < 0.2 ? random.Next(0, 4) : 0);
        }

        return (steps, random.Next(8, 25), zones);
    }

    /// <summary>
    /// Every start of every step (in the given order, which the instances keep topological) that
    /// respects precedence and the deadline, each step in its cleanest allowed zone, summed from the
    /// raw intensities; +∞ when none fits.
    /// </summary>
    private static double BruteForce(PlanningStep[] steps, int deadline, (string Zone, double[] Values)[] zones)
    {
        var index = steps.Select((s, i) => (s.Name, i)).ToDictionary(p => p.Name, p => p.i);
        var cost = steps.Select(step => Enumerable.Range(0, deadline + 1).Select(start => start + step.DurationSlots > deadline ? double.PositiveInfinity
            : zones.Where(z => step.Zones is null || step.Zones.Contains(z.Zone))
                .Min(z => step.PowerWatts / 1000 * z.Values.Skip(start).Take(step.DurationSlots).Sum())).ToArray()).ToArray();
        var starts = new int[steps.Length];
        double Search(int i)
        {
            if (i == steps.Length)
            {
                return 0;
            }

            var ready = steps[i].DependsOn.Select(n => index[n]).Aggregate(steps[i].EarliestSlot, (r, p) => Math.Max(r, starts[p] + steps[p].DurationSlots));
            var best = double.PositiveInfinity;
            for (var start = ready; start + steps[i].DurationSlots <= deadline; start++)
            {
                starts[i] = start;
                best = Math.Min(best, cost[i][start] + Search(i + 1));
            }

            return best;
        }

        return Search(0);
    }

    /// <summary>Precedence, earliest slots, the deadline (when met), windows that contain the step, and grams that add up.</summary>
    private static void AssertValid(PlanningStep[] steps, int deadline, PipelinePlan plan)
    {
        var byName = plan.Steps.ToDictionary(s => s.Name);
        Assert.Equal(steps.Select(s => s.Name), plan.Steps.Select(s => s.Name));
        foreach (var step in steps)
        {
            var planned = byName[step.Name];
            var ready = step.DependsOn.Where(byName.ContainsKey).Select(n => byName[n].FinishSlot).Append(step.EarliestSlot).Max();
            Assert.Equal(ready, planned.ReadySlot);
            Assert.True(planned.StartSlot >= ready, $"{step.Name} starts at {planned.StartSlot}, before it is ready at {ready}");
            Assert.Equal(planned.StartSlot + step.DurationSlots, planned.FinishSlot);
            Assert.True(planned.FinishSlot <= planned.LatestFinishSlot, $"{step.Name} finishes at {planned.FinishSlot}, after {planned.LatestFinishSlot}");
            if (plan.MeetsDeadline)
            {
                Assert.True(planned.LatestFinishSlot <= deadline);
            }

            if (step.Zones is { Count: > 0 })
            {
                Assert.Contains(planned.Zone, step.Zones);
            }
        }

        Assert.Equal(plan.Steps.Sum(s => s.ForecastCarbonGrams), plan.ForecastCarbonGrams, 9);
        Assert.True(plan.ForecastCarbonGrams <= plan.RunNowCarbonGrams + 1e-9);
    }
}
