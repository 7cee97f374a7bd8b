using EdgeGreen.ControlPlane.Dashboard;

namespace EdgeGreen.ControlPlane.Tests.Dashboard;

public sealed class LiveEventsTests
{
    [Fact]
    public void TakeStale_AfterABurstOfEvents_IsTrueOnceThenFalse()
    {
        var live = new LiveEvents();
        using var page = live.Subscribe([LiveTopic.Readings]);

        live.Publish(LiveTopic.Readings, "a");
        live.Publish(LiveTopic.Readings, "b");

        Assert.True(page.TakeStale());
        Assert.False(page.TakeStale());
    }

    [Fact]
    public void Publish_OtherTopicOrOtherSubject_LeavesTheSubscriptionFresh()
    {
        var live = new LiveEvents();
        using var agentPage = live.Subscribe([LiveTopic.Readings, LiveTopic.Jobs], "agent-1");

        live.Publish(LiveTopic.Deployments);
        live.Publish(LiveTopic.Readings, "agent-2");
        Assert.False(agentPage.TakeStale());

        live.Publish(LiveTopic.Readings, "agent-1");
        Assert.True(agentPage.TakeStale());
        live.Publish(LiveTopic.Jobs);
        Assert.True(agentPage.TakeStale());
    }

    [Fact]
    public void Dispose_RemovesTheSubscriber()
    {
        var live = new LiveEvents();
        var page = live.Subscribe([LiveTopic.Readings]);
        Assert.Equal(1, live.SubscriberCount);

        page.Dispose();
        live.Publish(LiveTopic.Readings);

        Assert.Equal(0, live.SubscriberCount);
        Assert.False(page.TakeStale());
    }
}

public sealed class UnitsTests
{
    [Theory]
    [InlineData(0.5, "0.5 W")]
    [InlineData(12.345, "12.3 W")]
    [InlineData(1234.5, "1.23 kW")]
    [InlineData(2_500_000, "2.5 MW")]
    public void Power_PicksTheUnitThatKeepsTheNumberReadable(double watts, string expected) => Assert.Equal(expected, Units.Power(watts));

    [Theory]
    [InlineData(67.6, "67.6 J")]
    [InlineData(3599, "3.6 kJ")]
    [InlineData(7200, "2 Wh")]
    [InlineData(3.6e6 * 1.5, "1.5 kWh")]
    [InlineData(3.6e9 * 2, "2 MWh")]
    public void Energy_JoulesBelowAWattHourThenWattHours(double joules, string expected) => Assert.Equal(expected, Units.Energy(joules));

    [Theory]
    [InlineData(0.00133, "0.00133 g CO₂e")]
    [InlineData(1530, "1.53 kg CO₂e")]
    [InlineData(2_000_000, "2 t CO₂e")]
    public void Carbon_GramsKilogramsTonnes(double grams, string expected) => Assert.Equal(expected, Units.Carbon(grams));

    [Fact]
    public void Exact_KeepsTheStoredValue() => Assert.Equal("1234.56789 W", Units.Exact(1234.56789, "W"));
}
