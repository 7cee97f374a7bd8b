using System.Diagnostics;
using EdgeGreen.ControlPlane.Core.Carbon;
using EdgeGreen.ControlPlane.Core.Pipelines;
using EdgeGreen.ControlPlane.Core.Scheduling;

namespace EdgeGreen.Benchmarks;

/// <summary>
/// Random pipelines planned as a whole by carbon on the bundled 2021–2022 hourly traces, one zone
/// at a time, with perfect forecasts (the actual trace is the forecast) and 15-minute slots (each
/// hour's value held for its four slots).
///
/// Pipelines (seeded, so every method sees the same ones): 3–8 steps, half chains and half DAGs
/// (each step after the first waits for one or two earlier steps, so steps fan out and in);
/// durations log-uniform between 10 min and 4 h, rounded up to whole slots; powers uniform in
/// 20–400 W; 15 % of the steps after the first take no time and no power (gates, alias moves).
/// Deadlines are 1.5–4 times the critical path, kept within 6–48 h (never below the critical
/// path); release hours uniform over both years.
///
/// Methods: run-now (every step as soon as its predecessors finish); per-step greedy (each step,
/// when its predecessors finish, takes its cleanest start that still leaves its successors'
/// critical path before the deadline); <see cref="PipelinePlanner"/>; and a lower bound (each
/// step alone in its cleanest window between its earliest start and the deadline less its
/// successors' critical path, ignoring that it must wait for the steps before it).
/// </summary>
internal static class PipelineBenchmark
{
    private const int SlotsPerHour = 4;
    private const int MaxDeadlineHours = 48;
    private const int Seed = 2021;

    public static void Run(int pipelinesPerZone)
    {
        var directory = Path.Combine(AppContext.BaseDirectory, "Carbon", "Traces", "electricitymaps");
        var traces = Directory.EnumerateFiles(directory, "*.csv").Select(HourlyTrace.Read).Where(t => t.Year is 2021 or 2022).ToList();
        var zones = traces.Select(t => t.Zone).Distinct().Order(StringComparer.Ordinal).ToArray();
        Console.WriteLine($"Pipelines planned by carbon: {pipelinesPerZone:N0} random pipelines per zone released over 2021–2022, 15-minute slots, perfect forecasts (actual trace)");
        Console.WriteLine();
        Console.WriteLine("| zone | pipelines | shape | run-now kg | greedy saving | planner saving | bound's saving | planner share of bound's saving | greedy share | deadlines missed: greedy / planner | planning time per pipeline: mean / p99 / max |");
        Console.WriteLine("|---|---:|---|---:|---:|---:|---:|---:|---:|---|---|");

        Warm(traces.First(t => t.Zone == zones[0]).IntensityGramsPerKwh.ToArray());
        var all = new List<Outcome>();
        foreach (var zone in zones)
        {
            var hourly = traces.Where(t => t.Zone == zone).OrderBy(t => t.Year).SelectMany(t => t.IntensityGramsPerKwh).ToArray();
            var random = new Random(Seed + Array.IndexOf(zones, zone));
            var outcomes = Enumerable.Range(0, pipelinesPerZone).Select(_ => Simulate(random, zone, hourly)).ToList();
            Report(zone, "all", outcomes);
            all.AddRange(outcomes);
        }

        Report("all", "chains", [.. all.Where(o => o.Chain)]);
        Report("all", "DAGs", [.. all.Where(o => !o.Chain)]);
        Report("**all**", "all", all);
        Console.WriteLine();
        Console.WriteLine("Mean savings are per pipeline, against run-now; a share is the planner's (or greedy's) mean saving over the bound's.");
        Console.WriteLine($"Cross-check of the two exact methods on the {all.Count(o => o.Chain):N0} chains: the minimum cut's grams differ from the dynamic programme's by at most {all.Max(o => o.CrossCheck):G3} g.");
        Console.WriteLine();
        Largest(zones[0], traces.Where(t => t.Zone == zones[0]).OrderBy(t => t.Year).SelectMany(t => t.IntensityGramsPerKwh).ToArray());
    }

    /// <summary>Grams per method (run-now, greedy, planner, bound), deadlines missed (greedy, planner) and the planning time.</summary>
    /// <param name="CrossCheck">For a chain, how far the minimum cut's grams lie from the dynamic programme's (both exact); 0 for a DAG.</param>
    private sealed record Outcome(bool Chain, double RunNow, double Greedy, double Planner, double Bound, bool GreedyMissed, bool PlannerMissed, TimeSpan Time,
        double CrossCheck);

    private static Outcome Simulate(Random random, string zone, double[] hourly)
    {
        var (steps, chain) = Generate(random);
        var criticalPath = Tails(steps).Select((tail, i) => tail + steps[i].DurationSlots).Max();
        var deadline = (int)Math.Ceiling(criticalPath * (1.5 + (random.NextDouble() * 2.5)));
        deadline = Math.Max(criticalPath, Math.Clamp(deadline, 6 * SlotsPerHour, MaxDeadlineHours * SlotsPerHour));
        var release = random.Next(0, hourly.Length - MaxDeadlineHours);
        var table = new IntensityTable(1.0 / SlotsPerHour, new Dictionary<string, double[]> { [zone] = Expand(hourly.AsSpan(release, MaxDeadlineHours)) });

        var started = Stopwatch.GetTimestamp();
        var plan = new PipelinePlanner().Plan(steps, deadline, table);
        var time = Stopwatch.GetElapsedTime(started);

        var (greedy, greedyFinish) = Greedy(steps, deadline, table, zone);
        var plannerMissed = !plan.MeetsDeadline || plan.Steps.Any(s => s.FinishSlot > deadline);
        var crossCheck = chain ? Math.Abs(PipelinePlanner.Plan(steps, deadline, table, alwaysCut: true).ForecastCarbonGrams - plan.ForecastCarbonGrams) : 0;
        return new Outcome(chain, plan.RunNowCarbonGrams, greedy, plan.ForecastCarbonGrams, Bound(steps, deadline, table, zone), greedyFinish > deadline, plannerMissed, time,
            crossCheck);
    }

    /// <summary>Steps in topological order (each waits only for earlier ones), and whether they form a chain.</summary>
    private static (PlanningStep[] Steps, bool Chain) Generate(Random random)
    {
        var chain = random.NextDouble() < 0.5;
        var steps = new PlanningStep[random.Next(3, 9)];
        for (var i = 0; i < steps.Length; i++)
        {
            string[] dependsOn = i == 0 ? []
                : chain ? [$"step-{i - 1}"]
                : [.. Enumerable.Range(0, i).OrderBy(_ => random.Next()).Take(random.Next(1, 3)).Order().Select(p => $"step-{p}")];
            if (i > 0 && random.NextDouble() < 0.15)
            {
                steps[i] = new PlanningStep($"step-{i}", 0, 0, dependsOn);
                continue;
            }

            var minutes = Math.Exp(Math.Log(10) + (random.NextDouble() * (Math.Log(240) - Math.Log(10))));
            var duration = (int)Math.Ceiling(minutes / (60.0 / SlotsPerHour));
            steps[i] = new PlanningStep($"step-{i}", duration, 20 + (random.NextDouble() * 380), dependsOn);
        }

        return (steps, chain);
    }

    /// <summary>Per step, the longest chain of durations after it.</summary>
    private static int[] Tails(PlanningStep[] steps)
    {
        var tails = new int[steps.Length];
        for (var i = steps.Length - 1; i >= 0; i--)
        {
            foreach (var p in steps[i].DependsOn.Select(Index))
            {
                tails[p] = Math.Max(tails[p], tails[i] + steps[i].DurationSlots);
            }
        }

        return tails;
    }

    private static int Index(string name) => int.Parse(name.AsSpan("step-".Length), System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Each step in order, started when its predecessors have finished, at its cleanest start that leaves its successors room.</summary>
    private static (double Grams, int Finish) Greedy(PlanningStep[] steps, int deadline, IntensityTable table, string zone)
    {
        var tails = Tails(steps);
        var finish = new int[steps.Length];
        var grams = 0.0;
        for (var i = 0; i < steps.Length; i++)
        {
            var ready = steps[i].DependsOn.Select(p => finish[Index(p)]).DefaultIfEmpty(0).Max();
            var (start, least) = Cleanest(steps[i], table, zone, ready, deadline - tails[i] - steps[i].DurationSlots);
            finish[i] = start + steps[i].DurationSlots;
            grams += least;
        }

        return (grams, finish.Max());
    }

    private static double Bound(PlanningStep[] steps, int deadline, IntensityTable table, string zone)
    {
        var tails = Tails(steps);
        var earliest = new int[steps.Length];
        var grams = 0.0;
        for (var i = 0; i < steps.Length; i++)
        {
            earliest[i] = steps[i].DependsOn.Select(p => earliest[Index(p)] + steps[Index(p)].DurationSlots).DefaultIfEmpty(0).Max();
            grams += Cleanest(steps[i], table, zone, earliest[i], deadline - tails[i] - steps[i].DurationSlots).Grams;
        }

        return grams;
    }

    private static (int Start, double Grams) Cleanest(PlanningStep step, IntensityTable table, string zone, int first, int last)
    {
        var best = (Start: first, Grams: double.PositiveInfinity);
        for (var start = first; start <= Math.Max(first, last); start++)
        {
            var grams = table.Emissions(zone, start, step.DurationSlots, step.PowerWatts);
            if (grams < best.Grams)
            {
                best = (start, grams);
            }
        }

        return best;
    }

    private static void Report(string zone, string shape, IReadOnlyList<Outcome> outcomes)
    {
        static double Saving(double runNow, double value) => runNow > 0 ? (runNow - value) / runNow : 0;
        var greedy = outcomes.Average(o => Saving(o.RunNow, o.Greedy));
        var planner = outcomes.Average(o => Saving(o.RunNow, o.Planner));
        var bound = outcomes.Average(o => Saving(o.RunNow, o.Bound));
        var times = outcomes.Select(o => o.Time.TotalMilliseconds).Order().ToArray();
        Console.WriteLine($"| {zone} | {outcomes.Count:N0} | {shape} | {outcomes.Sum(o => o.RunNow) / 1000:N1} | {greedy:P1} | {planner:P1} | {bound:P1} | {planner / bound:P1} | {greedy / bound:P1} | " +
            $"{outcomes.Count(o => o.GreedyMissed):N0} / {outcomes.Count(o => o.PlannerMissed):N0} | {times.Average():F3} / {times[(int)(0.99 * (times.Length - 1))]:F3} / {times[^1]:F2} ms |");
    }

    /// <summary>The work bound: the most steps over the longest deadline, as a chain (dynamic programme) and as a DAG (minimum cut).</summary>
    private static void Largest(string zone, double[] hourly)
    {
        var table = new IntensityTable(1.0 / SlotsPerHour, new Dictionary<string, double[]> { [zone] = Expand(hourly.AsSpan(0, PipelinePlanner.MaxSlots / SlotsPerHour)) });
        var random = new Random(Seed);
        foreach (var chain in new[] { true, false })
        {
            var steps = Enumerable.Range(0, PipelinePlanner.MaxSteps).Select(i => new PlanningStep($"step-{i}", random.Next(0, 5), 20 + (random.NextDouble() * 380),
                i == 0 ? [] : chain ? [$"step-{i - 1}"] : [.. Enumerable.Range(Math.Max(0, i - 8), Math.Min(i, 8)).Where(_ => random.NextDouble() < 0.3).Select(p => $"step-{p}")])).ToArray();
            var started = Stopwatch.GetTimestamp();
            var plan = new PipelinePlanner().Plan(steps, PipelinePlanner.MaxSlots, table);
            var time = Stopwatch.GetElapsedTime(started);
            Console.WriteLine($"Largest instance, {PipelinePlanner.MaxSteps} steps as a {(chain ? "chain" : "DAG")} over {PipelinePlanner.MaxSlots:N0} slots ({zone}): " +
                $"planned in {time.TotalMilliseconds:N0} ms, saving {(plan.RunNowCarbonGrams - plan.ForecastCarbonGrams) / plan.RunNowCarbonGrams:P1}, deadline met: {plan.MeetsDeadline}");
        }
    }

    /// <summary>Plans a few pipelines first, so that the timings do not include compiling the planner.</summary>
    private static void Warm(double[] hourly)
    {
        var random = new Random(Seed - 1);
        for (var i = 0; i < 200; i++)
        {
            Simulate(random, "warm", hourly);
        }
    }

    private static double[] Expand(ReadOnlySpan<double> hourly)
    {
        var slots = new double[hourly.Length * SlotsPerHour];
        for (var i = 0; i < slots.Length; i++)
        {
            slots[i] = hourly[i / SlotsPerHour];
        }

        return slots;
    }
}
