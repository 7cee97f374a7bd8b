using System.Diagnostics;
using System.Globalization;
using EdgeGreen.Shared.Datasets;
using EdgeGreen.Agent.Jobs.Ml;
using Microsoft.ML;
using Microsoft.ML.Data;
using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using Onnx;

namespace EdgeGreen.Benchmarks;

/// <summary>
/// ONNX Runtime against ML.NET's PredictionEngine on the same model, in the same run: the credit
/// default models EdgeGreen's <c>train</c> kind makes with each of its trainers (FastTree, LightGBM,
/// SDCA; 23 features), trained here, exported to ONNX and verified as the job does. Single rows
/// (one call per row) and batches of 64 (one ONNX Runtime call per batch; 64 PredictionEngine
/// calls, since it has no batch API), each for a fixed time after a warm-up, on validation rows;
/// ONNX Runtime with one intra-op thread and with all cores (PredictionEngine has one), on the
/// simplified graph the job serves and, at batch 64, on the graph as ML.NET's converter wrote it;
/// throughput in rows/s and the 99th percentile of the time per call (per row or per batch of 64).
/// "Predictor alone" runs only the model's tree ensemble or linear operator on the feature matrix:
/// no graph of the model can be faster, so it bounds what any rewrite could gain.
/// </summary>
public static class InferenceBenchmark
{
    private const string PredictorInput = "features";
    private const int Rounds = 10;
    private static readonly TimeSpan Duration = TimeSpan.FromSeconds(5);
    private static readonly System.Reflection.PropertyInfo[] FeatureProperties = [.. typeof(CreditRow).GetProperties().Where(p => p.PropertyType == typeof(float))];

    public static void Run(string? csvPath)
    {
        csvPath ??= Path.Combine(AppContext.BaseDirectory, "Datasets", "Sample", "UCI_Credit_Card.csv");
        var work = Directory.CreateTempSubdirectory("edgegreen-inference-").FullName;
        try
        {
            var (columns, _) = DatasetSchema.Infer(csvPath);
            int[] threadCounts = Environment.ProcessorCount > 1 ? [1, Environment.ProcessorCount] : [1];
            Console.WriteLine($"Credit default model, validation rows cycled, {Duration.TotalSeconds:0} s per case in {Rounds} interleaved rounds (medians); PredictionEngine on one thread, ONNX Runtime with {string.Join(" and ", threadCounts)} intra-op thread(s):");
            Console.WriteLine();
            Console.WriteLine("| trainer (validation AUC) | graph | batch | ONNX Runtime threads | ML.NET PredictionEngine rows/s | ONNX Runtime rows/s | ONNX Runtime ÷ ML.NET | ML.NET p99 per call | ONNX Runtime p99 per call |");
            Console.WriteLine("|---|---|---:|---:|---:|---:|---:|---:|---:|");
            foreach (var trainerName in new[] { "fasttree", "lightgbm", "sdca" })
            {
                var spec = TrainingSpec.From(new Dictionary<string, string>
                {
                    ["dataset"] = "credit", ["label"] = "default.payment.next.month", ["task"] = "binary", ["trainer"] = trainerName, ["ignore"] = "ID",
                }, columns);
                var trainer = new TabularTrainer(spec, _ => { }, _ => { });
                var served = Path.Combine(work, $"credit-{trainerName}.onnx");
                var result = trainer.Train(csvPath, served, CancellationToken.None);
                if (result.VerificationProblem is { } problem)
                {
                    throw new InvalidOperationException(problem);
                }

                var (ml, model, validation) = trainer.Fit(csvPath, CancellationToken.None);
                var rows = ml.Data.CreateEnumerable<CreditRow>(ml.Data.TakeRows(validation, 4096), reuseRowObject: false).ToArray();

                // The same model as ML.NET's converter writes it, before EdgeGreen simplifies the graph.
                var exported = Path.Combine(work, $"credit-{trainerName}-mlnet.onnx");
                using (var file = File.Create(exported))
                {
                    ml.Model.ConvertToOnnx(model, ml.Data.TakeRows(validation, 100), file, "PredictedLabel", "Score", "Probability");
                }

                var engine = ml.Model.CreatePredictionEngine<CreditRow, CreditPrediction>(model);
                var predictor = PredictorOnly(served);
                foreach (var batch in new[] { 1, 64 })
                {
                    var mlnet = new Case("PredictionEngine", 1, start =>
                    {
                        for (var i = 0; i < batch; i++)
                        {
                            _ = engine.Predict(rows[(start + i) % rows.Length]).Probability;
                        }
                    });
                    var graphs = batch == 64 ? new[] { ("ML.NET's", exported), ("simplified", served), ("predictor alone", predictor) } : [("simplified", served)];
                    var cases = threadCounts.SelectMany(threads => graphs.Select(g => OnnxRuntimeCase(g.Item1, g.Item2, rows, batch, threads))).ToList();
                    try
                    {
                        Measure([mlnet, .. cases], batch, rows.Length);
                        foreach (var ort in cases)
                        {
                            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                                $"| {trainerName} ({result.Metrics["auc"]:F3}) | {ort.Name} | {batch} | {ort.Threads} | {mlnet.RowsPerSecond:N0} | {ort.RowsPerSecond:N0} | **{ort.RatioTo(mlnet):F2}×** | {mlnet.P99Microseconds:N0} µs | {ort.P99Microseconds:N0} µs |"));
                        }
                    }
                    finally
                    {
                        cases.ForEach(c => c.Dispose());
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
    /// ONNX Runtime on one graph: inputs prepared as tensors over the rows' values (as a server
    /// holding a request batch would have them), 64 different batches in turn; only the probability
    /// (or the predictor's output) is asked for.
    /// </summary>
    private static Case OnnxRuntimeCase(string graph, string onnxPath, CreditRow[] rows, int batch, int threads)
    {
        var options = new SessionOptions { IntraOpNumThreads = threads, InterOpNumThreads = 1 };
        var session = new InferenceSession(onnxPath, options);
        var runOptions = new RunOptions();
        var inputs = session.InputMetadata.Keys.ToArray();
        var feeds = Enumerable.Range(0, 64).Select(k => Feed(rows, k * batch, batch, inputs)).ToArray();
        string[] wanted = [session.OutputMetadata.ContainsKey("Probability.output") ? "Probability.output" : session.OutputMetadata.Keys.First()];
        return new Case(graph, threads, start =>
        {
            using var outputs = session.Run(runOptions, inputs, feeds[start / batch % feeds.Length], wanted);
            _ = outputs[0].GetTensorDataAsSpan<float>()[0];
        }, [.. feeds.SelectMany(f => f), runOptions, session, options]);
    }

    /// <summary>
    /// The machine is shared and its speed drifts over seconds, so the cases take turns: after a
    /// warm-up each runs for a short slice per round, round after round, until each has had
    /// <see cref="Duration"/>. A case's throughput is its median over the rounds; its ratio to
    /// another is the median of the ratios within each round (measured seconds apart).
    /// </summary>
    private static void Measure(IReadOnlyList<Case> cases, int batch, int rowCount)
    {
        foreach (var c in cases)
        {
            for (var i = 0; i < 200; i++)
            {
                c.Call(i * batch % rowCount);
            }
        }

        for (var round = 0; round < Rounds; round++)
        {
            foreach (var c in cases)
            {
                var clock = Stopwatch.StartNew();
                var rows = 0L;
                while (clock.Elapsed < Duration / Rounds)
                {
                    var started = Stopwatch.GetTimestamp();
                    c.Call((int)(rows % rowCount));
                    c.Latencies.Add(Stopwatch.GetElapsedTime(started).TotalMicroseconds);
                    rows += batch;
                }

                c.Throughputs.Add(rows / clock.Elapsed.TotalSeconds);
            }
        }
    }

    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
    }

    /// <summary>One way of serving the rows: a call that predicts the batch starting at a row, and what it measured.</summary>
    private sealed class Case(string name, int threads, Action<int> call, IDisposable[]? resources = null) : IDisposable
    {
        public string Name => name;

        public int Threads => threads;

        public Action<int> Call => call;

        public List<double> Latencies { get; } = [];

        public List<double> Throughputs { get; } = [];

        public double RowsPerSecond => Median(Throughputs);

        public double P99Microseconds => Latencies.Order().ElementAt((int)(Latencies.Count * 0.99));

        public double RatioTo(Case other) => Median(Throughputs.Zip(other.Throughputs, (mine, theirs) => mine / theirs));

        public void Dispose()
        {
            foreach (var resource in resources ?? [])
            {
                resource.Dispose();
            }
        }
    }

    /// <summary>
    /// The served model cut down to its predictor operator (the tree ensemble or linear model), fed
    /// the feature matrix directly: what any graph of this model must at least run.
    /// </summary>
    private static string PredictorOnly(string onnxPath)
    {
        var model = ModelProto.Parser.ParseFrom(File.ReadAllBytes(onnxPath));
        var graph = model.Graph;
        var predictor = graph.Node.First(n => n.OpType.EndsWith("Regressor", StringComparison.Ordinal) || n.OpType.EndsWith("Classifier", StringComparison.Ordinal));
        var declared = graph.ValueInfo.Concat(graph.Output).GroupBy(v => v.Name).ToDictionary(g => g.Key, g => g.First());
        var features = new ValueInfoProto { Name = PredictorInput, Type = declared[predictor.Input[0]].Type };
        predictor.Input[0] = PredictorInput;
        var outputs = predictor.Output.Select(name => declared[name]).ToList();
        graph.Node.Clear();
        graph.Node.Add(predictor);
        graph.Input.Clear();
        graph.Input.Add(features);
        graph.Output.Clear();
        graph.Output.Add(outputs);
        graph.ValueInfo.Clear();
        graph.Initializer.Clear();
        var path = Path.ChangeExtension(onnxPath, ".predictor.onnx");
        File.WriteAllBytes(path, model.ToByteArray());
        return path;
    }

    private static OrtValue[] Feed(CreditRow[] rows, int start, int batch, string[] inputs) => inputs is [PredictorInput]
        ? [OrtValue.CreateTensorValueFromMemory(Enumerable.Range(start, batch).SelectMany(i => Features(rows[i % rows.Length])).ToArray(), [batch, FeatureProperties.Length])]
        : [.. inputs.Select(name =>
        {
            var property = typeof(CreditRow).GetProperty(name == "default.payment.next.month" ? nameof(CreditRow.Default) : name)!;
            var values = Enumerable.Range(start, batch).Select(i => property.GetValue(rows[i % rows.Length])!).ToArray();
            long[] shape = [batch, 1];
            return property.PropertyType == typeof(bool)
                ? OrtValue.CreateTensorValueFromMemory(values.Cast<bool>().ToArray(), shape)
                : OrtValue.CreateTensorValueFromMemory(values.Cast<float>().ToArray(), shape);
        })];

    /// <summary>The model's feature vector for a row: its numeric columns in the dataset's order (the credit data has no missing values to impute).</summary>
    private static IEnumerable<float> Features(CreditRow row) => FeatureProperties.Select(p => (float)p.GetValue(row)!);

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
