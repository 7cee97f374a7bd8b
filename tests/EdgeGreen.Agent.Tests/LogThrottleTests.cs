using EdgeGreen.Shared;
using Microsoft.Extensions.Time.Testing;

namespace EdgeGreen.Agent.Tests;

public sealed class LogThrottleTests
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 28, 12, 0, 0, TimeSpan.Zero));

    [Fact]
    public void ShouldLog_RepeatsWithinTheInterval_HeldBackAndCountedOnTheNextLine()
    {
        var throttle = new LogThrottle(_time, TimeSpan.FromMinutes(1));

        Assert.True(throttle.ShouldLog("outbox-full", out var first));
        Assert.Equal(0, first);
        for (var i = 0; i < 5; i++)
        {
            _time.Advance(TimeSpan.FromSeconds(10));
            Assert.False(throttle.ShouldLog("outbox-full", out _));
        }

        _time.Advance(TimeSpan.FromSeconds(10));
        Assert.True(throttle.ShouldLog("outbox-full", out var suppressed));
        Assert.Equal(5, suppressed);
    }

    [Fact]
    public void ShouldLog_DifferentKeys_ThrottledApart()
    {
        var throttle = new LogThrottle(_time);

        Assert.True(throttle.ShouldLog("sensor:a", out _));
        Assert.True(throttle.ShouldLog("sensor:b", out _));
        Assert.False(throttle.ShouldLog("sensor:a", out _));
    }

    [Fact]
    public void ShouldLog_MoreKeysThanTracked_ShareOneSlotAndStayBounded()
    {
        var throttle = new LogThrottle(_time);
        for (var i = 0; i < LogThrottle.MaxKeys; i++)
        {
            Assert.True(throttle.ShouldLog($"agent-{i}", out _));
        }

        Assert.True(throttle.ShouldLog("one-too-many", out _));
        Assert.False(throttle.ShouldLog("and-another", out _));

        // Once the interval passes, the old keys are forgotten and new keys get their own slots.
        _time.Advance(TimeSpan.FromMinutes(1));
        Assert.True(throttle.ShouldLog("fresh", out _));
        Assert.True(throttle.ShouldLog("fresh-too", out _));
    }
}
