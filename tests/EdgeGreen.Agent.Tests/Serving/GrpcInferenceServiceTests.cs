using EdgeGreen.Agent.Serving;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using Inference;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace EdgeGreen.Agent.Tests.Serving;

/// <summary>The Open Inference Protocol's gRPC form on the agent's own Kestrel server, over a real channel, serving mnist-8.</summary>
public sealed class GrpcInferenceServiceTests : IAsyncLifetime
{
    private const string Input = "Input3";
    private const string Output = "Plus214_Output_0";

    private readonly InferenceSession _session = new(Path.Combine(AppContext.BaseDirectory, "fixtures", "models", "mnist-8.onnx"));
    private readonly ServedModels _models = new();
    private readonly InferenceGrpcEndpoint _endpoint;
    private ServedModel? _model;
    private IDisposable? _serving;
    private GrpcChannel? _channel;

    public GrpcInferenceServiceTests()
    {
        _endpoint = new InferenceGrpcEndpoint(Options.Create(new AgentOptions { GrpcUrl = "http://127.0.0.1:0" }), _models,
            NullLoggerFactory.Instance, NullLogger<InferenceGrpcEndpoint>.Instance);
    }

    private GRPCInferenceService.GRPCInferenceServiceClient Client => new(_channel!);

    public async Task InitializeAsync()
    {
        _model = new ServedModel("mnist", "1", _session);
        _serving = _models.Add(_model);
        await _endpoint.StartAsync(CancellationToken.None);
        _channel = GrpcChannel.ForAddress(_endpoint.Address!);
    }

    [Fact]
    public async Task ServerAndModel_LiveReadyAndMetadata_AnswerAsTheSpecSays()
    {
        Assert.True((await Client.ServerLiveAsync(new ServerLiveRequest())).Live);
        Assert.True((await Client.ServerReadyAsync(new ServerReadyRequest())).Ready);
        Assert.Equal("edgegreen-agent", (await Client.ServerMetadataAsync(new ServerMetadataRequest())).Name);
        Assert.True((await Client.ModelReadyAsync(new ModelReadyRequest { Name = "mnist", Version = "1" })).Ready);

        var metadata = await Client.ModelMetadataAsync(new ModelMetadataRequest { Name = "mnist" });

        Assert.Equal("onnx_onnxv1", metadata.Platform);
        Assert.Equal(["1"], metadata.Versions);
        var input = Assert.Single(metadata.Inputs);
        Assert.Equal((Input, "FP32"), (input.Name, input.Datatype));
        Assert.Equal([1L, 1, 28, 28], input.Shape);
        Assert.Equal([1L, 10], Assert.Single(metadata.Outputs).Shape);
    }

    [Fact]
    public async Task ModelInfer_RawAndTypedContents_AnswerWhatOnnxRuntimeComputes()
    {
        var image = Enumerable.Range(0, 28 * 28).Select(i => (i % 29) / 29f).ToArray();
        using var direct = _session.Run([NamedOnnxValue.CreateFromTensor(Input, new DenseTensor<float>(image, [1, 1, 28, 28]))]);
        var expected = direct.Single().AsTensor<float>().ToArray();

        var raw = await Client.ModelInferAsync(Request(image, raw: true));
        var typed = await Client.ModelInferAsync(Request(image, raw: false));

        Assert.Equal(("mnist", "1", "r7"), (raw.ModelName, raw.ModelVersion, raw.Id));
        var output = Assert.Single(raw.Outputs);
        Assert.Equal((Output, "FP32"), (output.Name, output.Datatype));
        Assert.Equal([1L, 10], output.Shape);
        var rawBytes = Assert.Single(raw.RawOutputContents).ToByteArray();
        Assert.Equal(expected, Enumerable.Range(0, 10).Select(i => BitConverter.ToSingle(rawBytes, i * 4)));
        Assert.Empty(typed.RawOutputContents);
        Assert.Equal(expected, Assert.Single(typed.Outputs).Contents.Fp32Contents);
        Assert.Equal((2, 2, 0), (_model!.Requests, _model.Inferences, _model.FailedRequests));
    }

    [Fact]
    public async Task ModelInfer_ModelNotServed_IsNotFound()
    {
        var error = await Assert.ThrowsAsync<RpcException>(async () => await Client.ModelInferAsync(new ModelInferRequest { ModelName = "absent" }));

        Assert.Equal(StatusCode.NotFound, error.StatusCode);
        Assert.Contains("'absent' is not served", error.Status.Detail, StringComparison.Ordinal);
        Assert.Equal(StatusCode.NotFound, (await Assert.ThrowsAsync<RpcException>(async () =>
            await Client.ModelMetadataAsync(new ModelMetadataRequest { Name = "mnist", Version = "2" }))).StatusCode);
    }

    [Theory]
    [InlineData(27, true, "the model takes [1, 1, 28, 28]")]
    [InlineData(28, false, "(784 values) but 783 values")]
    public async Task ModelInfer_BadTensor_IsInvalidArgumentWithTheReason(int side, bool raw, string reason)
    {
        var request = Request(new float[side * 28], raw);
        request.Inputs[0].Shape[2] = side;
        if (!raw)
        {
            request.Inputs[0].Contents.Fp32Contents.RemoveAt(0);
        }

        var error = await Assert.ThrowsAsync<RpcException>(async () => await Client.ModelInferAsync(request));

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Contains(reason, error.Status.Detail, StringComparison.Ordinal);
        Assert.Equal(1, _model!.FailedRequests);
    }

    public async Task DisposeAsync()
    {
        _channel?.Dispose();
        await _endpoint.StopAsync(CancellationToken.None);
        await _endpoint.DisposeAsync();
        _serving?.Dispose();
        _session.Dispose();
    }

    private static ModelInferRequest Request(float[] image, bool raw)
    {
        var input = new ModelInferRequest.Types.InferInputTensor { Name = Input, Datatype = "FP32", Shape = { 1, 1, 28, 28 } };
        var request = new ModelInferRequest { ModelName = "mnist", Id = "r7", Inputs = { input } };
        if (raw)
        {
            request.RawInputContents.Add(ByteString.CopyFrom([.. image.SelectMany(BitConverter.GetBytes)]));
        }
        else
        {
            input.Contents = new InferTensorContents { Fp32Contents = { image } };
        }

        return request;
    }
}
