using EdgeGreen.Benchmarks;

// Usage: dotnet run -c Release --project tests/EdgeGreen.Benchmarks -- [ingest [--quick] | forecast [--eval-dir DIR] | scheduling [--eval-dir DIR] [--parts 2021,2022,eval,optimum,time] | overhead [--seconds N] | inference]
var benchmark = args.FirstOrDefault(a => !a.StartsWith("--", StringComparison.Ordinal)) ?? "ingest";
switch (benchmark)
{
    case "ingest":
        var quick = args.Contains("--quick");
        await IngestBenchmark.RunAsync(quick ? [1, 4] : [1, 4, 16], readingsPerAgentTotal: quick ? 20_000 : 100_000, repetitions: quick ? 1 : 3);
        break;
    case "forecast":
        var evalAt = Array.IndexOf(args, "--eval-dir");
        ForecastBenchmark.Run(evalAt >= 0 && evalAt + 1 < args.Length ? args[evalAt + 1] : null);
        break;
    case "scheduling":
        var evalDir = Array.IndexOf(args, "--eval-dir");
        var partsAt = Array.IndexOf(args, "--parts");
        SchedulingBenchmark.Run(evalDir >= 0 && evalDir + 1 < args.Length ? args[evalDir + 1] : null,
            (partsAt >= 0 && partsAt + 1 < args.Length ? args[partsAt + 1].Split(',') : SchedulingBenchmark.Parts).ToHashSet(StringComparer.Ordinal));
        break;
    case "inference":
        InferenceBenchmark.Run(null);
        break;
    case "overhead":
        var secondsAt = Array.IndexOf(args, "--seconds");
        return await OverheadBenchmark.RunAsync(TimeSpan.FromSeconds(secondsAt >= 0 && secondsAt + 1 < args.Length ? int.Parse(args[secondsAt + 1], System.Globalization.CultureInfo.InvariantCulture) : 60));
    default:
        Console.Error.WriteLine($"Unknown benchmark '{benchmark}'. Use: ingest [--quick] | forecast [--eval-dir DIR] | scheduling [--eval-dir DIR] [--parts 2021,2022,eval,optimum,time] | overhead [--seconds N] | inference");
        return 2;
}

return 0;
