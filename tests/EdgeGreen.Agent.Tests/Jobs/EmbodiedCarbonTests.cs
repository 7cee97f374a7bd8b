using EdgeGreen.Agent.Jobs;

namespace EdgeGreen.Agent.Tests.Jobs;

public sealed class EmbodiedCarbonTests
{
    [Fact]
    public void Grams_ShareOfTimeAndCores_IsTheShareOfTotal()
    {
        var machine = new EmbodiedCarbon(TotalGrams: 876_000, Lifespan: TimeSpan.FromDays(365), Cores: 8);

        Assert.Equal(100 * 2.0 / 8, machine.Grams(TimeSpan.FromHours(1), coresReserved: 2), 9);
        Assert.Equal(100, machine.Grams(TimeSpan.FromHours(1), coresReserved: 16), 9);
        Assert.Equal(0, machine.Grams(TimeSpan.Zero, coresReserved: 8));
    }

    [Fact]
    public void From_NotConfigured_IsNull()
    {
        Assert.Null(EmbodiedCarbon.From(new EmbodiedOptions()));
        Assert.Equal(TimeSpan.FromDays(4 * 365.25), EmbodiedCarbon.From(new EmbodiedOptions { CarbonGrams = 1 })!.Lifespan);
    }

    [Theory]
    [InlineData(-1.0, 1.0, "Embodied:CarbonGrams")]
    [InlineData(double.NaN, 1.0, "Embodied:CarbonGrams")]
    [InlineData(1.0, 0.0, "Embodied:Lifespan")]
    public void Validation_BadEmbodiedSetting_NamesTheKey(double grams, double lifespanDays, string key)
    {
        var options = new AgentOptions { Embodied = new EmbodiedOptions { CarbonGrams = grams, Lifespan = TimeSpan.FromDays(lifespanDays) } };

        var result = new AgentOptionsValidator("EdgeGreen:Agent", requireControlPlaneUrl: false).Validate(null, options);

        Assert.True(result.Failed);
        Assert.Contains(key, result.FailureMessage);
    }
}
