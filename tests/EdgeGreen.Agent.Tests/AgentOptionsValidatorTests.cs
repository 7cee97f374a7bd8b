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
    public void Validate_Defaults_Succeed() =>
        Assert.True(new AgentOptionsValidator("EdgeGreen:Agent", requireControlPlaneUrl: false).Validate(null, new AgentOptions()).Succeeded);
}
