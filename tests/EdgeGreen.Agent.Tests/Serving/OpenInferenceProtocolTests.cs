using System.Text;
using System.Text.Json;
using EdgeGreen.Agent.Serving;
using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using Onnx;
using Prometheus;
using static EdgeGreen.Agent.Tests.OnnxGraphs;

namespace EdgeGreen.Agent.Tests.Serving;

/// <summary>The Open Inference Protocol (KServe v2) on a real ONNX Runtime session of a small model.</summary>
public sealed class OpenInferenceProtocolTests : IDisposable
{
    private readonly CollectorRegistry _registry = Metrics.NewCustomRegistry();
    private readonly ServedModels _models;
    private readonly OpenInferenceProtocol _protocol;
    private readonly InferenceSession _session = new(Model().ToByteArray());
    private readonly ServedModel _model;
    private readonly IDisposable _serving;

    public OpenInferenceProtocolTests()
    {
        _models = new ServedModels(new AgentMetrics(Metrics.WithCustomRegistry(_registry)));
        _protocol = new OpenInferenceProtocol(_models);
        _model = new ServedModel("scorer", "2", _session);
        _serving = _models.Add(_model);
    }

    [Fact]
    public async Task Infer_NestedAndFlatData_AnswersEveryTensorOutput()
    {
        var (status, body) = await Post("/v2/models/scorer/infer", """
            {"id": "r1", "inputs": [
              {"name": "x", "shape": [2, 2], "datatype": "FP32", "data": [[0, 1], [2, -1]]},
              {"name": "flag", "shape": [2, 1], "datatype": "BOOL", "data": [true, false]},
              {"name": "names", "shape": [2, 1], "datatype": "BYTES", "data": ["a", "b"]}]}
            """);

        Assert.Equal(200, status);
        Assert.Equal("scorer", body.GetProperty("model_name").GetString());
        Assert.Equal("2", body.GetProperty("model_version").GetString());
        Assert.Equal("r1", body.GetProperty("id").GetString());
        var outputs = body.GetProperty("outputs").EnumerateArray().ToDictionary(o => o.GetProperty("name").GetString()!);
        Assert.Equal("FP32", outputs["y"].GetProperty("datatype").GetString());
        Assert.Equal([2, 2], outputs["y"].GetProperty("shape").EnumerateArray().Select(d => d.GetInt32()));
        Assert.Equal(new[] { 0, 1, 2, -1 }.Select(v => 1 / (1 + Math.Exp(-v))), outputs["y"].GetProperty("data").EnumerateArray().Select(d => d.GetDouble()), new Tolerance(1e-6));
        Assert.Equal([false, true], outputs["z"].GetProperty("data").EnumerateArray().Select(d => d.GetBoolean()));
        Assert.Equal(["a", "b"], outputs["s"].GetProperty("data").EnumerateArray().Select(d => d.GetString()));
        Assert.Equal((1, 2, 0), (_model.Requests, _model.Inferences, _model.FailedRequests));
        var exposition = MetricsText.Scrape(_registry);
        Assert.Contains("edgegreen_agent_inferences_total{model=\"scorer\"} 2", exposition);
        Assert.Contains("edgegreen_agent_inference_requests_total{model=\"scorer\",outcome=\"answered\"} 1", exposition);

        // Only the outputs asked for, and the latest version when none is named.
        (status, body) = await Post("/v2/models/scorer/versions/2/infer", """
            {"inputs": [{"name": "x", "shape": [1, 2], "datatype": "FP32", "data": [0, 0]},
                        {"name": "flag", "shape": [1, 1], "datatype": "BOOL", "data": [true]},
                        {"name": "names", "shape": [1, 1], "datatype": "BYTES", "data": ["c"]}],
             "outputs": [{"name": "z"}]}
            """);
        Assert.Equal(200, status);
        Assert.Equal(["z"], body.GetProperty("outputs").EnumerateArray().Select(o => o.GetProperty("name").GetString()));
    }

    [Theory]
    [InlineData("{not json", "not JSON")]
    [InlineData("""{"inputs": [{"name": "x", "shape": [1, 2], "datatype": "FP32", "data": [0, 1]}]}""", "Missing input(s): flag, names")]
    [InlineData("""{"inputs": [{"name": "x", "shape": [1, 2], "datatype": "INT64", "data": [0, 1]}]}""", "is FP32 in the model")]
    [InlineData("""{"inputs": [{"name": "x", "shape": [1, 3], "datatype": "FP32", "data": [0, 1, 2]}]}""", "the model takes [-1, 2]")]
    [InlineData("""{"inputs": [{"name": "x", "shape": [2, 2], "datatype": "FP32", "data": [0, 1, 2]}]}""", "(4 values) but 3 values")]
    [InlineData("""{"inputs": [{"name": "x", "shape": [1, 2], "datatype": "FP32", "data": [0, "one"]}]}""", "value 1 (\"one\") is not a FP32")]
    [InlineData("""{"inputs": [{"name": "w", "shape": [1, 2], "datatype": "FP32", "data": [0, 1]}]}""", "no input 'w'")]
    [InlineData("""{"inputs": []"outputs": []}""", "not JSON")]
    [InlineData("""{"inputs": [{"name": "x", "shape": [1, 2], "datatype": "FP32", "data": [0, 1]}, {"name": "flag", "shape": [1, 1], "datatype": "BOOL", "data": [1]}]}""", "value 0 (1) is not a BOOL")]
    public async Task Infer_BadRequest_Is400WithTheReason_AndCounted(string request, string reason)
    {
        var (status, body) = await Post("/v2/models/scorer/infer", request);

        Assert.Equal(400, status);
        Assert.Contains(reason, body.GetProperty("error").GetString());
        Assert.Equal((0, 1), (_model.Requests, _model.FailedRequests));
    }

    [Fact]
    public async Task Infer_BinaryRequestAsTritonsClientBuildsIt_AnswersBinaryOutputsPerTheSpec()
    {
        // tritonclient.http with set_data_from_numpy(binary_data=True) and no outputs named: compact
        // JSON with binary_data_size per input and binary_data_output on the request, then each
        // input's bytes in order (little-endian FP32, one byte per BOOL, BYTES length-prefixed).
        var json = Encoding.UTF8.GetBytes(
            """{"inputs":[{"name":"x","shape":[2,2],"datatype":"FP32","parameters":{"binary_data_size":16}},"""
            + """{"name":"flag","shape":[2,1],"datatype":"BOOL","parameters":{"binary_data_size":2}},"""
            + """{"name":"names","shape":[2,1],"datatype":"BYTES","parameters":{"binary_data_size":14}}],"parameters":{"binary_data_output":true}}""");
        byte[] body = [.. json, .. Floats(0, 1, 2, -1), 1, 0, .. LengthPrefixed("a"), .. LengthPrefixed("été")];

        var reply = await _protocol.AnswerAsync("POST", "/v2/models/scorer/infer", new MemoryStream(body), body.Length,
            json.Length.ToString(System.Globalization.CultureInfo.InvariantCulture), CancellationToken.None);

        Assert.Equal(200, reply.Status);
        Assert.Equal("application/octet-stream", reply.ContentType);
        var outputs = BinaryOutputs(reply);
        Assert.Equal(new[] { 0, 1, 2, -1 }.Select(v => 1 / (1 + Math.Exp(-v))), Floats(outputs["y"]).Select(v => (double)v), new Tolerance(1e-6));
        Assert.Equal(new byte[] { 0, 1 }, outputs["z"]);
        Assert.Equal([.. LengthPrefixed("a"), .. LengthPrefixed("été")], outputs["s"]);
        Assert.Equal((1, 2, 0), (_model.Requests, _model.Inferences, _model.FailedRequests));
    }

    [Fact]
    public async Task Infer_BinaryDataPerOutput_OnlyThoseOutputsAreBinary()
    {
        var reply = await _protocol.AnswerAsync("POST", "/v2/models/scorer/infer", new MemoryStream(Encoding.UTF8.GetBytes("""
            {"inputs": [{"name": "x", "shape": [1, 2], "datatype": "FP32", "data": [0, 0]},
                        {"name": "flag", "shape": [1, 1], "datatype": "BOOL", "data": [true]},
                        {"name": "names", "shape": [1, 1], "datatype": "BYTES", "data": ["c"]}],
             "parameters": {"binary_data_output": true},
             "outputs": [{"name": "y", "parameters": {"binary_data": true}}, {"name": "s", "parameters": {"binary_data": false}}]}
            """)), CancellationToken.None);

        var outputs = BinaryOutputs(reply);
        Assert.Equal([0.5f, 0.5f], Floats(outputs["y"]));
        var header = JsonDocument.Parse(reply.Body.AsMemory(0, reply.HeaderLength!.Value)).RootElement;
        var s = header.GetProperty("outputs").EnumerateArray().Single(o => o.GetProperty("name").GetString() == "s");
        Assert.Equal(["c"], s.GetProperty("data").EnumerateArray().Select(d => d.GetString()));
        Assert.False(s.TryGetProperty("parameters", out _));
    }

    [Theory]
    [InlineData(16, 2, 5, 1, 0, "add up to 23 bytes but 24 bytes follow")]
    [InlineData(16, 2, 7, 0, 0, "add up to more than the 23 bytes")]
    [InlineData(16, 2, 5, 0, 100, "must be the length of the JSON")]
    [InlineData(12, 2, 9, 0, 0, "16 bytes) but its binary data is 12 bytes")]
    [InlineData(16, 2, 4, -1, 0, "element 0 is cut short")]
    public async Task Infer_BinarySizesThatDoNotMatchTheBody_Is400WithTheReason(int xSize, int flagSize, int namesSize, int trailingBytes, int headerOverrun, string reason)
    {
        var json = Encoding.UTF8.GetBytes(
            $$$"""{"inputs":[{"name":"x","shape":[2,2],"datatype":"FP32","parameters":{"binary_data_size":{{{xSize}}}}},"""
            + $$$"""{"name":"flag","shape":[2,1],"datatype":"BOOL","parameters":{"binary_data_size":{{{flagSize}}}}},"""
            + $$$"""{"name":"names","shape":[1,1],"datatype":"BYTES","parameters":{"binary_data_size":{{{namesSize}}}}}]}""");
        byte[] binary = [.. Floats(0, 1, 2, -1), 1, 0, .. LengthPrefixed("a"), .. new byte[Math.Max(0, trailingBytes)]];
        byte[] body = [.. json, .. binary.AsSpan(0, binary.Length + Math.Min(0, trailingBytes))];

        var reply = await _protocol.AnswerAsync("POST", "/v2/models/scorer/infer", new MemoryStream(body), body.Length,
            (json.Length + headerOverrun + (headerOverrun > 0 ? binary.Length : 0)).ToString(System.Globalization.CultureInfo.InvariantCulture), CancellationToken.None);

        Assert.Equal(400, reply.Status);
        Assert.Contains(reason, JsonDocument.Parse(reply.Body).RootElement.GetProperty("error").GetString(), StringComparison.Ordinal);
        Assert.Equal((0, 1), (_model.Requests, _model.FailedRequests));
    }

    [Fact]
    public async Task Infer_BinaryDataSizeWithoutTheHeader_Is400()
    {
        var (status, body) = await Post("/v2/models/scorer/infer",
            """{"inputs":[{"name":"x","shape":[1,2],"datatype":"FP32","parameters":{"binary_data_size":8}}]}""");

        Assert.Equal(400, status);
        Assert.Contains("no Inference-Header-Content-Length header", body.GetProperty("error").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Routes_MetadataHealthReadiness_AndTheirErrors()
    {
        var server = await Get("/v2");
        Assert.Equal("edgegreen-agent", server.Body.GetProperty("name").GetString());
        Assert.Equal(["binary_tensor_data"], server.Body.GetProperty("extensions").EnumerateArray().Select(e => e.GetString()));
        Assert.True((await Get("/v2/health/live")).Body.GetProperty("live").GetBoolean());
        Assert.True((await Get("/v2/health/ready")).Body.GetProperty("ready").GetBoolean());

        var metadata = await Get("/v2/models/scorer");
        Assert.Equal(200, metadata.Status);
        Assert.Equal("onnx_onnxv1", metadata.Body.GetProperty("platform").GetString());
        Assert.Equal(["2"], metadata.Body.GetProperty("versions").EnumerateArray().Select(v => v.GetString()));
        var x = metadata.Body.GetProperty("inputs").EnumerateArray().Single(i => i.GetProperty("name").GetString() == "x");
        Assert.Equal("FP32", x.GetProperty("datatype").GetString());
        Assert.Equal([-1, 2], x.GetProperty("shape").EnumerateArray().Select(d => d.GetInt32()));
        Assert.Equal(3, metadata.Body.GetProperty("outputs").GetArrayLength());

        Assert.Equal(200, (await Get("/v2/models/scorer/versions/2/ready")).Status);
        Assert.Equal(404, (await Get("/v2/models/scorer/versions/3/ready")).Status);
        Assert.Contains("'other' is not served", (await Get("/v2/models/other")).Body.GetProperty("error").GetString());
        Assert.Equal(404, (await Get("/v2/models/scorer/versions")).Status);
        Assert.Equal(404, (await Get("/v3")).Status);
        Assert.Equal(405, (await Get("/v2/models/scorer/infer")).Status);
        Assert.Equal(405, (await Post("/v2/models/scorer/ready", "{}")).Status);

        // A closed model answers as not served; its session may then be disposed.
        _serving.Dispose();
        _model.Close();
        Assert.Equal(404, (await Get("/v2/models/scorer/ready")).Status);
        Assert.Throws<InvalidOperationException>(() =>
        {
            using var first = _models.Add(new ServedModel("twice", "1", _session));
            using var second = _models.Add(new ServedModel("twice", "1", _session));
        });
    }

    [Fact]
    public async Task Infer_DeclaredLengthOverTheLimit_Answers413AfterReadingTheBodyToItsEnd()
    {
        using var body = new MemoryStream(Encoding.UTF8.GetBytes("{\"inputs\": []}"));

        var (status, json) = await _protocol.AnswerAsync("POST", "/v2/models/scorer/infer", body, OpenInferenceProtocol.MaxBodyBytes + 1L, CancellationToken.None);

        Assert.Equal(413, status);
        Assert.Contains("64 MiB", JsonDocument.Parse(json).RootElement.GetProperty("error").GetString(), StringComparison.Ordinal);
        Assert.Equal(body.Length, body.Position);
    }

    [Fact]
    public async Task Infer_BodyOverTheLimitWithoutALength_Answers413()
    {
        using var body = new MemoryStream(new byte[OpenInferenceProtocol.MaxBodyBytes + 1]);

        var (status, json) = await _protocol.AnswerAsync("POST", "/v2/models/scorer/infer", body, CancellationToken.None);

        Assert.Equal(413, status);
        Assert.True(JsonDocument.Parse(json).RootElement.TryGetProperty("error", out _));
    }

    public void Dispose()
    {
        _serving.Dispose();
        _session.Dispose();
    }

    /// <summary>The outputs of a binary response as the spec lays it out (and Triton's InferResult reads it): JSON of the header's length, then each binary output's bytes in order.</summary>
    private static Dictionary<string, byte[]> BinaryOutputs(OpenInferenceReply reply)
    {
        Assert.Equal(200, reply.Status);
        var headerLength = Assert.NotNull(reply.HeaderLength);
        var header = JsonDocument.Parse(reply.Body.AsMemory(0, headerLength)).RootElement;
        var outputs = new Dictionary<string, byte[]>();
        var at = headerLength;
        foreach (var output in header.GetProperty("outputs").EnumerateArray())
        {
            if (output.TryGetProperty("parameters", out var parameters) && parameters.TryGetProperty("binary_data_size", out var size))
            {
                Assert.False(output.TryGetProperty("data", out _));
                outputs[output.GetProperty("name").GetString()!] = reply.Body[at..(at + size.GetInt32())];
                at += size.GetInt32();
            }
        }

        Assert.Equal(reply.Body.Length, at);
        return outputs;
    }

    private static byte[] Floats(params float[] values) => [.. values.SelectMany(BitConverter.GetBytes)];

    private static float[] Floats(byte[] bytes) => [.. Enumerable.Range(0, bytes.Length / 4).Select(i => BitConverter.ToSingle(bytes, i * 4))];

    /// <summary>A BYTES element: its 4-byte little-endian length, then its UTF-8 bytes.</summary>
    private static byte[] LengthPrefixed(string value)
    {
        var bytes = Encoding.UTF8.GetBytes(value);
        return [.. BitConverter.GetBytes((uint)bytes.Length), .. bytes];
    }

    private Task<(int Status, JsonElement Body)> Get(string path) => Answer("GET", path, "");

    private Task<(int Status, JsonElement Body)> Post(string path, string body) => Answer("POST", path, body);

    private async Task<(int Status, JsonElement Body)> Answer(string method, string path, string body)
    {
        var (status, json) = await _protocol.AnswerAsync(method, path, new MemoryStream(Encoding.UTF8.GetBytes(body)), CancellationToken.None);
        return (status, JsonDocument.Parse(json).RootElement.Clone());
    }

    /// <summary>y = sigmoid(x) over [-1, 2] floats, z = not(flag) over booleans, s = names passed through (strings).</summary>
    internal static ModelProto Model()
    {
        var graph = new GraphProto { Name = "scorer" };
        graph.Input.Add(Tensor("x", Float, -1, 2));
        graph.Input.Add(Tensor("flag", Bool, -1, 1));
        graph.Input.Add(Tensor("names", Text, -1, 1));
        graph.Node.Add(Node("Sigmoid", "", ["x"], ["y"]));
        graph.Node.Add(Node("Not", "", ["flag"], ["z"]));
        graph.Node.Add(Node("Identity", "", ["names"], ["s"]));
        graph.Output.Add(Tensor("y", Float, -1, 2));
        graph.Output.Add(Tensor("z", Bool, -1, 1));
        graph.Output.Add(Tensor("s", Text, -1, 1));
        return OnnxGraphs.Model(graph);
    }

    private sealed class Tolerance(double epsilon) : IEqualityComparer<double>
    {
        public bool Equals(double x, double y) => Math.Abs(x - y) <= epsilon;

        public int GetHashCode(double obj) => 0;
    }
}
