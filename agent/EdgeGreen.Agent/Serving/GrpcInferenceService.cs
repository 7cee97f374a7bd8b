using System.Runtime.InteropServices;
using Google.Protobuf;
using Grpc.Core;
using Inference;

namespace EdgeGreen.Agent.Serving;

/// <summary>
/// The Open Inference Protocol's gRPC form (<c>inference.GRPCInferenceService</c>) for the models
/// this agent serves, on the same models, checks and counts as the REST form. Inputs come as typed
/// <c>contents</c> or as <c>raw_input_contents</c> (the binary tensor layout, one entry per input in
/// order); outputs are answered in the same form as the inputs came, so Triton's clients (raw) and
/// KServe's (either) read them. Errors: NOT_FOUND for a model that is not served, INVALID_ARGUMENT
/// for a request the model cannot take.
/// </summary>
public sealed class GrpcInferenceService(ServedModels models) : GRPCInferenceService.GRPCInferenceServiceBase
{
    /// <summary>The metadata whose value sends a call to the same version of a split deployment every time.</summary>
    public const string RequestKeyMetadata = "edgegreen-request-key";

    public override Task<ServerLiveResponse> ServerLive(ServerLiveRequest request, ServerCallContext context) =>
        Task.FromResult(new ServerLiveResponse { Live = true });

    public override Task<ServerReadyResponse> ServerReady(ServerReadyRequest request, ServerCallContext context) =>
        Task.FromResult(new ServerReadyResponse { Ready = true });

    public override Task<ServerMetadataResponse> ServerMetadata(ServerMetadataRequest request, ServerCallContext context) =>
        Task.FromResult(new ServerMetadataResponse { Name = ModelInference.ServerName, Version = ModelInference.ServerVersion });

    public override Task<ModelReadyResponse> ModelReady(ModelReadyRequest request, ServerCallContext context) =>
        AnswerAsync(request.Name, request.Version, () => RequestKey(context), _ => new ModelReadyResponse { Ready = true });

    public override Task<ModelMetadataResponse> ModelMetadata(ModelMetadataRequest request, ServerCallContext context) =>
        AnswerAsync(request.Name, request.Version, () => RequestKey(context), model =>
        {
            var response = new ModelMetadataResponse { Name = model.Name, Versions = { model.Version }, Platform = ModelInference.Platform };
            response.Inputs.AddRange(Metadata(model.Session.InputMetadata));
            response.Outputs.AddRange(Metadata(model.Session.OutputMetadata));
            return response;
        });

    public override Task<ModelInferResponse> ModelInfer(ModelInferRequest request, ServerCallContext context) =>
        AnswerAsync(request.ModelName, request.ModelVersion,
            () => RequestKey(context) ?? (request.Id.Length > 0 ? request.Id : ModelInference.RandomKey()), model =>
        {
            var raw = request.RawInputContents.Count > 0;
            var inputs = model.Reading(() => Inputs(request));
            IReadOnlyList<string>? outputs = request.Outputs.Count > 0 ? [.. request.Outputs.Select(o => o.Name)] : null;
            return ModelInference.Infer(model, request.Id.Length > 0 ? request.Id : null, inputs, outputs, results => Response(model, request.Id, raw, results));
        });

    /// <summary>Runs <paramref name="answer"/> on the served model (an empty version: the highest), the protocol's refusals as gRPC status codes.</summary>
    private async Task<T> AnswerAsync<T>(string name, string version, Func<string?> requestKey, Func<ServedModel, T> answer)
    {
        try
        {
            return await ModelInference.UseAsync(models, name, version.Length == 0 ? null : version, requestKey, model => Task.FromResult(answer(model)));
        }
        catch (InferenceException ex)
        {
            throw new RpcException(new Status(ex.Status switch
            {
                404 => StatusCode.NotFound,
                413 => StatusCode.ResourceExhausted,
                _ => StatusCode.InvalidArgument,
            }, ex.Message));
        }
    }

    /// <summary>The call's <c>edgegreen-request-key</c> metadata, which picks a split deployment's version.</summary>
    private static string? RequestKey(ServerCallContext context) =>
        context.RequestHeaders.GetValue(RequestKeyMetadata) is { Length: > 0 } key ? key : null;

    private static IEnumerable<ModelMetadataResponse.Types.TensorMetadata> Metadata(IReadOnlyDictionary<string, Microsoft.ML.OnnxRuntime.NodeMetadata> tensors) =>
        ModelInference.Tensors(tensors).Select(t => new ModelMetadataResponse.Types.TensorMetadata { Name = t.Name, Datatype = t.Datatype, Shape = { t.Shape } });

    private static List<InferenceInput> Inputs(ModelInferRequest request)
    {
        var raw = request.RawInputContents;
        if (raw.Count > 0 && raw.Count != request.Inputs.Count)
        {
            throw new InferenceException(400, $"raw_input_contents has {raw.Count} entries for {request.Inputs.Count} inputs; it needs one per input, in order.");
        }

        var inputs = new List<InferenceInput>();
        for (var i = 0; i < request.Inputs.Count; i++)
        {
            var input = request.Inputs[i];
            var name = input.Name;
            if (name.Length == 0)
            {
                throw new InferenceException(400, "Each input needs a name.");
            }

            var datatype = input.Datatype.Length == 0 ? null : input.Datatype;
            if (raw.Count > 0)
            {
                if (input.Contents is not null)
                {
                    throw new InferenceException(400, $"Input '{name}' has contents while the request uses raw_input_contents; use one form for every input.");
                }

                var bytes = Segment(raw[i]);
                inputs.Add(new InferenceInput(name, datatype, input.Shape, (element, count) => RawTensors.Decode(name, element, count, bytes)));
            }
            else
            {
                var contents = input.Contents ?? new InferTensorContents();
                inputs.Add(new InferenceInput(name, datatype, input.Shape, (element, _) => Values(name, element, contents)));
            }
        }

        return inputs;
    }

    private static ArraySegment<byte> Segment(ByteString bytes) =>
        MemoryMarshal.TryGetArray(bytes.Memory, out var segment) ? segment : new ArraySegment<byte>(bytes.ToByteArray());

    /// <summary>An input's values from the typed field the protocol gives its datatype; the narrower integers are range-checked.</summary>
    private static Array Values(string name, ElementType element, InferTensorContents contents) => element.Datatype switch
    {
        "FP32" => contents.Fp32Contents.ToArray(),
        "FP64" => contents.Fp64Contents.ToArray(),
        "INT8" => Narrow(name, element, contents.IntContents, v => checked((sbyte)v)),
        "INT16" => Narrow(name, element, contents.IntContents, v => checked((short)v)),
        "INT32" => contents.IntContents.ToArray(),
        "INT64" => contents.Int64Contents.ToArray(),
        "UINT8" => Narrow(name, element, contents.UintContents, v => checked((byte)v)),
        "UINT16" => Narrow(name, element, contents.UintContents, v => checked((ushort)v)),
        "UINT32" => contents.UintContents.ToArray(),
        "UINT64" => contents.Uint64Contents.ToArray(),
        "BOOL" => contents.BoolContents.ToArray(),
        _ => contents.BytesContents.Select((b, i) => RawTensors.Utf8(name, i, b.Span)).ToArray(),
    };

    private static T[] Narrow<TFrom, T>(string name, ElementType element, IEnumerable<TFrom> values, Func<TFrom, T> convert)
    {
        try
        {
            return [.. values.Select(convert)];
        }
        catch (OverflowException)
        {
            throw new InferenceException(400, $"Input '{name}' has a value outside the range of {element.Datatype}.");
        }
    }

    private static ModelInferResponse Response(ServedModel model, string id, bool raw, InferenceResults results)
    {
        var response = new ModelInferResponse { ModelName = model.Name, ModelVersion = model.Version, Id = id };
        if (results.Skipped.Count > 0)
        {
            response.Parameters["skipped_outputs"] = new InferParameter { StringParam = string.Join(",", results.Skipped) };
        }

        foreach (var output in results.Outputs)
        {
            var tensor = new ModelInferResponse.Types.InferOutputTensor { Name = output.Name, Datatype = output.Type.Datatype, Shape = { output.Shape } };
            if (raw)
            {
                response.RawOutputContents.Add(UnsafeByteOperations.UnsafeWrap(RawTensors.Encode(output)));
            }
            else
            {
                tensor.Contents = Contents(output.Values);
            }

            response.Outputs.Add(tensor);
        }

        return response;
    }

    private static InferTensorContents Contents(Array values) => values switch
    {
        float[] v => new InferTensorContents { Fp32Contents = { v } },
        double[] v => new InferTensorContents { Fp64Contents = { v } },
        sbyte[] v => new InferTensorContents { IntContents = { v.Select(x => (int)x) } },
        short[] v => new InferTensorContents { IntContents = { v.Select(x => (int)x) } },
        int[] v => new InferTensorContents { IntContents = { v } },
        long[] v => new InferTensorContents { Int64Contents = { v } },
        byte[] v => new InferTensorContents { UintContents = { v.Select(x => (uint)x) } },
        ushort[] v => new InferTensorContents { UintContents = { v.Select(x => (uint)x) } },
        uint[] v => new InferTensorContents { UintContents = { v } },
        ulong[] v => new InferTensorContents { Uint64Contents = { v } },
        bool[] v => new InferTensorContents { BoolContents = { v } },
        string[] v => new InferTensorContents { BytesContents = { v.Select(ByteString.CopyFromUtf8) } },
        _ => throw new InferenceException(400, $"An output of element type {values.GetType().GetElementType()?.Name} has no typed contents in the protocol."),
    };
}
