using EdgeGreen.Agent.Uplink;

namespace EdgeGreen.Agent.Tests;

public sealed class ReconnectBackoffTests
{
    [Fact]
    public void Next_GrowsExponentiallyWithinBoundsAndResets()
    {
        var min = TimeSpan.FromMilliseconds(100);
        var max = TimeSpan.FromSeconds(2);
        var backoff = new ReconnectBackoff(min, max, new Random(7));

        var delays = Enumerable.Range(0, 12).Select(_ => backoff.Next()).ToList();

        Assert.All(delays, d => Assert.InRange(d, min, max));
        for (var attempt = 0; attempt < delays.Count; attempt++)
        {
            var ceiling = TimeSpan.FromTicks((long)Math.Min(max.Ticks, min.Ticks * Math.Pow(2, attempt)));
            Assert.True(delays[attempt] <= ceiling, $"attempt {attempt}: {delays[attempt]} above {ceiling}");
        }

        Assert.True(delays.Skip(6).Max() > TimeSpan.FromMilliseconds(400), "later delays should spread towards the maximum");
        backoff.Reset();
        Assert.Equal(min, backoff.Next());
    }
}
