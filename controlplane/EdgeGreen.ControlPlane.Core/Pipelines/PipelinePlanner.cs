using EdgeGreen.ControlPlane.Core.Scheduling;

namespace EdgeGreen.ControlPlane.Core.Pipelines;

/// <summary>
/// Plans the steps of a pipeline run that have yet to start as a whole: one start slot and zone
/// per step that minimise the run's expected emissions (power × the intensity of the slots it
/// runs in), such that every step starts once all its predecessors have finished and the last
/// one finishes by the run's deadline. Pure and deterministic; ties go to the earlier slot, then
/// to the zone listed first (the table's zones in ordinal order when a step allows any).
/// <list type="number">
/// <item>Each step's window is [as soon as its predecessors can finish (ASAP), as late as still
/// leaves its successors their durations before the deadline (ALAP)]. When some window is
/// empty, the deadline cannot be met: the plan is the ASAP schedule, flagged
/// (<see cref="PipelinePlan.MeetsDeadline"/> false), and no step is dropped.</item>
/// <item>A step's cost of each start in its window is its emissions there, in its cleanest
/// allowed zone: without capacity, the zone choice of one step does not constrain another's.</item>
/// <item>When no step has more than one successor (chains such as train → evaluate → gate →
/// set-alias → deploy, and fan-in trees), an exact dynamic programme over start slots:
/// each step's best cost for "starts by slot s" (a running minimum over its window) folds into
/// its successor's, O(steps × slots × zones).</item>
/// <item>Any other DAG (fan-out, diamonds) is solved exactly as a minimum cut
/// (<see cref="StartTimeCut"/>): one node per step and start, and per start one arc for each
/// precedence pair that no longer path implies; O(steps × slots) nodes and
/// O((steps + precedence pairs) × slots) arcs. Typical pipelines (3–8 steps, 2 days of
/// 15-minute slots) plan in about 0.1 ms on average; the largest allowed DAG (100 steps over
/// 2,000 slots) in about a second (docs/pipelines.md).</item>
/// </list>
/// Work is bounded: at most <see cref="MaxSteps"/> steps, deadlines up to <see cref="MaxSlots"/>
/// slots, durations and earliest slots up to <see cref="MaxSlots"/> each. Beyond the end of a
/// zone's intensity, its last value is assumed (only an ASAP plan that misses the deadline, or a
/// table shorter than the deadline, reaches there).
/// <para>
/// Agent capacity is not considered: each step is submitted as a job whose window is
/// [<see cref="PlannedStep.ReadySlot"/>, <see cref="PlannedStep.LatestFinishSlot"/>], and the job
/// scheduler fits it to capacity, and to newer forecasts, inside that window.
/// </para>
/// </summary>
public sealed class PipelinePlanner
{
    public const int MaxSteps = 100;

    public const int MaxSlots = 2_000;

    /// <param name="steps">The steps still to plan; their dependencies on steps not listed are ignored (see <see cref="PlanningStep.DependsOn"/>).</param>
    /// <param name="deadlineSlot">The slot by which every step must have finished (exclusive end).</param>
    /// <param name="intensity">Expected intensity per zone and slot; slot 0 is now.</param>
    /// <exception cref="ArgumentException">Steps that are not a DAG, repeat a name, have negative durations, power or slots, exceed the bounds, or may run only in zones the table lacks.</exception>
    public PipelinePlan Plan(IReadOnlyList<PlanningStep> steps, int deadlineSlot, IntensityTable intensity) =>
        Plan(steps, deadlineSlot, intensity, alwaysCut: false);

    /// <inheritdoc cref="Plan(IReadOnlyList{PlanningStep}, int, IntensityTable)"/>
    /// <param name="steps">The steps still to plan.</param>
    /// <param name="deadlineSlot">The run's deadline.</param>
    /// <param name="intensity">Expected intensity per zone and slot.</param>
    /// <param name="alwaysCut">Solve chains and trees by minimum cut too (tests compare the two exact methods).</param>
    internal static PipelinePlan Plan(IReadOnlyList<PlanningStep> steps, int deadlineSlot, IntensityTable intensity, bool alwaysCut)
    {
        ArgumentNullException.ThrowIfNull(steps);
        ArgumentNullException.ThrowIfNull(intensity);
        var graph = StepGraph.Build(steps, deadlineSlot, intensity);
        var n = steps.Count;

        var earliest = new int[n];
        foreach (var i in graph.Order)
        {
            earliest[i] = steps[i].EarliestSlot;
            foreach (var p in graph.Predecessors[i])
            {
                earliest[i] = Math.Max(earliest[i], earliest[p] + steps[p].DurationSlots);
            }
        }

        var latest = new int[n];
        for (var at = n - 1; at >= 0; at--)
        {
            var i = graph.Order[at];
            var finishBy = deadlineSlot;
            foreach (var s in graph.Successors[i])
            {
                finishBy = Math.Min(finishBy, latest[s]);
            }

            latest[i] = finishBy - steps[i].DurationSlots;
        }

        var meetsDeadline = Enumerable.Range(0, n).All(i => earliest[i] <= latest[i]);
        int[] starts;
        if (!meetsDeadline)
        {
            starts = earliest;
        }
        else
        {
            var costs = new double[n][];
            for (var i = 0; i < n; i++)
            {
                costs[i] = new double[latest[i] - earliest[i] + 1];
                for (var k = 0; k < costs[i].Length; k++)
                {
                    costs[i][k] = graph.Cleanest(i, earliest[i] + k).Grams;
                }
            }

            var isForest = graph.Successors.All(s => s.Count <= 1);
            starts = isForest && !alwaysCut
                ? FanInProgramme(steps, graph, earliest, costs)
                : StartTimeCut.Solve(earliest, costs, Arcs(steps, graph))
                    ?? throw new InvalidOperationException("The step windows admit the earliest schedule, so a minimum cut exists.");
        }

        var planned = new PlannedStep[n];
        var (total, runNow) = (0.0, 0.0);
        for (var i = 0; i < n; i++)
        {
            var (zone, grams) = graph.Cleanest(i, starts[i]);
            var finish = starts[i] + steps[i].DurationSlots;
            var ready = graph.Predecessors[i].Aggregate(steps[i].EarliestSlot, (slot, p) => Math.Max(slot, starts[p] + steps[p].DurationSlots));
            var latestFinish = graph.Successors[i].Count == 0
                ? Math.Max(deadlineSlot, meetsDeadline ? 0 : finish)
                : graph.Successors[i].Min(s => starts[s]);
            planned[i] = new PlannedStep(steps[i].Name, zone, ready, starts[i], finish, latestFinish, grams);
            total += grams;
            runNow += graph.Cleanest(i, earliest[i]).Grams;
        }

        return new PipelinePlan(planned, total, runNow, meetsDeadline);
    }

    /// <summary>
    /// "Starts after its predecessor finishes" for every pair but those a longer path implies
    /// (start k ≥ start j + duration j ≥ start i + duration i): the same cut from fewer arcs.
    /// </summary>
    private static List<(int From, int To, int Lag)> Arcs(IReadOnlyList<PlanningStep> steps, StepGraph graph)
    {
        var after = new bool[steps.Count][];
        for (var at = steps.Count - 1; at >= 0; at--)
        {
            var i = graph.Order[at];
            after[i] = new bool[steps.Count];
            foreach (var s in graph.Successors[i])
            {
                after[i][s] = true;
                for (var k = 0; k < steps.Count; k++)
                {
                    after[i][k] |= after[s][k];
                }
            }
        }

        var arcs = new List<(int, int, int)>();
        for (var i = 0; i < steps.Count; i++)
        {
            foreach (var s in graph.Successors[i])
            {
                if (!graph.Successors[i].Any(t => t != s && after[t][s]))
                {
                    arcs.Add((i, s, steps[i].DurationSlots));
                }
            }
        }

        return arcs;
    }

    /// <summary>
    /// Exact when every step has at most one successor: the subtrees feeding a step share no
    /// step, so each one's best cost given "finish by s" is independent of the others'.
    /// best[i][k] is the least cost of step i and everything before it when i starts at
    /// earliest[i] + k; byStart[i][k] is the least over starts up to that one, and where it is.
    /// </summary>
    private static int[] FanInProgramme(IReadOnlyList<PlanningStep> steps, StepGraph graph, int[] earliest, double[][] costs)
    {
        var n = steps.Count;
        var byStart = new (double Cost, int Start)[n][];
        foreach (var i in graph.Order)
        {
            var running = (Cost: double.PositiveInfinity, Start: 0);
            byStart[i] = new (double, int)[costs[i].Length];
            for (var k = 0; k < costs[i].Length; k++)
            {
                var start = earliest[i] + k;
                var cost = costs[i][k];
                foreach (var p in graph.Predecessors[i])
                {
                    // Windows are ALAP-bounded, so the predecessor's window may end before start − duration.
                    cost += byStart[p][Math.Min(start - steps[p].DurationSlots - earliest[p], byStart[p].Length - 1)].Cost;
                }

                if (cost < running.Cost)
                {
                    running = (cost, start);
                }

                byStart[i][k] = running;
            }
        }

        var starts = new int[n];
        for (var at = n - 1; at >= 0; at--)
        {
            var i = graph.Order[at];
            var last = graph.Successors[i] is [var successor]
                ? Math.Min(starts[successor] - steps[i].DurationSlots - earliest[i], byStart[i].Length - 1)
                : byStart[i].Length - 1;
            starts[i] = byStart[i][last].Start;
        }

        return starts;
    }

    /// <summary>The steps checked and indexed: predecessors and successors by index, a topological order, and allowed zones.</summary>
    private sealed class StepGraph
    {
        private readonly IReadOnlyList<PlanningStep> _steps;
        private readonly IntensityTable _intensity;
        private readonly string[][] _zones;

        private StepGraph(IReadOnlyList<PlanningStep> steps, IntensityTable intensity, List<int>[] predecessors, List<int>[] successors,
            int[] order, string[][] zones)
        {
            (_steps, _intensity, Predecessors, Successors, Order, _zones) = (steps, intensity, predecessors, successors, order, zones);
        }

        public IReadOnlyList<int>[] Predecessors { get; }

        public IReadOnlyList<int>[] Successors { get; }

        public int[] Order { get; }

        public static StepGraph Build(IReadOnlyList<PlanningStep> steps, int deadlineSlot, IntensityTable intensity)
        {
            if (steps.Count > MaxSteps)
            {
                throw new ArgumentException($"A plan takes at most {MaxSteps} steps, not {steps.Count}.", nameof(steps));
            }

            if (deadlineSlot is < 0 or > MaxSlots)
            {
                throw new ArgumentOutOfRangeException(nameof(deadlineSlot), deadlineSlot, $"The deadline must lie within 0–{MaxSlots} slots.");
            }

            var index = new Dictionary<string, int>(StringComparer.Ordinal);
            var anyZone = intensity.Zones.Where(z => intensity.Slots(z) > 0).Order(StringComparer.Ordinal).ToArray();
            var zones = new string[steps.Count][];
            for (var i = 0; i < steps.Count; i++)
            {
                var step = steps[i] ?? throw new ArgumentException($"Step {i} is null.", nameof(steps));
                if (string.IsNullOrEmpty(step.Name) || !index.TryAdd(step.Name, i))
                {
                    throw new ArgumentException($"Step {i} has an empty or repeated name '{step.Name}'.", nameof(steps));
                }

                if (step.DurationSlots is < 0 or > MaxSlots || step.EarliestSlot is < 0 or > MaxSlots
                    || !double.IsFinite(step.PowerWatts) || step.PowerWatts < 0)
                {
                    throw new ArgumentException(
                        $"Step '{step.Name}' needs a duration and an earliest slot within 0–{MaxSlots} and a finite, non-negative power.", nameof(steps));
                }

                // Zones the table lacks have no forecast to plan with; a step needs one that it has.
                zones[i] = step.Zones is null or { Count: 0 } ? anyZone : [.. step.Zones.Distinct(StringComparer.Ordinal).Where(z => anyZone.Contains(z, StringComparer.Ordinal))];
                if (zones[i].Length == 0)
                {
                    throw new ArgumentException($"Step '{step.Name}' may run only in zones the intensity table lacks.", nameof(steps));
                }
            }

            var predecessors = new List<int>[steps.Count];
            var successors = Enumerable.Range(0, steps.Count).Select(_ => new List<int>()).ToArray();
            for (var i = 0; i < steps.Count; i++)
            {
                predecessors[i] = [.. (steps[i].DependsOn ?? []).Select(name => index.GetValueOrDefault(name, -1)).Where(p => p >= 0).Distinct()];
                foreach (var p in predecessors[i])
                {
                    successors[p].Add(i);
                }
            }

            // Kahn's algorithm, taking ready steps in the order given, so that the order is reproducible.
            var waiting = predecessors.Select(p => p.Count).ToArray();
            var order = new List<int>(steps.Count);
            var ready = new PriorityQueue<int, int>();
            for (var i = 0; i < steps.Count; i++)
            {
                if (waiting[i] == 0)
                {
                    ready.Enqueue(i, i);
                }
            }

            while (ready.TryDequeue(out var i, out _))
            {
                order.Add(i);
                foreach (var s in successors[i])
                {
                    if (--waiting[s] == 0)
                    {
                        ready.Enqueue(s, s);
                    }
                }
            }

            if (order.Count < steps.Count)
            {
                var cycle = Enumerable.Range(0, steps.Count).Where(i => waiting[i] > 0).Select(i => $"'{steps[i].Name}'");
                throw new ArgumentException($"The steps depend on each other in a cycle through {string.Join(", ", cycle)}.", nameof(steps));
            }

            return new StepGraph(steps, intensity, predecessors, successors, [.. order], zones);
        }

        /// <summary>The step's cleanest allowed zone for a start and its emissions there.</summary>
        public (string Zone, double Grams) Cleanest(int step, int start)
        {
            var best = (Zone: _zones[step][0], Grams: double.PositiveInfinity);
            foreach (var zone in _zones[step])
            {
                var grams = Grams(zone, start, _steps[step].DurationSlots, _steps[step].PowerWatts);
                if (grams < best.Grams)
                {
                    best = (zone, grams);
                }
            }

            return best;
        }

        /// <summary>Window emissions, the part past the end of the zone's table at its last value.</summary>
        private double Grams(string zone, int start, int duration, double powerWatts)
        {
            if (duration == 0 || powerWatts == 0)
            {
                return 0;
            }

            var slots = _intensity.Slots(zone);
            var end = start + duration;
            var inside = start < slots ? _intensity.Emissions(zone, start, Math.Min(end, slots) - start, powerWatts) : 0;
            var beyond = end > slots ? (end - Math.Max(start, slots)) * _intensity.Emissions(zone, slots - 1, 1, powerWatts) : 0;
            return inside + beyond;
        }
    }
}
