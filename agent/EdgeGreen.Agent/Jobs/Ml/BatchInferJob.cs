using System.Globalization;
using System.Text;
using EdgeGreen.Shared.Datasets;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using EdgeGreen.Shared.Jobs;

namespace EdgeGreen.Agent.Jobs.Ml;

/// <summary>
/// <c>batch-infer</c>: runs a registered ONNX model over every row of a dataset with ONNX Runtime
/// and uploads the predictions as a CSV, which the control plane registers as a new dataset.
/// Parameters: <c>model</c> (<c>models:/name/3</c> or <c>models:/name@alias</c>; the control plane
/// adds <c>modelSha256</c>), <c>dataset</c> (name or name:version; it adds <c>datasetSha256</c>),
/// <c>output</c> (the predictions dataset's name), <c>batchSize</c> (default 1024). Each model
/// input is fed from the dataset column of the same name; an input with no column (a training
/// label, say) gets zeros. The predictions CSV has <c>row</c> (1-based, the input row) and one
/// column per output value, named after the output (<c>Probability</c>, <c>Score_0</c>, …).
/// </summary>
public sealed class BatchInferJob : IJobKind
{

    public JobKind Spec => JobKinds.BatchInfer;

    public async Task RunAsync(JobExecution execution, CancellationToken cancellationToken)
    {
        var (modelPath, datasetPath, tracking) = await ModelJobs.PrepareAsync(this, execution, cancellationToken);
        var csvPath = datasetPath!;
        using var tracked = tracking;
        execution.ReportPhase("inferring");
        var predictions = Path.Combine(execution.WorkDirectory, "predictions.csv");
        var batchSize = int.Parse(execution.Parameters.GetValueOrDefault("batchSize", "1024"), CultureInfo.InvariantCulture);
        var rows = await Task.Run(() => Infer(modelPath, csvPath, predictions, batchSize, execution.ReportProgress, cancellationToken, execution.InferenceProvider), cancellationToken);

        execution.ReportPhase("uploading predictions");
        var (sha, size) = await execution.Artifacts!.UploadAsync(predictions, cancellationToken);
        var output = execution.Output;
        (output.Status, output.ArtifactSha256, output.ArtifactSizeBytes) = ("READY", sha, size);
        output.Details["output"] = execution.Parameters["output"];
        output.Details["rows"] = rows.ToString(CultureInfo.InvariantCulture);
        output.Details["executionProvider"] = execution.InferenceProvider;
        output.Metrics["rows"] = rows;
        output.Metrics["inferences"] = rows;
        execution.ReportProgress(1);
    }

    /// <summary>Streams the CSV through the model in batches and writes one prediction row per input row.</summary>
    internal static long Infer(string modelPath, string csvPath, string predictionsPath, int batchSize, Action<double> progress, CancellationToken cancellationToken,
        string provider = InferenceProviders.Cpu)
    {
        using var options = InferenceProviders.Options(provider);
        using var session = new InferenceSession(modelPath, options);

        // One pass over the file: progress is the share of its bytes read.
        var file = File.OpenRead(csvPath);
        var length = Math.Max(1, file.Length);
        using var parser = DatasetSchema.OpenCsv(file, out var columns);
        var index = DatasetSchema.IndexOf(columns);
        using var writer = new StreamWriter(predictionsPath, false, new UTF8Encoding(false));
        string[]? header = null;
        long done = 0;
        var batch = new List<string[]>(batchSize);
        while (true)
        {
            var fields = DatasetSchema.ReadRow(parser);
            if (fields is not null)
            {
                batch.Add(fields);
            }

            if (batch.Count == batchSize || (fields is null && batch.Count > 0))
            {
                cancellationToken.ThrowIfCancellationRequested();
                using var results = session.Run([.. session.InputMetadata.Select(m => Feed(m.Key, m.Value, batch, index))]);
                var outputs = Predictions(results);
                if (header is null)
                {
                    header = ["row", .. outputs.SelectMany(o => o.Width == 1 ? [o.Name] : Enumerable.Range(0, o.Width).Select(k => $"{o.Name}_{k}"))];
                    writer.WriteLine(string.Join(',', header));
                }

                for (var r = 0; r < batch.Count; r++)
                {
                    var line = new StringBuilder((done + r + 1).ToString(CultureInfo.InvariantCulture));
                    foreach (var (_, width, cells) in outputs)
                    {
                        for (var k = 0; k < width; k++)
                        {
                            line.Append(',').Append(cells[(r * width) + k]);
                        }
                    }

                    writer.WriteLine(line);
                }

                done += batch.Count;
                batch.Clear();
                progress(0.1 + (0.8 * Math.Min(1, (double)file.Position / length)));
            }

            if (fields is null)
            {
                return done;
            }
        }
    }

    /// <summary>
    /// The prediction outputs as CSV cells, row-major with the output's width per row: numbers in
    /// round-trip form, booleans as 0/1, text (a multiclass model's label) quoted where it must be.
    /// A model exported by ML.NET also outputs every column it computed; of those only
    /// PredictedLabel, Score and Probability are predictions.
    /// </summary>
    private static List<(string Name, int Width, string[] Cells)> Predictions(IEnumerable<DisposableNamedOnnxValue> results)
    {
        var all = results.Select(r => (Name: r.Name.EndsWith(".output", StringComparison.Ordinal) ? r.Name[..^".output".Length] : r.Name, r.Value)).ToList();
        var fromMlNet = all.Any(r => r.Name == "Score");
        var found = new List<(string, int, string[])>();
        foreach (var (name, value) in all.Where(r => !fromMlNet || r.Name is "PredictedLabel" or "Score" or "Probability"))
        {
            (int Width, string[] Cells)? cells = value switch
            {
                Tensor<float> floats => Cells(floats, v => v.ToString("R", CultureInfo.InvariantCulture)),
                Tensor<bool> flags => Cells(flags, f => f ? "1" : "0"),
                Tensor<long> whole => Cells(whole, w => w.ToString(CultureInfo.InvariantCulture)),
                Tensor<string> text => Cells(text, Quoted),
                _ => null,
            };
            if (cells is not null)
            {
                found.Add((name, cells.Value.Width, cells.Value.Cells));
            }
        }

        return found;
    }

    private static (int Width, string[] Cells) Cells<T>(Tensor<T> values, Func<T, string> format) =>
        (values.Dimensions.Length <= 1 ? 1 : (int)(values.Length / values.Dimensions[0]), [.. values.Select(format)]);

    private static string Quoted(string text) =>
        text.AsSpan().IndexOfAny(",\"\r\n") < 0 ? text : $"\"{text.Replace("\"", "\"\"", StringComparison.Ordinal)}\"";

    internal static NamedOnnxValue Feed(string name, NodeMetadata metadata, List<string[]> batch, Dictionary<string, int> index)
    {
        int[] shape = [batch.Count, 1];
        var column = index.TryGetValue(name, out var i) ? i : -1;
        string Field(string[] row) => column >= 0 ? row[column] : "";
        if (metadata.ElementType == typeof(float))
        {
            return NamedOnnxValue.CreateFromTensor(name, new DenseTensor<float>(batch.Select(r => float.TryParse(Field(r), NumberStyles.Float, CultureInfo.InvariantCulture, out var v) ? v : column >= 0 ? float.NaN : 0f).ToArray(), shape));
        }

        if (metadata.ElementType == typeof(bool))
        {
            return NamedOnnxValue.CreateFromTensor(name, new DenseTensor<bool>(batch.Select(r => Field(r).ToLowerInvariant() is "1" or "true" or "yes").ToArray(), shape));
        }

        if (metadata.ElementType == typeof(string))
        {
            return NamedOnnxValue.CreateFromTensor(name, new DenseTensor<string>(batch.Select(Field).ToArray(), shape));
        }

        throw new NotSupportedException($"The model input '{name}' has element type {metadata.ElementType.Name}; batch-infer feeds float, bool and string inputs from CSV columns.");
    }
}
