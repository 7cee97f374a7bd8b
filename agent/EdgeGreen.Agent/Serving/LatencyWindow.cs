namespace EdgeGreen.Agent.Serving;

/// <summary>
/// The durations of the last <see cref="Capacity"/> answered requests, in a ring, so a percentile
/// reflects recent traffic in bounded memory whatever the request rate.
/// </summary>
public sealed class LatencyWindow
{
    /// <summary>How many of the latest durations are kept.</summary>
    public const int Capacity = 1024;

    private readonly Lock _gate = new();
    private readonly double[] _milliseconds = new double[Capacity];
    private long _count;

    public void Add(TimeSpan duration)
    {
        lock (_gate)
        {
            _milliseconds[_count % Capacity] = duration.TotalMilliseconds;
            _count++;
        }
    }

    /// <summary>The nearest-rank percentile (0 &lt; <paramref name="percentile"/> ≤ 100) of the window, in milliseconds; 0 when empty.</summary>
    public double Percentile(double percentile)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(percentile);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(percentile, 100);
        double[] window;
        lock (_gate)
        {
            window = _milliseconds[..(int)Math.Min(_count, Capacity)];
        }

        if (window.Length == 0)
        {
            return 0;
        }

        Array.Sort(window);
        var rank = (int)Math.Ceiling(percentile / 100 * window.Length);
        return window[Math.Clamp(rank, 1, window.Length) - 1];
    }
}
