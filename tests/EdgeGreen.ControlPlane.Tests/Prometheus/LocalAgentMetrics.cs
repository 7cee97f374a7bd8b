namespace EdgeGreen.ControlPlane.Tests.Prometheus;

/// <summary>The control plane's /metrics once its local agent's series are on it.</summary>
internal static class LocalAgentMetrics
{
    /// <summary>Scrapes /metrics until the local agent has reported power.</summary>
    public static async Task<string> ScrapeAsync(TestControlPlane controlPlane, TimeSpan patience)
    {
        using var http = controlPlane.CreateClient();
        var metrics = "";
        await Eventually.WaitUntilAsync(async () =>
        {
            metrics = await http.GetStringAsync(new Uri("/metrics", UriKind.Relative));
            return metrics.Contains("edgegreen_agent_power_watts{", StringComparison.Ordinal);
        }, patience, "the local agent's series are on /metrics");
        return metrics;
    }

    /// <summary>
    /// The series names an exposition declares: each family in its <c># TYPE</c> line (present
    /// whether or not the family has a labelled series yet), with the <c>_bucket</c>, <c>_sum</c>
    /// and <c>_count</c> series of histograms and summaries.
    /// </summary>
    public static IReadOnlySet<string> SeriesNames(string exposition)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var line in exposition.Split('\n'))
        {
            var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (fields is not ["#", "TYPE", var name, var type])
            {
                continue;
            }

            names.Add(name);
            string[] suffixes = type switch
            {
                "histogram" => ["_bucket", "_sum", "_count"],
                "summary" => ["_sum", "_count"],
                _ => [],
            };
            names.UnionWith(suffixes.Select(suffix => name + suffix));
        }

        return names;
    }
}
