using EdgeGreen.ControlPlane.Core.Scheduling;
using Google.OrTools.Sat;

namespace EdgeGreen.Benchmarks;

/// <summary>
/// The exact offline optimum of a small instance: every job known in advance, perfect intensity,
/// placed on one agent of an allowed zone at one start between its arrival and its deadline,
/// never more cores on an agent than it has. A time-indexed 0-1 program solved by OR-Tools'
/// CP-SAT: one Boolean per (job, agent, start), exactly one per job, a capacity row per agent and
/// slot, and the window emissions (in milligrams, rounded) as the objective, started from a
/// known schedule.
/// </summary>
internal static class OfflineOptimum
{
    /// <returns>
    /// The best schedule found (true, unrounded grams of its placements) and the solver's proven
    /// lower bound; they are equal when <c>Proven</c>. Null when no schedule meets every deadline.
    /// </returns>
    /// <param name="hint">A known schedule (EdgeGreen's) the solver starts from.</param>
    public static (double Best, double Bound, bool Proven)? Solve(IReadOnlyList<PlanningJob> jobs, IReadOnlyList<PlanningAgent> agents, IntensityTable truth, int slots,
        TimeSpan timeLimit, IReadOnlyList<PlannedJob?> hint)
    {
        var model = new CpModel();
        var load = new List<(BoolVar Var, long Cores)>[agents.Count, slots];
        var choices = new List<(BoolVar Var, double Grams)>();
        var objective = LinearExpr.NewBuilder();
        for (var j = 0; j < jobs.Count; j++)
        {
            var job = jobs[j];
            var options = new List<ILiteral>();
            for (var agent = 0; agent < agents.Count; agent++)
            {
                var zone = agents[agent].Zone;
                if (agents[agent].CpuCores < job.CpuCores || (job.Zones is { } allowed && !allowed.Contains(zone)))
                {
                    continue;
                }

                for (var start = job.EarliestSlot; start + job.DurationSlots <= Math.Min(job.DeadlineSlot, slots); start++)
                {
                    var chosen = model.NewBoolVar($"{job.Id}@{agent}/{start}");
                    model.AddHint(chosen, hint[j] is { } hinted && hinted.AgentIndex == agent && hinted.StartSlot == start);
                    var grams = truth.Emissions(zone, start, job.DurationSlots, job.PowerWatts);
                    options.Add(chosen);
                    choices.Add((chosen, grams));
                    objective.AddTerm(chosen, (long)Math.Round(grams * 1000));
                    for (var slot = start; slot < start + job.DurationSlots; slot++)
                    {
                        (load[agent, slot] ??= []).Add((chosen, job.CpuCores));
                    }
                }
            }

            if (options.Count == 0)
            {
                return null;
            }

            model.AddExactlyOne(options);
        }

        for (var agent = 0; agent < agents.Count; agent++)
        {
            for (var slot = 0; slot < slots; slot++)
            {
                if (load[agent, slot] is { } terms && terms.Sum(t => t.Cores) > agents[agent].CpuCores)
                {
                    var row = LinearExpr.NewBuilder();
                    foreach (var (chosen, cores) in terms)
                    {
                        row.AddTerm(chosen, cores);
                    }

                    model.Add(row <= agents[agent].CpuCores);
                }
            }
        }

        model.Minimize(objective);
        var solver = new CpSolver { StringParameters = $"max_time_in_seconds:{timeLimit.TotalSeconds},num_workers:2" };
        var status = solver.Solve(model);
        if (status is not (CpSolverStatus.Optimal or CpSolverStatus.Feasible))
        {
            return null;
        }

        var best = choices.Where(c => solver.BooleanValue(c.Var)).Sum(c => c.Grams);
        // The bound is on the rounded objective: half a milligram per job of slack keeps it a bound on the true grams.
        var bound = status == CpSolverStatus.Optimal ? best : Math.Min(best, (solver.BestObjectiveBound - (jobs.Count * 0.5)) / 1000);
        return (best, bound, status == CpSolverStatus.Optimal);
    }
}
