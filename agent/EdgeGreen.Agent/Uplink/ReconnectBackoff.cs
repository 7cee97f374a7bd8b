namespace EdgeGreen.Agent.Uplink;

/// <summary>
/// Exponential backoff with full jitter (a uniformly random delay up to the current ceiling), so
/// that a fleet reconnecting after an outage does not arrive all at once.
/// </summary>
internal sealed class ReconnectBackoff(TimeSpan minDelay, TimeSpan maxDelay, Random random)
{
    private int _attempt;

    public TimeSpan Next()
    {
        var ceilingTicks = Math.Min(maxDelay.Ticks, minDelay.Ticks * Math.Pow(2, Math.Min(_attempt, 30)));
        _attempt++;
        return TimeSpan.FromTicks(minDelay.Ticks + (long)(random.NextDouble() * (ceilingTicks - minDelay.Ticks)));
    }

    public void Reset() => _attempt = 0;
}
