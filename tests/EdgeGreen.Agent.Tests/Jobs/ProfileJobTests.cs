using System.Text.Json;
using EdgeGreen.Agent.Jobs;
using EdgeGreen.Agent.Jobs.Ml;

namespace EdgeGreen.Agent.Tests.Jobs;

/// <summary>The profile kind on a model registered from outside, with no dataset: synthetic inputs of the model's shape.</summary>
public sealed class ProfileJobTests : IDisposable
{
    private readonly SysfsTree _work = new();

    [Fact]
    public async Task Profile_ImageModelWithAFixedBatch_MeasuresThatBatchAndSkipsTheOthers()
    {
        var execution = new JobExecution("job", new Dictionary<string, string>
        {
            ["model"] = "models:/ultraface/1", ["modelName"] = "ultraface", ["modelVersion"] = "1", ["modelSha256"] = "abc", ["secondsPerConfiguration"] = "1",
        }, 1, _ => { }, new JobCpuUsage("/proc"))
        {
            Artifacts = new OneFileArtifacts(Path.Combine(AppContext.BaseDirectory, "fixtures", "models", "ultraface-RFB-320.onnx")),
            WorkDirectory = _work.Root,
        };

        await new ProfileJob().RunAsync(execution, CancellationToken.None);

        var output = execution.Output;
        Assert.Equal("READY", output.Status);
        var measured = JsonSerializer.Deserialize<ProfileResult[]>(output.Details["profile"], JsonSerializerOptions.Web)!;
        Assert.All(measured, r => Assert.Equal(1, r.BatchSize));
        Assert.Equal(Environment.ProcessorCount > 1 ? 2 : 1, measured.Length);
        Assert.All(measured, r => Assert.True(r.InferencesPerSecond > 0));
        Assert.Contains("batch 8, 1 thread(s): the model takes batches of 1 only", output.Details["skipped"]);
        Assert.Contains("batch 64", output.Details["skipped"]);
        Assert.StartsWith("synthetic", output.Details["inputs"]);
    }

    [Fact]
    public void Validate_DatasetIsOptional_ButNotEmpty()
    {
        Assert.Empty(new ProfileJob().Spec.Validate(new Dictionary<string, string> { ["model"] = "models:/ultraface/1" }));
        Assert.Contains("dataset", new ProfileJob().Spec.Validate(new Dictionary<string, string> { ["model"] = "models:/ultraface/1", ["dataset"] = " " }).Keys);
    }

    public void Dispose() => _work.Dispose();
}
