namespace EdgeGreen.Agent.Tests;

public sealed class AgentOptionsValidatorTests
{
    [Fact]
    public void Validate_OutboxSmallerThanOneLinger_FailsNamingMaxReadings()
    {
        var options = new AgentOptions
        {
            SampleInterval = TimeSpan.FromMilliseconds(10),
            Uplink = { Linger = TimeSpan.FromMinutes(1) },
            Outbox = { MaxReadings = 5_000 },
        };

        var result = new AgentOptionsValidator("EdgeGreen:Agent", requireControlPlaneUrl: false).Validate(null, options);

        Assert.True(result.Failed);
        var failure = Assert.Single(result.Failures!);
        Assert.Contains("EdgeGreen:Agent:Outbox:MaxReadings", failure, StringComparison.Ordinal);
        Assert.Contains("6000", failure, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_MonitoringOutOfRange_FailsNamingEachKey()
    {
        var options = new AgentOptions
        {
            Monitoring = { MaxPendingSummaries = 1, MaxPredictionsPerWindow = -1, SendInterval = TimeSpan.Zero, MaxBatchBytes = 5 * 1024 * 1024 },
        };

        var result = new AgentOptionsValidator("EdgeGreen:Agent", requireControlPlaneUrl: false).Validate(null, options);

        Assert.Equal(
            ["MaxPendingSummaries", "MaxPredictionsPerWindow", "SendInterval", "MaxBatchBytes"],
            result.Failures!.Select(f => f.Split(' ')[0]["EdgeGreen:Agent:Monitoring:".Length..]));
    }

    [Fact]
    public void Validate_Defaults_Succeed() =>
        Assert.True(new AgentOptionsValidator("EdgeGreen:Agent", requireControlPlaneUrl: false).Validate(null, new AgentOptions()).Succeeded);
}
