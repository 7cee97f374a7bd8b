using System.Text;
using Prometheus;

namespace EdgeGreen.Agent.Tests;

internal static class MetricsText
{
    /// <summary>The registry as Prometheus text exposition, as a scrape would see it.</summary>
    public static string Scrape(CollectorRegistry registry)
    {
        using var stream = new MemoryStream();
        registry.CollectAndExportAsTextAsync(stream).GetAwaiter().GetResult();
        return Encoding.UTF8.GetString(stream.ToArray());
    }
}
