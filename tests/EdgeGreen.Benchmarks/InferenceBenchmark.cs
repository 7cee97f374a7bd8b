using System.Diagnostics;
using System.Globalization;
using EdgeGreen.Agent.Datasets;
using EdgeGreen.Agent.Jobs.Ml;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.OnnxRuntime;

namespace EdgeGreen.Benchmarks;

/// <summary>
/// ONNX Runtime against ML.NET's PredictionEngine on the same model, in the same run: the credit
/// default models EdgeGreen's <c>train</c> kind makes with each of its trainers (FastTree, LightGBM,
/// SDCA; 23 features), trained here, exported to ONNX and verified as the job does. Single rows
/// (one call per row) and batches of 64 (one ONNX Runtime call per batch; 64 PredictionEngine
/// calls, since it has no batch API), each for a fixed time after a warm-up, on validation rows;
/// ONNX Runtime with one intra-op thread and with all cores (PredictionEngine has one); throughput
/// in rows/s and the 99th percentile of the time per call (per row or per batch of 64).
/// </summary>
public static class InferenceBenchmark
{
    private static readonly TimeSpan Measure = TimeSpan.FromSeconds(5);

    public static void Run(string? csvPath)
    {
        csvPath ??= Path.Combine(AppContext.BaseDirectory, "Datasets", "Sample", "UCI_Credit_Card.csv");
        var work = Directory.CreateTempSubdirectory("edgegreen-inference-").FullName;
        try
        {
            var (columns, _) = DatasetSchema.Infer(csvPath);
            int[] threadCounts = Environment.ProcessorCount > 1 ? [1, Environment.ProcessorCount] : [1];
            Console.WriteLine($"Credit default model, validation rows cycled, {Measure.TotalSeconds:0} s per case; PredictionEngine on one thread, ONNX Runtime with {string.Join(" and ", threadCounts)} intra-op thread(s):");
            Console.WriteLine();
            Console.WriteLine("| trainer (validation AUC) | batch | ONNX Runtime threads | ML.NET PredictionEngine rows/s | ONNX Runtime rows/s | ONNX Runtime ÷ ML.NET | ML.NET p99 per call | ONNX Runtime p99 per call |");
            Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|");
            foreach (var trainerName in new[] { "fasttree", "lightgbm", "sdca" })
            {
                var spec = TrainingSpec.From(new Dictionary<string, string>
                {
                    ["dataset"] = "credit", ["label"] = "default.payment.next.month", ["task"] = "binary", ["trainer"] = trainerName, ["ignore"] = "ID",
                }, columns);
                var trainer = new TabularTrainer(spec, _ => { }, _ => { });
                var onnxPath = Path.Combine(work, $"credit-{trainerName}.onnx");
                var result = trainer.Train(csvPath, onnxPath, CancellationToken.None);
                if (result.VerificationProblem is { } problem)
                {
                    throw new InvalidOperationException(problem);
                }

                var (ml, model, validation) = trainer.Fit(csvPath, CancellationToken.None);
                var rows = ml.Data.CreateEnumerable<CreditRow>(ml.Data.TakeRows(validation, 4096), reuseRowObject: false).ToArray();
                var engine = ml.Model.CreatePredictionEngine<CreditRow, CreditPrediction>(model);
                foreach (var batch in new[] { 1, 64 })
                {
                    var mlnet = Time(batch, rows.Length, start =>
                    {
                        for (var i = 0; i < batch; i++)
                        {
                            _ = engine.Predict(rows[(start + i) % rows.Length]).Probability;
                        }
                    });
                    foreach (var threads in threadCounts)
                    {
                        var ort = TimeOnnxRuntime(onnxPath, rows, batch, threads);
                        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                            $"| {trainerName} ({result.Metrics["auc"]:F3}) | {batch} | {threads} | {mlnet.RowsPerSecond:N0} | {ort.RowsPerSecond:N0} | **{ort.RowsPerSecond / mlnet.RowsPerSecond:F2}×** | {mlnet.P99Microseconds:N0} µs | {ort.P99Microseconds:N0} µs |"));
                    }
                }
            }

            Console.WriteLine();
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    /// <summary>
    /// Inputs prepared as tensors over the rows' values (as a server holding a request batch would
    /// have them), 64 different batches in turn; only the probability is asked for, so ONNX Runtime
    /// runs just the nodes it needs.
    /// </summary>
    private static (double RowsPerSecond, double P99Microseconds) TimeOnnxRuntime(string onnxPath, CreditRow[] rows, int batch, int threads)
    {
        using var options = new SessionOptions { IntraOpNumThreads = threads, InterOpNumThreads = 1 };
        using var session = new InferenceSession(onnxPath, options);
        var inputs = session.InputMetadata.Keys.ToArray();
        var feeds = Enumerable.Range(0, 64).Select(k => Feed(rows, k * batch, batch, inputs)).ToArray();
        try
        {
            using var runOptions = new RunOptions();
            string[] wanted = ["Probability.output"];
            return Time(batch, rows.Length, start =>
            {
                using var outputs = session.Run(runOptions, inputs, feeds[start / batch % feeds.Length], wanted);
                _ = outputs[0].GetTensorDataAsSpan<float>()[0];
            });
        }
        finally
        {
            foreach (var value in feeds.SelectMany(f => f))
            {
                value.Dispose();
            }
        }
    }

    private static (double RowsPerSecond, double P99Microseconds) Time(int batch, int rowCount, Action<int> call)
    {
        for (var i = 0; i < 200; i++)
        {
            call(i * batch % rowCount);
        }

        var latencies = new List<double>();
        var clock = Stopwatch.StartNew();
        var rows = 0L;
        while (clock.Elapsed < Measure)
        {
            var started = Stopwatch.GetTimestamp();
            call((int)(rows % rowCount));
            latencies.Add(Stopwatch.GetElapsedTime(started).TotalMicroseconds);
            rows += batch;
        }

        latencies.Sort();
        return (rows / clock.Elapsed.TotalSeconds, latencies[(int)(latencies.Count * 0.99)]);
    }

    private static OrtValue[] Feed(CreditRow[] rows, int start, int batch, string[] inputs) =>
        [.. inputs.Select(name =>
        {
            var property = typeof(CreditRow).GetProperty(name == "default.payment.next.month" ? nameof(CreditRow.Default) : name)!;
            var values = Enumerable.Range(start, batch).Select(i => property.GetValue(rows[i % rows.Length])!).ToArray();
            long[] shape = [batch, 1];
            return property.PropertyType == typeof(bool)
                ? OrtValue.CreateTensorValueFromMemory(values.Cast<bool>().ToArray(), shape)
                : OrtValue.CreateTensorValueFromMemory(values.Cast<float>().ToArray(), shape);
        })];

#pragma warning disable CA1707 // The property names are the dataset's column names.
    public sealed class CreditRow
    {
        public float LIMIT_BAL { get; set; }

        public float SEX { get; set; }

        public float EDUCATION { get; set; }

        public float MARRIAGE { get; set; }

        public float AGE { get; set; }

        public float PAY_0 { get; set; }

        public float PAY_2 { get; set; }

        public float PAY_3 { get; set; }

        public float PAY_4 { get; set; }

        public float PAY_5 { get; set; }

        public float PAY_6 { get; set; }

        public float BILL_AMT1 { get; set; }

        public float BILL_AMT2 { get; set; }

        public float BILL_AMT3 { get; set; }

        public float BILL_AMT4 { get; set; }

        public float BILL_AMT5 { get; set; }

        public float BILL_AMT6 { get; set; }

        public float PAY_AMT1 { get; set; }

        public float PAY_AMT2 { get; set; }

        public float PAY_AMT3 { get; set; }

        public float PAY_AMT4 { get; set; }

        public float PAY_AMT5 { get; set; }

        public float PAY_AMT6 { get; set; }

        [ColumnName("default.payment.next.month")]
        public bool Default { get; set; }
    }
#pragma warning restore CA1707

    public sealed class CreditPrediction
    {
        public float Probability { get; set; }
    }
}
