using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using EdgeGreen.Agent.Serving;
using EdgeGreen.ControlPlane.Core.Storage;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using Inference;
using Microsoft.ML.OnnxRuntime;

namespace EdgeGreen.ControlPlane.Tests.LocalAgent;

/// <summary>The local agent's Open Inference Protocol as the single-node control plane serves it: REST on its HTTP port, gRPC on its gRPC port.</summary>
public sealed class LocalAgentInferenceTests
{
    [Theory]
    [InlineData("/v2/models/any", null)]
    [InlineData("/v2/models/any/infer", "not-a-key")]
    public async Task Inference_CallerWithoutAValidKey_Answers401WithTheProtocolsError(string path, string? key)
    {
        using var temp = new TempDirectory();
        await using var controlPlane = await TestControlPlane.StartAsync(temp.Path, localAgent: true);
        using var client = controlPlane.CreateClient(key);

        using var response = await client.PostAsync(new Uri(path, UriKind.Relative), new StringContent("{}"));

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Contains("API key", body.GetProperty("error").GetString(), StringComparison.Ordinal);
        Assert.Equal(["error"], body.EnumerateObject().Select(p => p.Name));
    }

    [Fact]
    public async Task InferenceGrpc_ViewerKey_AnswersTheLocalAgentsModel_AndRefusesCallersWithout()
    {
        using var temp = new TempDirectory();
        await using var controlPlane = await TestControlPlane.StartAsync(temp.Path, localAgent: true);
        using var session = new InferenceSession(Path.Combine(AppContext.BaseDirectory, "fixtures", "models", "mnist-8.onnx"));
        using var serving = controlPlane.Service<ServedModels>().Add(new ServedModel("mnist", "3", session));
        using var channel = GrpcChannel.ForAddress(controlPlane.GrpcUrl);
        var client = new GRPCInferenceService.GRPCInferenceServiceClient(channel);
        var viewer = new Metadata { { "authorization", $"Bearer {await controlPlane.MintApiKeyAsync(ApiKeyRole.Viewer)}" } };
        var request = new ModelInferRequest
        {
            ModelName = "mnist",
            Inputs = { new ModelInferRequest.Types.InferInputTensor { Name = "Input3", Datatype = "FP32", Shape = { 1, 1, 28, 28 } } },
            RawInputContents = { ByteString.CopyFrom(new byte[28 * 28 * 4]) },
        };

        var response = await client.ModelInferAsync(request, viewer);

        Assert.Equal("3", response.ModelVersion);
        Assert.Equal([1L, 10], Assert.Single(response.Outputs).Shape);
        Assert.Equal(40, Assert.Single(response.RawOutputContents).Length);
        Assert.Equal("onnx_onnxv1", (await client.ModelMetadataAsync(new ModelMetadataRequest { Name = "mnist" }, viewer)).Platform);
        Assert.True((await client.ServerLiveAsync(new ServerLiveRequest())).Live);
        var refused = await Assert.ThrowsAsync<RpcException>(async () => await client.ModelInferAsync(request));
        Assert.Equal(StatusCode.Unauthenticated, refused.StatusCode);
        Assert.Empty(controlPlane.Errors.Entries);
    }
}
