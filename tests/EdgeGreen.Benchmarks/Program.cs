using EdgeGreen.Benchmarks;

// Usage: dotnet run -c Release --project tests/EdgeGreen.Benchmarks [-- ingest] [--quick]
var quick = args.Contains("--quick");
await IngestBenchmark.RunAsync(quick ? [1, 4] : [1, 4, 16], readingsPerAgentTotal: quick ? 20_000 : 100_000, repetitions: quick ? 1 : 3);
