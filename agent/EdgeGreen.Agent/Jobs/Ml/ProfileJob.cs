using System.Diagnostics;
using System.Text.Json;
using EdgeGreen.Shared.Datasets;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using EdgeGreen.Shared.Jobs;

namespace EdgeGreen.Agent.Jobs.Ml;

/// <summary>
/// <c>profile</c>: measures a registered model served with ONNX Runtime on this agent, for every
/// batch size (1, 8, 64) and intra-op thread count (1, and all cores when more than one): latency
/// (p50, p99 per call), throughput (inferences per second) and energy per 1,000 inferences, the
/// last from the energy attributed to the job while that configuration ran (the agent's sensors,
/// sampled every second; each configuration runs <c>secondsPerConfiguration</c>, default 5, then
/// waits out one sampling interval). The recommended configuration is the one with the least
/// energy per 1,000 inferences among those within twice the best p99 latency; the control plane
/// stores it on the model version with the SCI per 1,000 inferences, whose embodied term M the
/// agent works out from <c>Embodied</c> (each configuration holds its threads' cores). Parameters: <c>model</c>,
/// <c>dataset</c> (optional: rows to feed, as in <c>batch-infer</c>; inputs it has no column for,
/// such as images, get synthetic values), <c>secondsPerConfiguration</c>. A model whose batch
/// dimension is fixed is measured at that batch size only; the others are reported as skipped.
/// </summary>
public sealed class ProfileJob : IJobKind
{

    public JobKind Spec => JobKinds.Profile;

    public async Task RunAsync(JobExecution execution, CancellationToken cancellationToken)
    {
        var (modelPath, csvPath, tracking) = await ModelJobs.PrepareAsync(this, execution, cancellationToken);
        using var tracked = tracking;
        var (rows, index) = csvPath is null ? ([], []) : ReadRows(csvPath, 64);
        var skipped = new List<string>();
        var seconds = ProfileKind.SecondsPerConfiguration(execution.Parameters);

        var results = new List<ProfileResult>();
        var configurations = ProfileKind.Configurations();
        foreach (var (batch, threads) in configurations)
        {
            execution.ReportPhase($"profiling batch {batch}, {threads} thread(s)");
            using var options = InferenceProviders.Options(execution.InferenceProvider, threads);
            using var session = new InferenceSession(modelPath, options);
            if (Feeds(session, batch, rows, index) is not { } feeds)
            {
                // A scalar input takes one row at a time; otherwise the first input with a fixed batch says.
                var fixedBatch = session.InputMetadata.Values.Select(m => m.Dimensions).FirstOrDefault(d => d.Length > 0 && d[0] > 0) is { } fixedDims ? fixedDims[0] : 1;
                skipped.Add($"batch {batch}, {threads} thread(s): the model takes batches of {fixedBatch} only");
                execution.ReportProgress((double)(results.Count + skipped.Count) / configurations.Count);
                continue;
            }

            string[] outputs = [session.OutputMetadata.Keys.First()];
            for (var i = 0; i < 20; i++)
            {
                using var warm = session.Run(feeds, outputs);
            }

            var energyBefore = execution.EnergyJoules();
            var latencies = new List<double>();
            var clock = Stopwatch.StartNew();
            while (clock.Elapsed < seconds)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var started = Stopwatch.GetTimestamp();
                using var result = session.Run(feeds, outputs);
                latencies.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            }

            var elapsed = clock.Elapsed;

            // Let the sampling pass that covers the end of the run attribute its energy.
            await Task.Delay(TimeSpan.FromSeconds(1.5), cancellationToken);
            var inferences = (double)latencies.Count * batch;
            latencies.Sort();
            results.Add(new ProfileResult(batch, threads, inferences / elapsed.TotalSeconds, latencies[latencies.Count / 2], latencies[(int)(latencies.Count * 0.99)],
                (execution.EnergyJoules() - energyBefore) / inferences * 1000,
                execution.Embodied?.Grams(elapsed / inferences * 1000, threads)));
            execution.ReportProgress((double)(results.Count + skipped.Count) / configurations.Count);
        }

        if (results.Count == 0)
        {
            throw new InvalidDataException($"No batch size profile measures fits the model: {string.Join("; ", skipped)}.");
        }

        var bestP99 = results.Min(r => r.P99Milliseconds);
        var recommended = results.Where(r => r.P99Milliseconds <= 2 * bestP99).MinBy(r => r.JoulesPer1kInferences)!;
        var output = execution.Output;
        output.Status = "READY";
        foreach (var r in results)
        {
            var key = $"b{r.BatchSize}.t{r.Threads}";
            output.Metrics[$"throughput.{key}"] = r.InferencesPerSecond;
            output.Metrics[$"p99Ms.{key}"] = r.P99Milliseconds;
            output.Metrics[$"joulesPer1k.{key}"] = r.JoulesPer1kInferences;
        }

        output.Metrics["recommended.joulesPer1kInferences"] = recommended.JoulesPer1kInferences;
        output.Details["profile"] = JsonSerializer.Serialize(results, JsonSerializerOptions.Web);
        output.Details["recommended"] = JsonSerializer.Serialize(recommended, JsonSerializerOptions.Web);
        output.Details["executionProvider"] = execution.InferenceProvider;
        output.Details["inputs"] = csvPath is null ? SyntheticInputs : $"dataset rows where it has the input's column, else {SyntheticInputs}";
        if (skipped.Count > 0)
        {
            output.Details["skipped"] = string.Join("; ", skipped);
        }
    }

    private const string SyntheticInputs = "synthetic (floats uniform in [0, 1), integers 0, booleans false, text empty)";

    /// <summary>
    /// The inputs for one call of <paramref name="batch"/> rows: a tabular input ([N, 1]) the
    /// dataset has a column for is fed from its rows, as in <c>batch-infer</c>; any other input
    /// (an image, a model registered from outside) gets synthetic values of its shape, the batch
    /// size in its first dimension. Null when an input's first dimension is fixed to another size.
    /// </summary>
    private static List<NamedOnnxValue>? Feeds(InferenceSession session, int batch, List<string[]> rows, Dictionary<string, int> index)
    {
        var feeds = new List<NamedOnnxValue>();
        var random = new Random(batch);
        foreach (var (name, metadata) in session.InputMetadata)
        {
            var dims = metadata.Dimensions;
            if (rows.Count > 0 && index.ContainsKey(name) && dims is [_, 1])
            {
                feeds.Add(BatchInferJob.Feed(name, metadata, rows[..batch], index));
                continue;
            }

            if (dims.Length == 0 || (dims[0] > 0 && dims[0] != batch))
            {
                return dims.Length == 0 && batch == 1 ? [.. feeds, Synthetic(name, metadata.ElementType, [], random)] : null;
            }

            if (dims.Skip(1).Any(d => d <= 0))
            {
                throw new InvalidDataException($"The model input '{name}' has a dimension of no fixed size beyond the batch ([{string.Join(", ", dims)}]); give a dataset with its column.");
            }

            feeds.Add(Synthetic(name, metadata.ElementType, [batch, .. dims.Skip(1)], random));
        }

        return feeds;
    }

    private static NamedOnnxValue Synthetic(string name, Type type, int[] shape, Random random)
    {
        var count = shape.Aggregate(1, (product, d) => product * d);
        return type switch
        {
            _ when type == typeof(float) => NamedOnnxValue.CreateFromTensor(name, new DenseTensor<float>(Enumerable.Range(0, count).Select(_ => random.NextSingle()).ToArray(), shape)),
            _ when type == typeof(double) => NamedOnnxValue.CreateFromTensor(name, new DenseTensor<double>(Enumerable.Range(0, count).Select(_ => random.NextDouble()).ToArray(), shape)),
            _ when type == typeof(long) => NamedOnnxValue.CreateFromTensor(name, new DenseTensor<long>(new long[count], shape)),
            _ when type == typeof(int) => NamedOnnxValue.CreateFromTensor(name, new DenseTensor<int>(new int[count], shape)),
            _ when type == typeof(bool) => NamedOnnxValue.CreateFromTensor(name, new DenseTensor<bool>(new bool[count], shape)),
            _ when type == typeof(string) => NamedOnnxValue.CreateFromTensor(name, new DenseTensor<string>(Enumerable.Repeat("", count).ToArray(), shape)),
            _ => throw new InvalidDataException($"The model input '{name}' has element type {type.Name}, which profile cannot make values for."),
        };
    }

    /// <summary>The first rows of the CSV, repeated to fill <paramref name="count"/> when it has fewer.</summary>
    private static (List<string[]> Rows, Dictionary<string, int> Index) ReadRows(string path, int count)
    {
        using var parser = DatasetSchema.OpenCsv(path, out var header);
        var rows = new List<string[]>();
        while (rows.Count < count && DatasetSchema.ReadRow(parser) is { } row)
        {
            rows.Add(row);
        }

        if (rows.Count == 0)
        {
            throw new InvalidDataException("The dataset has no rows to feed the model.");
        }

        for (var i = 0; rows.Count < count; i++)
        {
            rows.Add(rows[i]);
        }

        return (rows, DatasetSchema.IndexOf(header));
    }
}

/// <summary>
/// One measured serving configuration; <paramref name="EmbodiedGramsPer1kInferences"/> is SCI's M
/// for the time 1,000 inferences hold its threads' cores (null when the machine's embodied
/// emissions are not configured).
/// </summary>
public sealed record ProfileResult(int BatchSize, int Threads, double InferencesPerSecond, double P50Milliseconds, double P99Milliseconds, double JoulesPer1kInferences,
    double? EmbodiedGramsPer1kInferences);
