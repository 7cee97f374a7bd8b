using Prometheus;

namespace EdgeGreen.ControlPlane.Core;

public static class LabelledSeries
{
    /// <summary>
    /// Creates the counter's series for each of <paramref name="values"/> at zero. A series that
    /// first appears at 1 looks to <c>rate()</c> and <c>increase()</c> like no change at all, so
    /// the first refusal, failure or finished job would be lost to alerts.
    /// </summary>
    public static Counter WithSeries(this Counter counter, params IEnumerable<string> values)
    {
        ArgumentNullException.ThrowIfNull(counter);
        foreach (var value in values)
        {
            counter.WithLabels(value);
        }

        return counter;
    }
}
