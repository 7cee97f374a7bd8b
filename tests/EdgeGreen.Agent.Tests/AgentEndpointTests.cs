using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Prometheus;

namespace EdgeGreen.Agent.Tests;

public sealed class AgentEndpointTests
{
    [Fact]
    public async Task Endpoint_ServesMetricsHealthAndInference_AndNothingElse()
    {
        var registry = Metrics.NewCustomRegistry();
        Metrics.WithCustomRegistry(registry).CreateCounter("edgegreen_agent_test_total", "A test series.").Inc(3);
        var port = FreePort();
        using var endpoint = new AgentEndpoint(Options.Create(new AgentOptions { HttpUrl = $"http://127.0.0.1:{port}" }), registry,
            new EdgeGreen.Agent.Serving.OpenInferenceProtocol(new EdgeGreen.Agent.Serving.ServedModels()), NullLogger<AgentEndpoint>.Instance);
        await endpoint.StartAsync(CancellationToken.None);
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/") };

        var metrics = await http.GetAsync("metrics");
        Assert.Equal(HttpStatusCode.OK, metrics.StatusCode);
        Assert.Contains("edgegreen_agent_test_total 3", await metrics.Content.ReadAsStringAsync());
        Assert.Equal("text/plain", metrics.Content.Headers.ContentType?.MediaType);
        Assert.Equal("Healthy", await http.GetStringAsync("healthz"));
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync("other")).StatusCode);

        // The inference protocol answers under /v2, in JSON.
        var ready = await http.GetAsync("v2/health/ready");
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        Assert.Equal("application/json", ready.Content.Headers.ContentType?.MediaType);
        Assert.Contains("\"ready\":true", await ready.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync("v2/models/absent/ready")).StatusCode);
        Assert.Equal(HttpStatusCode.MethodNotAllowed, (await http.PostAsync("metrics", null)).StatusCode);

        await endpoint.StopAsync(CancellationToken.None);
        await Assert.ThrowsAsync<HttpRequestException>(() => http.GetAsync("healthz"));
    }

    [Fact]
    public async Task Endpoint_InferBodyOver64MiB_Answers413WithTheProtocolsError()
    {
        var port = FreePort();
        using var endpoint = new AgentEndpoint(Options.Create(new AgentOptions { HttpUrl = $"http://127.0.0.1:{port}" }), Metrics.NewCustomRegistry(),
            new EdgeGreen.Agent.Serving.OpenInferenceProtocol(new EdgeGreen.Agent.Serving.ServedModels()), NullLogger<AgentEndpoint>.Instance);
        await endpoint.StartAsync(CancellationToken.None);
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/") };

        using var response = await http.PostAsync("v2/models/any/infer", new ByteArrayContent(new byte[70 * 1024 * 1024]));

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains("\"error\":", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        await endpoint.StopAsync(CancellationToken.None);
    }

    [Fact]
    public async Task Endpoint_BinaryTensorRequest_AnswersBinaryOutputsWithTheHeaderLength()
    {
        using var session = new Microsoft.ML.OnnxRuntime.InferenceSession(Google.Protobuf.MessageExtensions.ToByteArray(Serving.OpenInferenceProtocolTests.Model()));
        var models = new EdgeGreen.Agent.Serving.ServedModels();
        using var serving = models.Add(new EdgeGreen.Agent.Serving.ServedModel("scorer", "1", session));
        var port = FreePort();
        using var endpoint = new AgentEndpoint(Options.Create(new AgentOptions { HttpUrl = $"http://127.0.0.1:{port}" }), Metrics.NewCustomRegistry(),
            new EdgeGreen.Agent.Serving.OpenInferenceProtocol(models), NullLogger<AgentEndpoint>.Instance);
        await endpoint.StartAsync(CancellationToken.None);
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/") };
        var json = System.Text.Encoding.UTF8.GetBytes(
            """{"inputs":[{"name":"x","shape":[1,2],"datatype":"FP32","parameters":{"binary_data_size":8}},"""
            + """{"name":"flag","shape":[1,1],"datatype":"BOOL","data":[true]},{"name":"names","shape":[1,1],"datatype":"BYTES","data":["a"]}]"""
            + ""","outputs":[{"name":"z","parameters":{"binary_data":true}}]}""");
        using var request = new HttpRequestMessage(HttpMethod.Post, "v2/models/scorer/infer") { Content = new ByteArrayContent([.. json, .. new byte[8]]) };
        request.Headers.Add("Inference-Header-Content-Length", json.Length.ToString(System.Globalization.CultureInfo.InvariantCulture));

        using var response = await http.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/octet-stream", response.Content.Headers.ContentType?.MediaType);
        var headerLength = int.Parse(response.Headers.GetValues("Inference-Header-Content-Length").Single(), System.Globalization.CultureInfo.InvariantCulture);
        var body = await response.Content.ReadAsByteArrayAsync();
        Assert.Contains("\"binary_data_size\":1", System.Text.Encoding.UTF8.GetString(body, 0, headerLength), StringComparison.Ordinal);
        Assert.Equal([0], body[headerLength..]);
        await endpoint.StopAsync(CancellationToken.None);
    }

    [Theory]
    [InlineData("http://localhost:5090/", true)]
    [InlineData("http://+:5090", true)]
    [InlineData("http://[::1]:5090/", true)]
    [InlineData("https://localhost:5090/", false)]
    [InlineData("localhost:5090", false)]
    [InlineData("http://localhost/", false)]
    public void Validation_HttpUrl_MustBeHttpHostAndPort(string url, bool valid)
    {
        var result = new AgentOptionsValidator("EdgeGreen:Agent", requireControlPlaneUrl: false).Validate(null, new AgentOptions { HttpUrl = url });

        Assert.Equal(valid, result.Succeeded);
    }

    [Theory]
    [InlineData(null, true)]
    [InlineData("http://+:5091", true)]
    [InlineData("https://localhost:5091", false)]
    public void Validation_GrpcUrl_OffOrHttpHostAndPort(string? url, bool valid)
    {
        var result = new AgentOptionsValidator("EdgeGreen:Agent", requireControlPlaneUrl: false).Validate(null, new AgentOptions { GrpcUrl = url });

        Assert.Equal(valid, result.Succeeded);
        Assert.Equal(valid, result.FailureMessage?.Contains("EdgeGreen:Agent:GrpcUrl", StringComparison.Ordinal) != true);
    }

    internal static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
