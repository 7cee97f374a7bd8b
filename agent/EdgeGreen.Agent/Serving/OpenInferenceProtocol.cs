using System.Globalization;
using System.Text.Json;

namespace EdgeGreen.Agent.Serving;

/// <summary>
/// The Open Inference Protocol (KServe v2) over REST for the models this agent serves, so existing
/// clients (KServe's and Triton's) work unchanged:
/// <c>GET /v2</c>, <c>GET /v2/health/live</c>, <c>GET /v2/health/ready</c>,
/// <c>GET /v2/models/{name}[/versions/{version}]</c> (metadata),
/// <c>GET /v2/models/{name}[/versions/{version}]/ready</c> and
/// <c>POST /v2/models/{name}[/versions/{version}]/infer</c>. Without a version the highest served
/// version answers; a deployment's name (which wins over a served model of the same name) picks its
/// version by the request's <see cref="RequestKeyHeader"/>, else its <c>id</c>, else chance
/// (<see cref="DeploymentRoute"/>), and the answer's model_name/model_version say which answered. Tensors travel as <c>{name, shape, datatype, data}</c> with the data flat or
/// nested in row-major order; datatypes FP32, FP64, INT8–INT64, UINT8–UINT64, BOOL and BYTES
/// (strings). The binary tensor data extension is taken both ways, as Triton's clients use it by
/// default: a request with an <c>Inference-Header-Content-Length</c> header is that many bytes of
/// JSON followed by the raw data of the inputs that carry <c>parameters.binary_data_size</c>, in
/// their order; outputs asked for with <c>binary_data</c> (or all, with the request's
/// <c>binary_data_output</c>) come back the same way. Errors are <c>{"error": "..."}</c> with 400
/// (bad request), 404 (no such model or path), 405 (wrong method) or 413 (body too large). The
/// transport is the host's: the agent's HTTP endpoint, or the control plane's in the single-node run.
/// </summary>
public sealed class OpenInferenceProtocol(ServedModels models)
{
    /// <summary>The largest request body read, in bytes.</summary>
    public const int MaxBodyBytes = 64 * 1024 * 1024;

    /// <summary>The binary tensor data extension's header: the length of the JSON that starts the body.</summary>
    public const string HeaderLengthHeader = "Inference-Header-Content-Length";

    /// <summary>The header whose value sends a request to the same version of a split deployment every time.</summary>
    public const string RequestKeyHeader = ModelInference.RequestKeyHeader;

    /// <summary>
    /// How much of a body over <see cref="MaxBodyBytes"/> is read, and thrown away, before its 413:
    /// most clients send the whole body before they read the answer, and a connection closed under
    /// them loses the 413 (they see a broken pipe instead).
    /// </summary>
    public const long MaxDiscardBytes = 4L * MaxBodyBytes;

    private static readonly string TooLargeMessage = $"The body is larger than {MaxBodyBytes / (1024 * 1024)} MiB.";

    /// <summary>Answers one request: the status code and the JSON body.</summary>
    public Task<OpenInferenceReply> AnswerAsync(string method, string path, Stream body, CancellationToken cancellationToken) =>
        AnswerAsync(method, path, body, contentLength: null, headerLength: null, cancellationToken);

    /// <summary>Answers one request whose body's declared length is known.</summary>
    public Task<OpenInferenceReply> AnswerAsync(string method, string path, Stream body, long? contentLength, CancellationToken cancellationToken) =>
        AnswerAsync(method, path, body, contentLength, headerLength: null, cancellationToken);

    /// <summary>
    /// Answers one request. A body declared over <see cref="MaxBodyBytes"/> is refused with 413
    /// without a byte of it kept; <paramref name="headerLength"/> is the request's
    /// <see cref="HeaderLengthHeader"/>, if it has one.
    /// </summary>
    public Task<OpenInferenceReply> AnswerAsync(string method, string path, Stream body, long? contentLength, string? headerLength, CancellationToken cancellationToken) =>
        AnswerAsync(method, path, body, contentLength, headerLength, requestKey: null, cancellationToken);

    /// <summary>
    /// Answers one request; <paramref name="requestKey"/> is its <see cref="RequestKeyHeader"/>, if
    /// it has one, which picks the version of a deployment that splits its traffic (else the
    /// request's <c>id</c>, else chance).
    /// </summary>
    public async Task<OpenInferenceReply> AnswerAsync(string method, string path, Stream body, long? contentLength, string? headerLength, string? requestKey, CancellationToken cancellationToken)
    {
        if (contentLength > MaxBodyBytes)
        {
            if (contentLength <= MaxDiscardBytes)
            {
                await DiscardAsync(body, cancellationToken);
            }

            return Error(413, TooLargeMessage);
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
                        w.WriteString("name", ModelInference.ServerName);
                        w.WriteString("version", ModelInference.ServerVersion);
                        w.WriteStartArray("extensions");
                        w.WriteStringValue("binary_tensor_data");
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
                        _ => throw new InferenceException(404, $"No such path: {path}."),
                    };
                    // An inference's body is read before its model is chosen: a split deployment routes by the request's id.
                    var buffer = action == "infer" && method == "POST" ? await ReadAsync(body, cancellationToken) : default(ArraySegment<byte>?);
                    Func<string?> key = buffer is { } read
                        ? () => requestKey ?? RequestId(read, headerLength) ?? ModelInference.RandomKey()
                        : () => requestKey;
                    return await ModelInference.UseAsync(models, name, version, key, model => Task.FromResult(Answer(method, action, model, buffer, headerLength)));
                default:
                    throw new InferenceException(404, $"No such path: {path}.");
            }
        }
        catch (InferenceException ex)
        {
            return Error(ex.Status, ex.Message);
        }
    }

    /// <summary>An error answer in the protocol's form, <c>{"error": "..."}</c>.</summary>
    public static OpenInferenceReply Error(int status, string message) =>
        new(status, JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, string> { ["error"] = message }));

    private static OpenInferenceReply Answer(string method, string action, ServedModel model, ArraySegment<byte>? body, string? headerLength)
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
                return Infer(model, body!.Value, headerLength);
        }
    }

    /// <summary>The request's <c>id</c>, when its JSON is readable and has one; a request that is not is refused later, with the reason.</summary>
    private static string? RequestId(ArraySegment<byte> body, string? headerLength)
    {
        var length = headerLength is null ? body.Count
            : int.TryParse(headerLength, NumberStyles.None, CultureInfo.InvariantCulture, out var declared) && declared <= body.Count ? declared : -1;
        if (length < 0)
        {
            return null;
        }

        try
        {
            using var document = JsonDocument.Parse(body[..length].AsMemory());
            return document.RootElement.ValueKind == JsonValueKind.Object && document.RootElement.TryGetProperty("id", out var id) && id.ValueKind == JsonValueKind.String
                ? id.GetString()
                : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static void Expect(string method, string allowed)
    {
        if (method != allowed)
        {
            throw new InferenceException(405, $"Use {allowed} here.");
        }
    }

    private static void Metadata(Utf8JsonWriter w, ServedModel model)
    {
        w.WriteString("name", model.Name);
        w.WriteStartArray("versions");
        w.WriteStringValue(model.Version);
        w.WriteEndArray();
        w.WriteString("platform", ModelInference.Platform);
        foreach (var (property, tensors) in new[] { ("inputs", model.Session.InputMetadata), ("outputs", model.Session.OutputMetadata) })
        {
            w.WriteStartArray(property);
            foreach (var (name, datatype, shape) in ModelInference.Tensors(tensors))
            {
                w.WriteStartObject();
                w.WriteString("name", name);
                w.WriteString("datatype", datatype);
                WriteShape(w, shape);
                w.WriteEndObject();
            }

            w.WriteEndArray();
        }
    }

    private static OpenInferenceReply Infer(ServedModel model, ArraySegment<byte> body, string? headerLength)
    {
        var jsonLength = model.Reading(() => JsonLength(headerLength, body.Count));
        using var document = model.Reading(() => Parse(body[..jsonLength], headerLength is not null));
        var request = model.Reading(() => Request(document.RootElement, body[jsonLength..], headerLength is not null));
        return ModelInference.Infer(model, request.Id, request.Inputs, request.Outputs, results => Answer(model, request, results));
    }

    private static int JsonLength(string? header, int bodyLength)
    {
        if (header is null)
        {
            return bodyLength;
        }

        return int.TryParse(header, NumberStyles.None, CultureInfo.InvariantCulture, out var length) && length <= bodyLength
            ? length
            : throw new InferenceException(400, $"{HeaderLengthHeader} must be the length of the JSON at the start of the body, 0 to {bodyLength} bytes; it is '{header}'.");
    }

    private static JsonDocument Parse(ArraySegment<byte> json, bool binary)
    {
        try
        {
            return JsonDocument.Parse(json.AsMemory());
        }
        catch (JsonException ex)
        {
            throw new InferenceException(400, binary
                ? $"The body's first {json.Count} bytes ({HeaderLengthHeader}) are not JSON: {ex.Message}"
                : $"The body is not JSON: {ex.Message}");
        }
    }

    /// <summary>The request's inputs, their data in JSON or in the binary part after it, and the outputs it asks for.</summary>
    private static RestRequest Request(JsonElement root, ArraySegment<byte> binary, bool hasBinaryPart)
    {
        if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("inputs", out var inputsElement) || inputsElement.ValueKind != JsonValueKind.Array)
        {
            throw new InferenceException(400, "The body must be an object with inputs: [{name, shape, datatype, data}].");
        }

        var inputs = new List<InferenceInput>();
        var offset = 0L;
        foreach (var input in inputsElement.EnumerateArray())
        {
            var name = input.ValueKind == JsonValueKind.Object && input.TryGetProperty("name", out var n) && n.ValueKind == JsonValueKind.String ? n.GetString()! : null;
            if (name is null)
            {
                throw new InferenceException(400, "Each input needs a name.");
            }

            var datatype = input.TryGetProperty("datatype", out var d) && d.ValueKind == JsonValueKind.String ? d.GetString() : null;
            var shape = input.TryGetProperty("shape", out var s) && s.ValueKind == JsonValueKind.Array && s.EnumerateArray().All(e => e.TryGetInt64(out _))
                ? s.EnumerateArray().Select(e => e.GetInt64()).ToList()
                : null;
            if (Parameter(input, "binary_data_size") is { } size)
            {
                if (!size.TryGetInt64(out var length) || length < 0)
                {
                    throw new InferenceException(400, $"Input '{name}' parameters.binary_data_size must be a non-negative integer.");
                }

                if (!hasBinaryPart)
                {
                    throw new InferenceException(400, $"Input '{name}' has binary_data_size but the request has no {HeaderLengthHeader} header to say where its JSON ends.");
                }

                if (input.TryGetProperty("data", out _))
                {
                    throw new InferenceException(400, $"Input '{name}' has both data and binary_data_size; give one.");
                }

                if (offset + length > binary.Count)
                {
                    throw new InferenceException(400, $"The inputs' binary_data_size add up to more than the {binary.Count} bytes after the JSON ({HeaderLengthHeader}).");
                }

                var bytes = binary.Slice((int)offset, (int)length);
                offset += length;
                inputs.Add(new InferenceInput(name, datatype, shape, (element, count) => RawTensors.Decode(name, element, count, bytes)));
            }
            else if (input.TryGetProperty("data", out var data) && data.ValueKind == JsonValueKind.Array)
            {
                inputs.Add(new InferenceInput(name, datatype, shape, (element, _) => JsonTensors.Read(name, element, data)));
            }
            else
            {
                throw new InferenceException(400, $"Input '{name}' needs data: an array, flat or nested, in row-major order (or parameters.binary_data_size with binary data).");
            }
        }

        if (offset != binary.Count)
        {
            throw new InferenceException(400, $"The inputs' binary_data_size add up to {offset} bytes but {binary.Count} bytes follow the JSON ({HeaderLengthHeader}); they must be equal.");
        }

        var binaryOutputs = Flag(root, "binary_data_output", "The request's") ?? false;
        var id = root.TryGetProperty("id", out var idElement) && idElement.ValueKind == JsonValueKind.String ? idElement.GetString() : null;
        if (!root.TryGetProperty("outputs", out var outputs))
        {
            return new RestRequest(id, inputs, null, _ => binaryOutputs);
        }

        if (outputs.ValueKind != JsonValueKind.Array)
        {
            throw new InferenceException(400, "outputs must be an array of {name}.");
        }

        var binaryByName = new Dictionary<string, bool>(StringComparer.Ordinal);
        foreach (var output in outputs.EnumerateArray())
        {
            var name = output.ValueKind == JsonValueKind.Object && output.TryGetProperty("name", out var n) && n.ValueKind == JsonValueKind.String ? n.GetString()! : null;
            if (name is null)
            {
                throw new InferenceException(400, "Each output is {name}.");
            }

            binaryByName[name] = Flag(output, "binary_data", $"Output '{name}'") ?? binaryOutputs;
        }

        return new RestRequest(id, inputs, [.. binaryByName.Keys], name => binaryByName[name]);
    }

    private static JsonElement? Parameter(JsonElement tensor, string name) =>
        tensor.TryGetProperty("parameters", out var parameters) && parameters.ValueKind == JsonValueKind.Object && parameters.TryGetProperty(name, out var value)
            ? value
            : null;

    private static bool? Flag(JsonElement owner, string name, string whose) => Parameter(owner, name) switch
    {
        null => null,
        { ValueKind: JsonValueKind.True } => true,
        { ValueKind: JsonValueKind.False } => false,
        _ => throw new InferenceException(400, $"{whose} parameters.{name} must be true or false."),
    };

    /// <summary>The response: JSON, then the raw bytes of each output asked for as binary data, in the order the JSON lists them.</summary>
    private static OpenInferenceReply Answer(ServedModel model, RestRequest request, InferenceResults results)
    {
        var binaries = new List<byte[]>();
        var json = Ok(w =>
        {
            w.WriteString("model_name", model.Name);
            w.WriteString("model_version", model.Version);
            if (request.Id is not null)
            {
                w.WriteString("id", request.Id);
            }

            if (results.Skipped.Count > 0)
            {
                w.WriteStartObject("parameters");
                w.WriteString("skipped_outputs", string.Join(",", results.Skipped));
                w.WriteEndObject();
            }

            w.WriteStartArray("outputs");
            foreach (var output in results.Outputs)
            {
                w.WriteStartObject();
                w.WriteString("name", output.Name);
                w.WriteString("datatype", output.Type.Datatype);
                WriteShape(w, output.Shape);
                if (request.Binary(output.Name))
                {
                    var bytes = RawTensors.Encode(output);
                    binaries.Add(bytes);
                    w.WriteStartObject("parameters");
                    w.WriteNumber("binary_data_size", bytes.Length);
                    w.WriteEndObject();
                }
                else
                {
                    JsonTensors.Write(w, output.Values);
                }

                w.WriteEndObject();
            }

            w.WriteEndArray();
        });
        if (binaries.Count == 0)
        {
            return json;
        }

        var body = new byte[json.Body.Length + binaries.Sum(b => b.Length)];
        json.Body.CopyTo(body, 0);
        var at = json.Body.Length;
        foreach (var bytes in binaries)
        {
            bytes.CopyTo(body, at);
            at += bytes.Length;
        }

        return new OpenInferenceReply(200, body, json.Body.Length);
    }

    private static void WriteShape(Utf8JsonWriter w, IEnumerable<long> shape)
    {
        w.WriteStartArray("shape");
        foreach (var dimension in shape)
        {
            w.WriteNumberValue(dimension);
        }

        w.WriteEndArray();
    }

    private static async Task<ArraySegment<byte>> ReadAsync(Stream body, CancellationToken cancellationToken)
    {
        var buffer = new MemoryStream();
        var chunk = new byte[81920];
        int read;
        while ((read = await body.ReadAsync(chunk, cancellationToken)) > 0)
        {
            if (buffer.Length + read > MaxBodyBytes)
            {
                await DiscardAsync(body, cancellationToken);
                throw new InferenceException(413, TooLargeMessage);
            }

            buffer.Write(chunk, 0, read);
        }

        return new ArraySegment<byte>(buffer.GetBuffer(), 0, (int)buffer.Length);
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

    private static OpenInferenceReply Ok(Action<Utf8JsonWriter> write)
    {
        var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            write(writer);
            writer.WriteEndObject();
        }

        return new OpenInferenceReply(200, buffer.ToArray());
    }

    /// <summary>A parsed REST inference request: its id, inputs, the outputs it names (null: all), and which come back as binary data.</summary>
    private sealed record RestRequest(string? Id, IReadOnlyList<InferenceInput> Inputs, IReadOnlyList<string>? Outputs, Func<string, bool> Binary);
}

/// <summary>
/// An answer of the REST protocol: its status and body, and, when binary tensor data follows the
/// JSON, the JSON's length for the <see cref="OpenInferenceProtocol.HeaderLengthHeader"/> header.
/// </summary>
public sealed record OpenInferenceReply(int Status, byte[] Body, int? HeaderLength = null)
{
    /// <summary>JSON, or octet-stream when binary tensor data follows the JSON.</summary>
    public string ContentType => HeaderLength is null ? "application/json" : "application/octet-stream";

    public void Deconstruct(out int status, out byte[] body)
    {
        status = Status;
        body = Body;
    }
}
