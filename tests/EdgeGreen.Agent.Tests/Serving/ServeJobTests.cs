using System.Text;
using System.Text.Json;
using EdgeGreen.Agent.Jobs;
using EdgeGreen.Agent.Jobs.Ml;
using EdgeGreen.Agent.Serving;
using EdgeGreen.Agent.Tests.Jobs;
using Google.Protobuf;

namespace EdgeGreen.Agent.Tests.Serving;

/// <summary>The serve kind: the model is served for the job's duration, then withdrawn, with what it served as metrics.</summary>
public sealed class ServeJobTests : IDisposable
{
    private readonly SysfsTree _work = new();

    [Fact]
    public async Task Serve_AnswersWhileRunning_ThenWithdraws_AndReportsWhatItServed()
    {
        var models = new ServedModels();
        var protocol = new OpenInferenceProtocol(models);
        var modelFile = Path.Combine(_work.Root, "scorer.onnx");
        await File.WriteAllBytesAsync(modelFile, OpenInferenceProtocolTests.Model().ToByteArray());
        var execution = new JobExecution("job", new Dictionary<string, string>
        {
            ["model"] = "models:/scorer/4", ["modelName"] = "scorer", ["modelVersion"] = "4", ["modelSha256"] = "abc", ["duration"] = "PT3S",
        }, 1, _ => { }, new JobCpuUsage("/proc"))
        {
            Artifacts = new OneFileArtifacts(modelFile),
            WorkDirectory = _work.Root,
        };

        var run = new ServeJob(models).RunAsync(execution, CancellationToken.None);
        var waited = System.Diagnostics.Stopwatch.StartNew();
        while (models.Find("scorer", "4") is null)
        {
            Assert.False(run.IsCompleted, "the job ended before serving");
            Assert.True(waited.Elapsed < TimeSpan.FromSeconds(10), "the model is served within 10 s");
            await Task.Delay(20);
        }

        var (status, json) = await protocol.AnswerAsync("POST", "/v2/models/scorer/infer", Body("""
            {"inputs": [{"name": "x", "shape": [3, 2], "datatype": "FP32", "data": [0, 0, 1, 1, 2, 2]},
                        {"name": "flag", "shape": [3, 1], "datatype": "BOOL", "data": [true, true, false]},
                        {"name": "names", "shape": [3, 1], "datatype": "BYTES", "data": ["a", "b", "c"]}]}
            """), CancellationToken.None);
        Assert.Equal(200, status);
        Assert.Equal("4", JsonDocument.Parse(json).RootElement.GetProperty("model_version").GetString());
        Assert.Equal(400, (await protocol.AnswerAsync("POST", "/v2/models/scorer/infer", Body("{}"), CancellationToken.None)).Status);

        await run;

        Assert.Null(models.Find("scorer", null));
        Assert.Equal(404, (await protocol.AnswerAsync("GET", "/v2/models/scorer/ready", Body(""), CancellationToken.None)).Status);
        var metrics = execution.Output.Metrics;
        Assert.Equal((1, 3, 1), (metrics["requests"], metrics["inferences"], metrics["failedRequests"]));
        Assert.True(metrics["meanLatencyMilliseconds"] > 0);
    }

    [Theory]
    [InlineData("duration", "", "duration")]
    [InlineData("duration", "P8D", "duration")]
    [InlineData("threads", "0", "threads")]
    [InlineData("dataset", "credit", "dataset")]
    [InlineData("model", "credit", "model")]
    public void Validate_BadParameter_IsNamed(string key, string value, string field)
    {
        var parameters = new Dictionary<string, string> { ["model"] = "models:/credit/1", ["duration"] = "PT1H", [key] = value };

        Assert.Contains(field, new ServeJob().Spec.Validate(parameters).Keys);
        Assert.Empty(new ServeJob().Spec.Validate(new Dictionary<string, string> { ["model"] = "models:/credit@champion", ["duration"] = "PT1H", ["threads"] = "2" }));
    }

    public void Dispose() => _work.Dispose();

    private static MemoryStream Body(string json) => new(Encoding.UTF8.GetBytes(json));
}
