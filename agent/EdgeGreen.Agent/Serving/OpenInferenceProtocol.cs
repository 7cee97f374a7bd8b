using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using System.Text.Json;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace EdgeGreen.Agent.Serving;

/// <summary>
/// The Open Inference Protocol (KServe v2) over REST for the models this agent serves, so existing
/// clients (KServe's and Triton's) work unchanged:
/// <c>GET /v2</c>, <c>GET /v2/health/live</c>, <c>GET /v2/health/ready</c>,
/// <c>GET /v2/models/{name}[/versions/{version}]</c> (metadata),
/// <c>GET /v2/models/{name}[/versions/{version}]/ready</c> and
/// <c>POST /v2/models/{name}[/versions/{version}]/infer</c>. Without a version the highest served
/// version answers. Tensors travel as <c>{name, shape, datatype, data}</c> with the data flat or
/// nested in row-major order; datatypes FP32, FP64, INT8–INT64, UINT8–UINT64, BOOL and BYTES
/// (strings). Errors are <c>{"error": "..."}</c> with 400 (bad request), 404 (no such model or
/// path), 405 (wrong method) or 413 (body too large). The transport is the host's: the agent's
/// HTTP endpoint, or the control plane's in the single-node run.
/// </summary>
public sealed class OpenInferenceProtocol(ServedModels models)
{
    /// <summary>The largest request body read, in bytes.</summary>
    public const int MaxBodyBytes = 64 * 1024 * 1024;

    private const string Platform = "onnxruntime_onnx";

    private static readonly Dictionary<Type, string> Datatypes = new()
    {
        [typeof(float)] = "FP32", [typeof(double)] = "FP64",
        [typeof(sbyte)] = "INT8", [typeof(short)] = "INT16", [typeof(int)] = "INT32", [typeof(long)] = "INT64",
        [typeof(byte)] = "UINT8", [typeof(ushort)] = "UINT16", [typeof(uint)] = "UINT32", [typeof(ulong)] = "UINT64",
        [typeof(bool)] = "BOOL", [typeof(string)] = "BYTES",
    };

    /// <summary>How each element type's output tensor is written: its shape, then its data.</summary>
    private static readonly Dictionary<Type, Action<Utf8JsonWriter, DisposableNamedOnnxValue>> Writers = new()
    {
        [typeof(float)] = (w, r) => Write(w, r.AsTensor<float>(), (x, v) => Number(x, v, float.IsFinite(v))),
        [typeof(double)] = (w, r) => Write(w, r.AsTensor<double>(), (x, v) => Number(x, v, double.IsFinite(v))),
        [typeof(sbyte)] = (w, r) => Write(w, r.AsTensor<sbyte>(), (x, v) => x.WriteNumberValue(v)),
        [typeof(short)] = (w, r) => Write(w, r.AsTensor<short>(), (x, v) => x.WriteNumberValue(v)),
        [typeof(int)] = (w, r) => Write(w, r.AsTensor<int>(), (x, v) => x.WriteNumberValue(v)),
        [typeof(long)] = (w, r) => Write(w, r.AsTensor<long>(), (x, v) => x.WriteNumberValue(v)),
        [typeof(byte)] = (w, r) => Write(w, r.AsTensor<byte>(), (x, v) => x.WriteNumberValue(v)),
        [typeof(ushort)] = (w, r) => Write(w, r.AsTensor<ushort>(), (x, v) => x.WriteNumberValue(v)),
        [typeof(uint)] = (w, r) => Write(w, r.AsTensor<uint>(), (x, v) => x.WriteNumberValue(v)),
        [typeof(ulong)] = (w, r) => Write(w, r.AsTensor<ulong>(), (x, v) => x.WriteNumberValue(v)),
        [typeof(bool)] = (w, r) => Write(w, r.AsTensor<bool>(), (x, v) => x.WriteBooleanValue(v)),
        [typeof(string)] = (w, r) => Write(w, r.AsTensor<string>(), (x, v) => x.WriteStringValue(v)),
    };

    private static readonly string ServerVersion =
        typeof(OpenInferenceProtocol).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown";

    /// <summary>
    /// How much of a body over <see cref="MaxBodyBytes"/> is read, and thrown away, before its 413:
    /// most clients send the whole body before they read the answer, and a connection closed under
    /// them loses the 413 (they see a broken pipe instead).
    /// </summary>
    public const long MaxDiscardBytes = 4L * MaxBodyBytes;

    private static readonly string TooLargeMessage = $"The body is larger than {MaxBodyBytes / (1024 * 1024)} MiB.";

    /// <summary>Answers one request: the status code and the JSON body.</summary>
    public Task<(int Status, byte[] Body)> AnswerAsync(string method, string path, Stream body, CancellationToken cancellationToken) =>
        AnswerAsync(method, path, body, contentLength: null, cancellationToken);

    /// <summary>
    /// Answers one request whose body's declared length is known: one over <see cref="MaxBodyBytes"/>
    /// is refused with 413 without a byte of it kept.
    /// </summary>
    public async Task<(int Status, byte[] Body)> AnswerAsync(string method, string path, Stream body, long? contentLength, CancellationToken cancellationToken)
    {
        if (contentLength > MaxBodyBytes)
        {
            if (contentLength <= MaxDiscardBytes)
            {
                await DiscardAsync(body, cancellationToken);
            }

            return BodyTooLarge();
        }

        string[] segments = [.. path.Trim('/').Split('/').Select(Uri.UnescapeDataString)];
        try
        {
            switch (segments)
            {
                case ["v2"]:
                    Expect(method, "GET");
                    return Ok(w =>
                    {
                        w.WriteString("name", "edgegreen-agent");
                        w.WriteString("version", ServerVersion);
                        w.WriteStartArray("extensions");
                        w.WriteEndArray();
                    });
                case ["v2", "health", "live" or "ready"]:
                    Expect(method, "GET");
                    return Ok(w => w.WriteBoolean(segments[2], true));
                case ["v2", "models", var name, .. var rest]:
                    var (version, action) = rest switch
                    {
                        [] => (null, ""),
                        ["ready" or "infer"] => (null, rest[0]),
                        ["versions", var v] => (v, ""),
                        ["versions", var v, "ready" or "infer"] => (v, rest[2]),
                        _ => throw new ProtocolException(404, $"No such path: {path}."),
                    };
                    var model = models.Find(name, version);
                    if (model is null || !model.TryEnter())
                    {
                        throw new ProtocolException(404, version is null
                            ? $"Model '{name}' is not served on this agent."
                            : $"Model '{name}' version {version} is not served on this agent.");
                    }

                    try
                    {
                        return await AnswerAsync(method, action, model, body, cancellationToken);
                    }
                    finally
                    {
                        model.Exit();
                    }

                default:
                    throw new ProtocolException(404, $"No such path: {path}.");
            }
        }
        catch (ProtocolException ex)
        {
            return (ex.Status, Error(ex.Message));
        }
    }

    private static async Task<(int, byte[])> AnswerAsync(string method, string action, ServedModel model, Stream body, CancellationToken cancellationToken)
    {
        switch (action)
        {
            case "":
                Expect(method, "GET");
                return Ok(w => Metadata(w, model));
            case "ready":
                Expect(method, "GET");
                return Ok(w =>
                {
                    w.WriteString("name", model.Name);
                    w.WriteBoolean("ready", true);
                });
            default:
                Expect(method, "POST");
                return await InferAsync(model, body, cancellationToken);
        }
    }

    private static void Expect(string method, string allowed)
    {
        if (method != allowed)
        {
            throw new ProtocolException(405, $"Use {allowed} here.");
        }
    }

    private static void Metadata(Utf8JsonWriter w, ServedModel model)
    {
        w.WriteString("name", model.Name);
        w.WriteStartArray("versions");
        w.WriteStringValue(model.Version);
        w.WriteEndArray();
        w.WriteString("platform", Platform);
        foreach (var (property, tensors) in new[] { ("inputs", model.Session.InputMetadata), ("outputs", model.Session.OutputMetadata) })
        {
            w.WriteStartArray(property);
            foreach (var (name, metadata) in tensors.Where(t => t.Value.IsTensor))
            {
                w.WriteStartObject();
                w.WriteString("name", name);
                w.WriteString("datatype", Datatypes.GetValueOrDefault(metadata.ElementType, metadata.ElementType.Name));
                w.WriteStartArray("shape");
                foreach (var dimension in metadata.Dimensions)
                {
                    w.WriteNumberValue(dimension);
                }

                w.WriteEndArray();
                w.WriteEndObject();
            }

            w.WriteEndArray();
        }
    }

    private static async Task<(int, byte[])> InferAsync(ServedModel model, Stream body, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        try
        {
            using var request = await ReadAsync(body, cancellationToken);
            var root = request.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("inputs", out var inputs) || inputs.ValueKind != JsonValueKind.Array)
            {
                throw new ProtocolException(400, "The body must be an object with inputs: [{name, shape, datatype, data}].");
            }

            var session = model.Session;
            var feeds = new List<NamedOnnxValue>();
            var rows = 1L;
            foreach (var input in inputs.EnumerateArray())
            {
                var (value, shape) = Input(input, session.InputMetadata, feeds);
                feeds.Add(value);

                // The inferences a request asks for: the first input's leading dimension.
                rows = feeds.Count == 1 && shape.Length > 0 ? shape[0] : rows;
            }

            if (session.InputMetadata.Keys.Except(feeds.Select(f => f.Name)).ToList() is { Count: > 0 } missing)
            {
                throw new ProtocolException(400, $"Missing input(s): {string.Join(", ", missing)}.");
            }

            var tensorOutputs = session.OutputMetadata.Where(o => o.Value.IsTensor).Select(o => o.Key).ToList();
            var wanted = root.TryGetProperty("outputs", out var outputs) ? RequestedOutputs(outputs, session.OutputMetadata) : tensorOutputs;
            using var results = session.Run(feeds, wanted);
            var id = root.TryGetProperty("id", out var idElement) && idElement.ValueKind == JsonValueKind.String ? idElement.GetString() : null;
            var answer = Ok(w =>
            {
                w.WriteString("model_name", model.Name);
                w.WriteString("model_version", model.Version);
                if (id is not null)
                {
                    w.WriteString("id", id);
                }

                if (session.OutputMetadata.Keys.Except(tensorOutputs).ToList() is { Count: > 0 } skipped && wanted == tensorOutputs)
                {
                    // Maps and sequences (a ZipMap's output) have no tensor form in the protocol.
                    w.WriteStartObject("parameters");
                    w.WriteString("skipped_outputs", string.Join(",", skipped));
                    w.WriteEndObject();
                }

                w.WriteStartArray("outputs");
                foreach (var result in results)
                {
                    Output(w, result, session.OutputMetadata[result.Name].ElementType);
                }

                w.WriteEndArray();
            });
            model.Answered(rows, started);
            return answer;
        }
        catch (ProtocolException)
        {
            model.Failed();
            throw;
        }
        catch (OnnxRuntimeException ex)
        {
            model.Failed();
            throw new ProtocolException(400, $"ONNX Runtime could not run the request: {ex.Message}");
        }
    }

    private static async Task<JsonDocument> ReadAsync(Stream body, CancellationToken cancellationToken)
    {
        var buffer = new MemoryStream();
        var chunk = new byte[81920];
        int read;
        while ((read = await body.ReadAsync(chunk, cancellationToken)) > 0)
        {
            if (buffer.Length + read > MaxBodyBytes)
            {
                await DiscardAsync(body, cancellationToken);
                throw new ProtocolException(413, TooLargeMessage);
            }

            buffer.Write(chunk, 0, read);
        }

        try
        {
            return JsonDocument.Parse(buffer.GetBuffer().AsMemory(0, (int)buffer.Length));
        }
        catch (JsonException ex)
        {
            throw new ProtocolException(400, $"The body is not JSON: {ex.Message}");
        }
    }

    /// <summary>Reads the rest of a refused body, up to <see cref="MaxDiscardBytes"/>, keeping none of it.</summary>
    private static async Task DiscardAsync(Stream body, CancellationToken cancellationToken)
    {
        var chunk = new byte[81920];
        long discarded = 0;
        int read;
        while (discarded < MaxDiscardBytes && (read = await body.ReadAsync(chunk, cancellationToken)) > 0)
        {
            discarded += read;
        }
    }

    private static List<string> RequestedOutputs(JsonElement outputs, IReadOnlyDictionary<string, NodeMetadata> metadata)
    {
        if (outputs.ValueKind != JsonValueKind.Array)
        {
            throw new ProtocolException(400, "outputs must be an array of {name}.");
        }

        var names = new List<string>();
        foreach (var output in outputs.EnumerateArray())
        {
            var name = output.ValueKind == JsonValueKind.Object && output.TryGetProperty("name", out var n) && n.ValueKind == JsonValueKind.String ? n.GetString()! : null;
            if (name is null || !metadata.TryGetValue(name, out var meta))
            {
                throw new ProtocolException(400, $"Each output is {{name}}, one of: {string.Join(", ", metadata.Keys)}.");
            }

            if (!meta.IsTensor)
            {
                throw new ProtocolException(400, $"Output '{name}' is not a tensor, which the protocol cannot carry.");
            }

            names.Add(name);
        }

        return names.Count > 0 ? names : throw new ProtocolException(400, "outputs, when given, names at least one output.");
    }

    private static (NamedOnnxValue Value, int[] Shape) Input(JsonElement input, IReadOnlyDictionary<string, NodeMetadata> metadata, List<NamedOnnxValue> earlier)
    {
        var name = input.ValueKind == JsonValueKind.Object && input.TryGetProperty("name", out var n) && n.ValueKind == JsonValueKind.String ? n.GetString()! : null;
        if (name is null)
        {
            throw new ProtocolException(400, "Each input needs a name.");
        }

        if (!metadata.TryGetValue(name, out var meta))
        {
            throw new ProtocolException(400, $"The model has no input '{name}'; its inputs are {string.Join(", ", metadata.Keys)}.");
        }

        if (earlier.Any(f => f.Name == name))
        {
            throw new ProtocolException(400, $"Input '{name}' is given twice.");
        }

        var expected = Datatypes.GetValueOrDefault(meta.ElementType, meta.ElementType.Name);
        var datatype = input.TryGetProperty("datatype", out var d) && d.ValueKind == JsonValueKind.String ? d.GetString() : null;
        if (datatype != expected)
        {
            throw new ProtocolException(400, $"Input '{name}' is {expected} in the model; the request says {datatype ?? "nothing"}.");
        }

        var shape = Shape(name, input, meta);
        if (!input.TryGetProperty("data", out var data) || data.ValueKind != JsonValueKind.Array)
        {
            throw new ProtocolException(400, $"Input '{name}' needs data: an array, flat or nested, in row-major order.");
        }

        var elements = new List<JsonElement>();
        Flatten(data, elements);
        var count = shape.Aggregate(1L, (product, dimension) => product * dimension);
        if (elements.Count != count)
        {
            throw new ProtocolException(400, $"Input '{name}' has shape [{string.Join(", ", shape)}] ({count} values) but {elements.Count} values.");
        }

        return (meta.ElementType switch
        {
            var t when t == typeof(float) => Tensor(name, elements, shape, (JsonElement e, out float v) => e.TryGetSingle(out v)),
            var t when t == typeof(double) => Tensor(name, elements, shape, (JsonElement e, out double v) => e.TryGetDouble(out v)),
            var t when t == typeof(sbyte) => Tensor(name, elements, shape, (JsonElement e, out sbyte v) => e.TryGetSByte(out v)),
            var t when t == typeof(short) => Tensor(name, elements, shape, (JsonElement e, out short v) => e.TryGetInt16(out v)),
            var t when t == typeof(int) => Tensor(name, elements, shape, (JsonElement e, out int v) => e.TryGetInt32(out v)),
            var t when t == typeof(long) => Tensor(name, elements, shape, (JsonElement e, out long v) => e.TryGetInt64(out v)),
            var t when t == typeof(byte) => Tensor(name, elements, shape, (JsonElement e, out byte v) => e.TryGetByte(out v)),
            var t when t == typeof(ushort) => Tensor(name, elements, shape, (JsonElement e, out ushort v) => e.TryGetUInt16(out v)),
            var t when t == typeof(uint) => Tensor(name, elements, shape, (JsonElement e, out uint v) => e.TryGetUInt32(out v)),
            var t when t == typeof(ulong) => Tensor(name, elements, shape, (JsonElement e, out ulong v) => e.TryGetUInt64(out v)),
            var t when t == typeof(bool) => Tensor(name, elements, shape, (JsonElement e, out bool v) =>
            {
                v = e.ValueKind == JsonValueKind.True;
                return e.ValueKind is JsonValueKind.True or JsonValueKind.False;
            }),
            var t when t == typeof(string) => Tensor(name, elements, shape, (JsonElement e, out string v) =>
            {
                v = e.ValueKind == JsonValueKind.String ? e.GetString()! : "";
                return e.ValueKind == JsonValueKind.String;
            }),
            _ => throw new ProtocolException(400, $"Input '{name}' has element type {meta.ElementType.Name}, which this endpoint does not take."),
        }, shape);
    }

    private static int[] Shape(string name, JsonElement input, NodeMetadata meta)
    {
        if (!input.TryGetProperty("shape", out var shapeElement) || shapeElement.ValueKind != JsonValueKind.Array
            || shapeElement.EnumerateArray().Any(e => !e.TryGetInt32(out var v) || v < 0))
        {
            throw new ProtocolException(400, $"Input '{name}' needs a shape: an array of non-negative integers.");
        }

        int[] shape = [.. shapeElement.EnumerateArray().Select(e => e.GetInt32())];
        var declared = meta.Dimensions;
        if (shape.Length != declared.Length || shape.Zip(declared).Any(p => p.Second > 0 && p.First != p.Second))
        {
            throw new ProtocolException(400,
                $"Input '{name}' has shape [{string.Join(", ", shape)}]; the model takes [{string.Join(", ", declared.Select(v => v > 0 ? v.ToString(CultureInfo.InvariantCulture) : "-1"))}] (-1: any size).");
        }

        return shape;
    }

    private delegate bool Reader<T>(JsonElement element, out T value);

    private static NamedOnnxValue Tensor<T>(string name, List<JsonElement> elements, int[] shape, Reader<T> read)
    {
        var values = new T[elements.Count];
        var numeric = typeof(T) != typeof(bool) && typeof(T) != typeof(string);
        for (var i = 0; i < values.Length; i++)
        {
            if ((numeric && elements[i].ValueKind != JsonValueKind.Number) || !read(elements[i], out values[i]))
            {
                throw new ProtocolException(400, $"Input '{name}' value {i} ({elements[i].GetRawText()}) is not a {Datatypes[typeof(T)]}.");
            }
        }

        return NamedOnnxValue.CreateFromTensor(name, new DenseTensor<T>(values, shape));
    }

    private static void Flatten(JsonElement element, List<JsonElement> into)
    {
        foreach (var item in element.EnumerateArray())
        {
            if (item.ValueKind == JsonValueKind.Array)
            {
                Flatten(item, into);
            }
            else
            {
                into.Add(item);
            }
        }
    }

    private static void Output(Utf8JsonWriter w, DisposableNamedOnnxValue result, Type elementType)
    {
        w.WriteStartObject();
        w.WriteString("name", result.Name);
        w.WriteString("datatype", Datatypes.GetValueOrDefault(elementType, elementType.Name));
        if (!Writers.TryGetValue(elementType, out var write))
        {
            throw new ProtocolException(400, $"Output '{result.Name}' has element type {elementType.Name}, which this endpoint does not send; ask for the others with outputs.");
        }

        write(w, result);
        w.WriteEndObject();
    }

    private static void Write<T>(Utf8JsonWriter w, Tensor<T> tensor, Action<Utf8JsonWriter, T> value)
    {
        w.WriteStartArray("shape");
        foreach (var dimension in tensor.Dimensions)
        {
            w.WriteNumberValue(dimension);
        }

        w.WriteEndArray();
        w.WriteStartArray("data");
        foreach (var item in tensor)
        {
            value(w, item);
        }

        w.WriteEndArray();
    }

    /// <summary>JSON has no NaN or infinities; they travel as the strings "NaN", "Infinity", "-Infinity".</summary>
    private static void Number<T>(Utf8JsonWriter w, T value, bool finite)
        where T : IFormattable
    {
        if (!finite)
        {
            w.WriteStringValue(value.ToString(null, CultureInfo.InvariantCulture));
        }
        else if (value is float single)
        {
            w.WriteNumberValue(single);
        }
        else
        {
            w.WriteNumberValue(Convert.ToDouble(value, CultureInfo.InvariantCulture));
        }
    }

    private static (int, byte[]) Ok(Action<Utf8JsonWriter> write)
    {
        var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            write(writer);
            writer.WriteEndObject();
        }

        return (200, buffer.ToArray());
    }

    private static (int Status, byte[] Body) BodyTooLarge() => (413, Error(TooLargeMessage));

    private static byte[] Error(string message) => JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, string> { ["error"] = message });

    private sealed class ProtocolException(int status, string message) : Exception(message)
    {
        public int Status => status;
    }
}
