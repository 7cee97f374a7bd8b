using EdgeGreen.ControlPlane.Core.Scheduling;

namespace EdgeGreen.Benchmarks;

/// <summary>
/// A lower bound on the offline optimum that, unlike "each job alone in its best window", pays
/// for capacity: the Lagrangian bound of <see cref="CapacityPrices"/> (valid at every step of its
/// search; see there), on an empty fleet, with many more iterations than the planner spends.
/// </summary>
internal static class CapacityBound
{
    /// <param name="knownSchedule">Emissions of some schedule, used only to size the steps.</param>
    /// <returns>The bound in grams; NaN when some job has no start that meets its deadline.</returns>
    public static double Compute(IReadOnlyList<PlanningJob> jobs, IReadOnlyList<PlanningAgent> agents, IntensityTable truth, int slots, double knownSchedule)
    {
        var (free, largest) = CapacityPrices.Capacity(new CapacityCalendar(agents, slots));
        var prices = CapacityPrices.Compute(jobs, free, largest, truth, slots, knownSchedule, iterations: 1_500);
        return prices.Complete ? prices.Bound : double.NaN;
    }
}
