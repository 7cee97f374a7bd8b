using EdgeGreen.ControlPlane.Core.Scheduling;

namespace EdgeGreen.ControlPlane.Tests.Scheduling;

public sealed class CarbonPlannerTests
{
    // Hourly slots. Zone A is cleanest at slots 3-4, zone B is flat and dirtier.
    private static readonly IntensityTable Intensity = new(1.0, new Dictionary<string, double[]>
    {
        ["A"] = [300, 300, 200, 50, 60, 300, 300, 300],
        ["B"] = [250, 250, 250, 250, 250, 250, 250, 250],
    });

    private static readonly PlanningAgent[] Agents = [new("a1", "A", 1), new("b1", "B", 1)];

    [Fact]
    public void Plan_OneJob_TakesTheCleanestWindowAndReportsItsEmissions()
    {
        var calendar = new CapacityCalendar(Agents, 8);

        var placed = Assert.Single(new CarbonPlanner().Plan([new PlanningJob("j", 0, 8, 2, 1000, 1)], calendar, Intensity));

        Assert.Equal((0, 3, true), (placed!.AgentIndex, placed.StartSlot, placed.MeetsDeadline));
        Assert.Equal(1.0 * (50 + 60), placed.ForecastCarbonGrams, 9);
        Assert.False(calendar.Fits(0, 3, 2, new ResourceDemand(1)));
    }

    [Fact]
    public void Plan_NoJobs_IsEmpty() => Assert.Empty(new CarbonPlanner().Plan([], new CapacityCalendar(Agents, 8), Intensity));

    [Fact]
    public void Plan_TwoJobsForOneCleanSlot_TheSecondTakesTheNextBestPlaceThatFits()
    {
        var jobs = new[] { new PlanningJob("first", 0, 8, 1, 1000, 1), new PlanningJob("second", 0, 8, 1, 1000, 1) };

        var placed = new CarbonPlanner().Plan(jobs, new CapacityCalendar(Agents, 8), Intensity);

        Assert.Equal([3, 4], placed.Select(p => p!.StartSlot).Order());
        Assert.All(placed, p => Assert.Equal(0, p!.AgentIndex));
    }

    [Fact]
    public void Plan_UrgentJobIsPlacedBeforeAFlexibleOne()
    {
        // Both want slot 3; only the urgent one has no other window before its deadline.
        var flexible = new PlanningJob("flexible", 0, 8, 1, 5000, 1, ["A"]);
        var urgent = new PlanningJob("urgent", 3, 4, 1, 10, 1, ["A"]);

        var placed = new CarbonPlanner().Plan([flexible, urgent], new CapacityCalendar(Agents, 8), Intensity);

        Assert.Equal(3, placed[1]!.StartSlot);
        Assert.Equal(4, placed[0]!.StartSlot);
        Assert.All(placed, p => Assert.True(p!.MeetsDeadline));
    }

    [Fact]
    public void Plan_ZoneRestriction_IsRespectedEvenWhenAnotherZoneIsCleaner()
    {
        var placed = Assert.Single(new CarbonPlanner().Plan([new PlanningJob("j", 0, 8, 1, 1000, 1, ["B"])], new CapacityCalendar(Agents, 8), Intensity));

        Assert.Equal(1, placed!.AgentIndex);
    }

    [Fact]
    public void Plan_NoWindowMeetsTheDeadline_RunsAsSoonAsCapacityAllowsAndIsFlagged()
    {
        var calendar = new CapacityCalendar(Agents, 8);
        calendar.Reserve(0, 0, 3, new ResourceDemand(1));
        calendar.Reserve(1, 0, 2, new ResourceDemand(1));

        var placed = Assert.Single(new CarbonPlanner().Plan([new PlanningJob("late", 0, 2, 2, 1000, 1)], calendar, Intensity));

        Assert.Equal((1, 2, false), (placed!.AgentIndex, placed.StartSlot, placed.MeetsDeadline));
    }

    [Fact]
    public void Plan_JobLargerThanEveryAgent_IsNotPlaced()
    {
        var placed = Assert.Single(new CarbonPlanner().Plan([new PlanningJob("huge", 0, 8, 1, 1000, 4)], new CapacityCalendar(Agents, 8), Intensity));

        Assert.Null(placed);
    }

    [Fact]
    public void Plan_JobLimitedToEligibleAgents_SkipsTheCleanerAgentItMayNotUse()
    {
        var placed = Assert.Single(new CarbonPlanner().Plan([new PlanningJob("j", 0, 8, 1, 1000, 1, EligibleAgents: new HashSet<int> { 1 })],
            new CapacityCalendar(Agents, 8), Intensity));

        Assert.Equal(1, placed!.AgentIndex);
    }

    [Fact]
    public void Plan_MemoryAndGpus_AreCapacityLikeCores()
    {
        PlanningAgent[] agents = [new("a1", "A", 8, MemoryBytes: 4 << 20, Gpus: 1)];
        var jobs = new[]
        {
            new PlanningJob("first", 0, 8, 2, 1000, 1, MemoryBytes: 3 << 20),
            new PlanningJob("second", 0, 8, 2, 1000, 1, MemoryBytes: 3 << 20),
            new PlanningJob("gpu", 0, 8, 1, 1000, 1, Gpus: 2),
        };

        var placed = new CarbonPlanner().Plan(jobs, new CapacityCalendar(agents, 8), Intensity);

        // Eight cores are free, but the memory allows one of the two at a time.
        Assert.NotEqual(placed[0]!.StartSlot, placed[1]!.StartSlot);
        Assert.True(Math.Abs(placed[0]!.StartSlot - placed[1]!.StartSlot) >= 2);
        Assert.Null(placed[2]);
    }

    [Fact]
    public void Plan_JobKeptFromTheCleanZoneByAnother_GetsThereWhenTheOtherShifts()
    {
        var flat = new IntensityTable(1.0, new Dictionary<string, double[]> { ["A"] = [10, 10, 10, 10], ["B"] = [100, 100, 100, 100] });
        // Least slack first puts the long job at A's first slot, where the short one also fits best;
        // the short one only fits in A if the long one starts an hour later.
        var longJob = new PlanningJob("long", 0, 4, 3, 1000, 1);
        var shortJob = new PlanningJob("short", 0, 3, 1, 1000, 1);

        var placed = new CarbonPlanner().Plan([longJob, shortJob], new CapacityCalendar(Agents, 4), flat);

        Assert.All(placed, p => Assert.Equal(0, p!.AgentIndex));
        Assert.Equal((1, 0), (placed[0]!.StartSlot, placed[1]!.StartSlot));
        Assert.Equal(40, placed.Sum(p => p!.ForecastCarbonGrams), 9);
    }
}
