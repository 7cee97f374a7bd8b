using EdgeGreen.ControlPlane.Core.Storage;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace EdgeGreen.ControlPlane.Core.Monitoring;

/// <summary>
/// Runs a registered ONNX model over its reference rows on the control plane's CPU (once per model
/// version and dataset: what <see cref="ReferenceProfiles"/> keeps), in batches, one thread.
/// Inputs are fed as the model declares them: float or double, one column per input.
/// </summary>
public sealed class OnnxReferencePredictor(ContentStore content) : IReferencePredictor
{
    private const int BatchRows = 4096;

    public Task<IReadOnlyList<double>> PredictAsync(string modelSha256, IReadOnlyDictionary<string, double[]> inputs, string output, CancellationToken cancellationToken) =>
        Task.Run<IReadOnlyList<double>>(() =>
        {
            byte[] model;
            using (var stream = content.OpenRead(modelSha256) ?? throw new InvalidOperationException($"The model {modelSha256} is not in the content store."))
            using (var copy = new MemoryStream())
            {
                stream.CopyTo(copy);
                model = copy.ToArray();
            }

            try
            {
                using var options = new SessionOptions { IntraOpNumThreads = 1, InterOpNumThreads = 1 };
                using var session = new InferenceSession(model, options);
                var rows = inputs.Values.First().Length;
                var predictions = new List<double>(rows);
                for (var start = 0; start < rows; start += BatchRows)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    var count = Math.Min(BatchRows, rows - start);
                    var feeds = session.InputMetadata.Select(m => Feed(m.Key, m.Value, inputs, start, count)).ToList();
                    using var results = session.Run(feeds, [output]);
                    predictions.AddRange(LastColumn(results[0], count));
                }

                return predictions;
            }
            catch (OnnxRuntimeException ex)
            {
                throw new InvalidOperationException($"ONNX Runtime could not run the model over its reference: {ex.Message}", ex);
            }
        }, cancellationToken);

    private static NamedOnnxValue Feed(string name, NodeMetadata metadata, IReadOnlyDictionary<string, double[]> inputs, int start, int count)
    {
        var values = inputs.TryGetValue(name, out var column) ? column : throw new InvalidOperationException($"The reference has no column for input '{name}'.");
        int[] shape = [count, 1];
        return metadata.ElementType == typeof(double)
            ? NamedOnnxValue.CreateFromTensor(name, new DenseTensor<double>(values.AsMemory(start, count), shape))
            : metadata.ElementType == typeof(float)
                ? NamedOnnxValue.CreateFromTensor(name, new DenseTensor<float>(values.Skip(start).Take(count).Select(v => (float)v).ToArray(), shape))
                : throw new InvalidOperationException($"Input '{name}' takes {metadata.ElementType.Name}; only float and double inputs are fed from a reference.");
    }

    /// <summary>Per row, the output's last value: a two-column probability's positive class, or the one score.</summary>
    private static IEnumerable<double> LastColumn(DisposableNamedOnnxValue result, int rows)
    {
        var values = result.Value switch
        {
            Tensor<float> floats => floats.ToArray().Select(v => (double)v).ToArray(),
            Tensor<double> doubles => doubles.ToArray(),
            _ => throw new InvalidOperationException($"Output '{result.Name}' is not a float tensor."),
        };
        var width = values.Length / rows;
        return Enumerable.Range(0, rows).Select(r => values[(r * width) + width - 1]);
    }
}
