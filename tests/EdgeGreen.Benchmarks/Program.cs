using EdgeGreen.Benchmarks;

using System.Globalization;

// Usage: dotnet run -c Release --project tests/EdgeGreen.Benchmarks -- BENCHMARK [options]; see Usage below.
const string Usage = "ingest [--quick] [--store litedb|postgres|timescaledb] [--agents 1,4,16] [--runs 3] | fleet [--store litedb|postgres|timescaledb] [--agents 1000,2000,...] [--minutes N] [--connection-idle-lifetime SECONDS] [--max-auto-prepare N] [--max-wal-size 8GB] | "
    + "queries [--store litedb|postgres|timescaledb] [--scale 1.0] | footprint [--store litedb|postgres|timescaledb] | forecast [--eval-dir DIR] | scheduling [--eval-dir DIR] [--parts 2021,2022,eval,optimum,time] | overhead [--seconds N] | inference | pipelines [--count N] | experiments [--count N] | dashboard [--store litedb|postgres|timescaledb] [--scale 1.0]";
var benchmark = args.FirstOrDefault(a => !a.StartsWith("--", StringComparison.Ordinal)) ?? "ingest";
string? Option(string name) => Array.IndexOf(args, name) is var at and >= 0 && at + 1 < args.Length ? args[at + 1] : null;
int[] Counts(string name, int[] fallback) => Option(name) is { } given ? [.. given.Split(',').Select(a => int.Parse(a, CultureInfo.InvariantCulture))] : fallback;
var postgres = Option("--store") is "postgres" or "timescaledb"
    ? await BenchmarkPostgres.StartAsync(
        (Option("--connection-idle-lifetime") is { } idle ? $";Connection Idle Lifetime={int.Parse(idle, CultureInfo.InvariantCulture)}" : "")
        + (Option("--max-auto-prepare") is { } prepare ? $";Max Auto Prepare={int.Parse(prepare, CultureInfo.InvariantCulture)}" : ""),
        Option("--max-wal-size") ?? "8GB", timescaleDb: Option("--store") == "timescaledb")
    : null;
var store = new StorageTargets(postgres);
try
{
switch (benchmark)
{
    case "ingest":
        var quick = args.Contains("--quick");
        await IngestBenchmark.RunAsync(store, Counts("--agents", quick ? [1, 4] : [1, 4, 16]), readingsPerAgentTotal: quick ? 20_000 : 100_000, repetitions: Option("--runs") is { } runs ? int.Parse(runs, CultureInfo.InvariantCulture) : quick ? 1 : 3);
        break;
    case "fleet":
        await FleetBenchmark.RunAsync(store, Counts("--agents", [1000, 2000, 3000, 4000]),
            TimeSpan.FromMinutes(double.Parse(Option("--minutes") ?? "10", CultureInfo.InvariantCulture)), TimeSpan.FromSeconds(30));
        break;
    case "footprint":
        Console.WriteLine("| store | readings (100 agents, 1 Hz × 3 domains, 1 h) | on disk | bytes per raw reading, rollups and indexes included |");
        Console.WriteLine("|---|---:|---:|---:|");
        await QueryBenchmark.FootprintAsync(store);
        break;
    case "queries":
        await QueryBenchmark.RunAsync(store, double.Parse(Option("--scale") ?? "1", CultureInfo.InvariantCulture));
        break;
    case "dashboard":
        await DashboardBenchmark.RunAsync(store, double.Parse(Option("--scale") ?? "1", CultureInfo.InvariantCulture));
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
    case "pipelines":
        PipelineBenchmark.Run(int.Parse(Option("--count") ?? "5000", CultureInfo.InvariantCulture));
        break;
    case "experiments":
        ExperimentBenchmark.Run(int.Parse(Option("--count") ?? "10000", CultureInfo.InvariantCulture));
        break;
    case "inference":
        InferenceBenchmark.Run(null);
        break;
    case "overhead":
        var secondsAt = Array.IndexOf(args, "--seconds");
        return await OverheadBenchmark.RunAsync(TimeSpan.FromSeconds(secondsAt >= 0 && secondsAt + 1 < args.Length ? int.Parse(args[secondsAt + 1], CultureInfo.InvariantCulture) : 60));
    default:
        Console.Error.WriteLine($"Unknown benchmark '{benchmark}'. Use: {Usage}");
        return 2;
}
}
finally
{
    if (postgres is not null)
    {
        await postgres.DisposeAsync();
    }
}

return 0;
