using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace EdgeGreen.Agent.Serving;

/// <summary>
/// What the Open Inference Protocol's transports (REST in JSON or with binary tensors, gRPC with
/// typed or raw contents) share: the tensor datatypes, model lookup, metadata, and one inference
/// with its checks and counts. A transport only reads its inputs' data and writes the outputs.
/// </summary>
internal static class ModelInference
{
    /// <summary>The spec's platform name for an ONNX model run by ONNX Runtime ("Platforms" in the protocol).</summary>
    public const string Platform = "onnx_onnxv1";

    /// <summary>The server name in server metadata.</summary>
    public const string ServerName = "edgegreen-agent";

    /// <summary>The most values one tensor may hold: each takes at least a byte of a body bounded by <see cref="OpenInferenceProtocol.MaxBodyBytes"/>.</summary>
    public const long MaxValues = OpenInferenceProtocol.MaxBodyBytes;

    public static readonly string ServerVersion =
        typeof(ModelInference).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown";

    private static readonly ElementType[] Elements =
    [
        new(typeof(float), "FP32", 4), new(typeof(double), "FP64", 8),
        new(typeof(sbyte), "INT8", 1), new(typeof(short), "INT16", 2), new(typeof(int), "INT32", 4), new(typeof(long), "INT64", 8),
        new(typeof(byte), "UINT8", 1), new(typeof(ushort), "UINT16", 2), new(typeof(uint), "UINT32", 4), new(typeof(ulong), "UINT64", 8),
        new(typeof(bool), "BOOL", 1), new(typeof(string), "BYTES", 0),
    ];

    /// <summary>The protocol's datatype of an ONNX element type (its .NET name where the protocol has none).</summary>
    public static string Datatype(Type type) => Array.Find(Elements, e => e.Type == type)?.Datatype ?? type.Name;

    /// <summary>The request header (gRPC metadata: its lower-case form) whose value picks a split deployment's version.</summary>
    public const string RequestKeyHeader = "EdgeGreen-Request-Key";

    /// <summary>
    /// Runs <paramref name="use"/> on the served model (a deployment's version chosen by
    /// <paramref name="requestKey"/>, see <see cref="ServedModels.Find(string, string?, Func{string?})"/>),
    /// which stays loaded until it returns; 404 when it is not served (or is closing).
    /// </summary>
    public static async Task<T> UseAsync<T>(ServedModels models, string name, string? version, Func<string?> requestKey, Func<ServedModel, Task<T>> use)
    {
        var model = models.Find(name, version, requestKey);
        if (model is null || !model.TryEnter())
        {
            throw new InferenceException(404, version is null
                ? $"Model '{name}' is not served on this agent."
                : $"Model '{name}' version {version} is not served on this agent.");
        }

        try
        {
            return await use(model);
        }
        finally
        {
            model.Exit();
        }
    }

    /// <summary>A key for a request that brings none: requests without a key spread by weight, unsticky.</summary>
    public static string RandomKey() => Guid.NewGuid().ToString("N");

    /// <summary>The model's tensor inputs or outputs as the protocol describes them; -1 is a dimension of any size.</summary>
    public static IEnumerable<(string Name, string Datatype, long[] Shape)> Tensors(IReadOnlyDictionary<string, NodeMetadata> metadata) =>
        metadata.Where(t => t.Value.IsTensor).Select(t => (t.Key, Datatype(t.Value.ElementType), t.Value.Dimensions.Select(d => (long)d).ToArray()));

    /// <summary>
    /// One inference: checks the inputs against the model, decodes their data, runs the session on
    /// the outputs asked for (every tensor output when none are), and lets <paramref name="answer"/>
    /// write the results while they are alive. Counts the request as answered or failed, and, when
    /// the model is monitored, hands its inputs and outputs to the monitor (with the protocol's
    /// <paramref name="requestId"/>, which the prediction log keys on).
    /// </summary>
    public static T Infer<T>(ServedModel model, string? requestId, IReadOnlyList<InferenceInput> inputs, IReadOnlyList<string>? outputs, Func<InferenceResults, T> answer)
    {
        var started = Stopwatch.GetTimestamp();
        var (threadCpu, processCpu) = (CpuClock.ThreadMicroseconds(), CpuClock.ProcessMicroseconds());
        try
        {
            var session = model.Session;
            var monitor = model.TrafficMonitor;
            var feeds = new List<NamedOnnxValue>();
            var decoded = monitor is null ? null : new List<(string Name, Array Values)>(inputs.Count);
            long rows = 1;
            foreach (var input in inputs)
            {
                var (value, values, shape) = Decode(input, session.InputMetadata, feeds);
                feeds.Add(value);
                decoded?.Add((input.Name, values));

                // The inferences a request asks for: the first input's leading dimension.
                rows = feeds.Count == 1 && shape.Length > 0 ? shape[0] : rows;
            }

            if (session.InputMetadata.Keys.Except(feeds.Select(f => f.Name)).ToList() is { Count: > 0 } missing)
            {
                throw new InferenceException(400, $"Missing input(s): {string.Join(", ", missing)}.");
            }

            var tensorOutputs = session.OutputMetadata.Where(o => o.Value.IsTensor).Select(o => o.Key).ToList();
            var wanted = outputs is null ? tensorOutputs : Requested(outputs, session.OutputMetadata);

            // Maps and sequences (a ZipMap's output) have no tensor form in the protocol.
            IReadOnlyList<string> skipped = outputs is null ? [.. session.OutputMetadata.Keys.Except(tensorOutputs)] : [];

            // The monitored outputs are computed whatever the request asks for, and answered only if it asks.
            var run = monitor is null || outputs is null ? wanted : [.. wanted.Union(monitor.OutputNames, StringComparer.Ordinal)];
            using var results = session.Run(feeds, run);
            var computed = results.Select(Output).ToList();
            var answered = answer(new InferenceResults(run.Count == wanted.Count ? computed : computed[..wanted.Count], skipped));
            model.Answered(rows, started);
            monitor?.Record(requestId, rows, decoded!, computed);
            return answered;
        }
        catch (InferenceException)
        {
            model.Failed();
            throw;
        }
        catch (OnnxRuntimeException ex)
        {
            model.Failed();
            throw new InferenceException(400, $"ONNX Runtime could not run the request: {ex.Message}");
        }
        finally
        {
            model.UsedCpu(threadCpu, processCpu, started);
        }
    }

    /// <summary>Whether the protocol carries the output: a tensor of an element type it has.</summary>
    public static bool Carries(NodeMetadata output) => output.IsTensor && Array.Exists(Elements, e => e.Type == output.ElementType);

    private static List<string> Requested(IReadOnlyList<string> names, IReadOnlyDictionary<string, NodeMetadata> metadata)
    {
        if (names.Count == 0)
        {
            throw new InferenceException(400, "outputs, when given, names at least one output.");
        }

        foreach (var name in names)
        {
            if (!metadata.TryGetValue(name, out var meta))
            {
                throw new InferenceException(400, $"Each output is {{name}}, one of: {string.Join(", ", metadata.Keys)}.");
            }

            if (!meta.IsTensor)
            {
                throw new InferenceException(400, $"Output '{name}' is not a tensor, which the protocol cannot carry.");
            }
        }

        return [.. names];
    }

    private static (NamedOnnxValue Value, Array Values, int[] Shape) Decode(InferenceInput input, IReadOnlyDictionary<string, NodeMetadata> metadata, List<NamedOnnxValue> earlier)
    {
        var name = input.Name;
        if (!metadata.TryGetValue(name, out var meta))
        {
            throw new InferenceException(400, $"The model has no input '{name}'; its inputs are {string.Join(", ", metadata.Keys)}.");
        }

        if (earlier.Any(f => f.Name == name))
        {
            throw new InferenceException(400, $"Input '{name}' is given twice.");
        }

        var element = Array.Find(Elements, e => e.Type == meta.ElementType)
            ?? throw new InferenceException(400, $"Input '{name}' has element type {meta.ElementType.Name}, which this endpoint does not take.");
        if (input.Datatype != element.Datatype)
        {
            throw new InferenceException(400, $"Input '{name}' is {element.Datatype} in the model; the request says {input.Datatype ?? "nothing"}.");
        }

        var shape = Shape(name, input.Shape, meta);
        var count = shape.Aggregate(1L, (product, dimension) => Math.Min(product * dimension, MaxValues + 1));
        if (count > MaxValues)
        {
            throw new InferenceException(400, $"Input '{name}' has shape [{string.Join(", ", shape)}], more than {MaxValues} values.");
        }

        var values = input.Read(element, (int)count);
        if (values.Length != count)
        {
            throw new InferenceException(400, $"Input '{name}' has shape [{string.Join(", ", shape)}] ({count} values) but {values.Length} values.");
        }

        return (Create(name, values, shape), values, shape);
    }

    private static int[] Shape(string name, IReadOnlyList<long>? shape, NodeMetadata meta)
    {
        if (shape is null || shape.Any(v => v is < 0 or > int.MaxValue))
        {
            throw new InferenceException(400, $"Input '{name}' needs a shape: an array of non-negative integers.");
        }

        var declared = meta.Dimensions;
        if (shape.Count != declared.Length || shape.Zip(declared).Any(p => p.Second > 0 && p.First != p.Second))
        {
            throw new InferenceException(400,
                $"Input '{name}' has shape [{string.Join(", ", shape)}]; the model takes [{string.Join(", ", declared.Select(v => v > 0 ? v.ToString(CultureInfo.InvariantCulture) : "-1"))}] (-1: any size).");
        }

        return [.. shape.Select(v => (int)v)];
    }

    private static NamedOnnxValue Create(string name, Array values, int[] shape) => values switch
    {
        float[] v => NamedOnnxValue.CreateFromTensor(name, new DenseTensor<float>(v, shape)),
        double[] v => NamedOnnxValue.CreateFromTensor(name, new DenseTensor<double>(v, shape)),
        sbyte[] v => NamedOnnxValue.CreateFromTensor(name, new DenseTensor<sbyte>(v, shape)),
        short[] v => NamedOnnxValue.CreateFromTensor(name, new DenseTensor<short>(v, shape)),
        int[] v => NamedOnnxValue.CreateFromTensor(name, new DenseTensor<int>(v, shape)),
        long[] v => NamedOnnxValue.CreateFromTensor(name, new DenseTensor<long>(v, shape)),
        byte[] v => NamedOnnxValue.CreateFromTensor(name, new DenseTensor<byte>(v, shape)),
        ushort[] v => NamedOnnxValue.CreateFromTensor(name, new DenseTensor<ushort>(v, shape)),
        uint[] v => NamedOnnxValue.CreateFromTensor(name, new DenseTensor<uint>(v, shape)),
        ulong[] v => NamedOnnxValue.CreateFromTensor(name, new DenseTensor<ulong>(v, shape)),
        bool[] v => NamedOnnxValue.CreateFromTensor(name, new DenseTensor<bool>(v, shape)),
        string[] v => NamedOnnxValue.CreateFromTensor(name, new DenseTensor<string>(v, shape)),
        _ => throw new InferenceException(400, $"Input '{name}' has element type {values.GetType().GetElementType()?.Name}, which this endpoint does not take."),
    };

    private static OutputTensor Output(DisposableNamedOnnxValue result) => result.Value switch
    {
        Tensor<float> t => Output(result.Name, t),
        Tensor<double> t => Output(result.Name, t),
        Tensor<sbyte> t => Output(result.Name, t),
        Tensor<short> t => Output(result.Name, t),
        Tensor<int> t => Output(result.Name, t),
        Tensor<long> t => Output(result.Name, t),
        Tensor<byte> t => Output(result.Name, t),
        Tensor<ushort> t => Output(result.Name, t),
        Tensor<uint> t => Output(result.Name, t),
        Tensor<ulong> t => Output(result.Name, t),
        Tensor<bool> t => Output(result.Name, t),
        Tensor<string> t => Output(result.Name, t),
        _ => throw new InferenceException(400, $"Output '{result.Name}' has element type {result.ElementType}, which this endpoint does not send; ask for the others with outputs."),
    };

    private static OutputTensor Output<T>(string name, Tensor<T> tensor)
    {
        var dense = tensor as DenseTensor<T> ?? tensor.ToDenseTensor();
        return new OutputTensor(name, Array.Find(Elements, e => e.Type == typeof(T))!, [.. dense.Dimensions.ToArray().Select(d => (long)d)], dense.Buffer.ToArray());
    }
}

/// <summary>A tensor element type: its .NET type, the protocol's datatype, and its size in bytes (0: variable, BYTES).</summary>
internal sealed record ElementType(Type Type, string Datatype, int Size);

/// <summary>
/// One input as a transport gives it. <see cref="Read"/> decodes its data into an array of the
/// model input's element type once that is known, given the number of values its shape holds.
/// </summary>
internal sealed record InferenceInput(string Name, string? Datatype, IReadOnlyList<long>? Shape, Func<ElementType, int, Array> Read);

/// <summary>An output of an inference: its values flat, in row-major order.</summary>
internal sealed record OutputTensor(string Name, ElementType Type, long[] Shape, Array Values);

/// <summary>The outputs of an inference, and the model outputs left out because the protocol cannot carry them.</summary>
internal sealed record InferenceResults(IReadOnlyList<OutputTensor> Outputs, IReadOnlyList<string> Skipped);

/// <summary>A request the protocol refuses: the HTTP status it answers with (a transport maps it to its own codes) and why.</summary>
internal sealed class InferenceException(int status, string message) : Exception(message)
{
    public int Status => status;
}
