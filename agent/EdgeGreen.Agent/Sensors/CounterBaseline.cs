namespace EdgeGreen.Agent.Sensors;

/// <summary>
/// The previous reading of a cumulative source and when it was taken: each call hands back the
/// previous reading and the time since it, and keeps the new one. The first call has nothing to
/// compare with, and neither has a call on a clock that did not advance.
/// </summary>
internal sealed class CounterBaseline<T>(TimeProvider timeProvider) where T : class
{
    private T? _last;
    private long _lastTimestamp;

    /// <returns>The previous reading and the time since it, or null when there is no usable previous reading.</returns>
    public (T Previous, TimeSpan Elapsed)? Advance(T current, long timestamp)
    {
        var previous = _last;
        var elapsed = timeProvider.GetElapsedTime(_lastTimestamp, timestamp);
        _last = current;
        _lastTimestamp = timestamp;
        return previous is not null && elapsed > TimeSpan.Zero ? (previous, elapsed) : null;
    }
}
