using System.Diagnostics;
using EdgeGreen.ControlPlane.Core.Monitoring;

namespace EdgeGreen.Benchmarks;

/// <summary>
/// A/B experiments simulated to check the mSPRT's promise: looked at after every 100 requests per arm
/// up to a horizon, its chance of declaring a winner when there is none stays at or below α, while a
/// naive two-sided z-test (|θ̂| / √V ≥ 1.96) peeked at the same points does not. Also measured: the
/// power at the minimum detectable effect and how many requests a decision took, beside the same
/// z-test looked at once, at the horizon (valid, but it must wait for the horizon).
/// <para>
/// Two metrics: a conversion rate (10 % in control; 11 % in the treatment under the alternative, so
/// MDE = 1 point; 50,000 requests per arm at most) and a normal mean (σ = 1; +0.05 under the
/// alternative, MDE = 0.05; 10,000 per arm at most). Each experiment has its own seed, so a run
/// repeats exactly.
/// </para>
/// </summary>
internal static class ExperimentBenchmark
{
    private const int LookEvery = 100;
    private const double Alpha = 0.05;
    private const double ZCritical = 1.959963984540054;
    private const int Seed = 20_240;

    private sealed record Scenario(string Metric, ExperimentMetric Kind, double Control, double Effect, int Horizon);

    /// <summary>Where one run of one method stopped: its decision (Continue if none) and the requests per arm by then.</summary>
    private readonly record struct Stop(ExperimentDecision Decision, int Requests);

    public static void Run(int experiments)
    {
        Scenario[] scenarios =
        [
            new("conversion rate, 10 %", ExperimentMetric.Proportion, 0.10, 0.01, 50_000),
            new("mean, σ = 1", ExperimentMetric.Mean, 0.0, 0.05, 10_000),
        ];
        Console.WriteLine($"A/B experiments: {experiments:N0} simulated per row, looked at every {LookEvery} requests per arm, α = {Alpha}, seed {Seed}");
        Console.WriteLine();
        Console.WriteLine("| metric | true difference | requests per arm (max) | method | declared a winner | median requests per arm to a winner | ended \"no difference\" |");
        Console.WriteLine("|---|---:|---:|---|---:|---:|---:|");
        var started = Stopwatch.GetTimestamp();
        foreach (var scenario in scenarios)
        {
            foreach (var difference in new[] { 0.0, scenario.Effect })
            {
                var outcomes = new (Stop Sequential, Stop Naive, Stop Fixed)[experiments];
                Parallel.For(0, experiments, i => outcomes[i] = Simulate(scenario, difference, new Random(Seed + i)));
                Report(scenario, difference, "mSPRT (always valid)", [.. outcomes.Select(o => o.Sequential)]);
                Report(scenario, difference, "z-test, peeking", [.. outcomes.Select(o => o.Naive)]);
                Report(scenario, difference, "z-test, once at the horizon", [.. outcomes.Select(o => o.Fixed)]);
            }
        }

        Console.WriteLine();
        Console.WriteLine($"Under no true difference \"declared a winner\" is the false-positive rate; under the MDE it is the power (the treatment declared better). Took {Stopwatch.GetElapsedTime(started).TotalSeconds:F0} s.");
    }

    private static (Stop Sequential, Stop Naive, Stop Fixed) Simulate(Scenario scenario, double difference, Random random)
    {
        var experiment = SequentialExperiment.Start(new ExperimentOptions(scenario.Kind, scenario.Effect, Alpha));
        Stop? sequential = null, naive = null;
        for (var requests = LookEvery; requests <= scenario.Horizon; requests += LookEvery)
        {
            var control = Batch(scenario, scenario.Control, random);
            var treatment = Batch(scenario, scenario.Control + difference, random);
            experiment = experiment.Observe(control, treatment);
            if (sequential is null && experiment.Decision != ExperimentDecision.Continue)
            {
                sequential = new Stop(experiment.Decision, requests);
            }

            var variance = experiment.EstimatorVariance();
            if (naive is null && variance > 0 && Math.Abs(experiment.Difference) / Math.Sqrt(variance) >= ZCritical)
            {
                naive = new Stop(experiment.Difference > 0 ? ExperimentDecision.TreatmentBetter : ExperimentDecision.ControlBetter, requests);
            }
        }

        // The fixed-horizon test, for scale: what the same data support when looked at only once, at the end.
        var final = Math.Abs(experiment.Difference) / Math.Sqrt(experiment.EstimatorVariance()) >= ZCritical
            ? new Stop(experiment.Difference > 0 ? ExperimentDecision.TreatmentBetter : ExperimentDecision.ControlBetter, scenario.Horizon)
            : new Stop(ExperimentDecision.Continue, scenario.Horizon);
        return (sequential ?? new Stop(ExperimentDecision.Continue, scenario.Horizon), naive ?? new Stop(ExperimentDecision.Continue, scenario.Horizon), final);
    }

    private static ArmSummary Batch(Scenario scenario, double mean, Random random)
    {
        var summary = ArmSummary.Empty;
        if (scenario.Kind == ExperimentMetric.Proportion)
        {
            var successes = 0;
            for (var i = 0; i < LookEvery; i++)
            {
                successes += random.NextDouble() < mean ? 1 : 0;
            }

            return new ArmSummary(LookEvery, successes, successes);
        }

        for (var i = 0; i < LookEvery; i += 2)
        {
            // Box–Muller: two independent normals per pair of uniforms.
            var radius = Math.Sqrt(-2 * Math.Log(1 - random.NextDouble()));
            var angle = 2 * Math.PI * random.NextDouble();
            summary = summary.Add(mean + (radius * Math.Cos(angle))).Add(mean + (radius * Math.Sin(angle)));
        }

        return summary;
    }

    private static void Report(Scenario scenario, double difference, string method, Stop[] stops)
    {
        var winners = stops.Where(s => s.Decision is ExperimentDecision.TreatmentBetter or ExperimentDecision.ControlBetter).ToArray();
        var declared = difference == 0 ? winners.Length : winners.Count(s => s.Decision == ExperimentDecision.TreatmentBetter);
        var requests = winners.Select(s => s.Requests).Order().ToArray();
        var median = requests.Length == 0 ? "—" : $"{requests[requests.Length / 2]:N0}";
        var noDifference = method.StartsWith("mSPRT", StringComparison.Ordinal) ? $"{100.0 * stops.Count(s => s.Decision == ExperimentDecision.NoDifference) / stops.Length:F1} %" : "—";
        var shown = scenario.Kind == ExperimentMetric.Proportion ? $"{difference * 100:+0.#;-0.#;0} pt" : $"{difference:+0.###;-0.###;0}";
        Console.WriteLine($"| {scenario.Metric} | {shown} | {scenario.Horizon:N0} | {method} | {100.0 * declared / stops.Length:F1} % | {median} | {noDifference} |");
    }
}
