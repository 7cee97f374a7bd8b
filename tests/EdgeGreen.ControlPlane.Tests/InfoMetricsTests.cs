using System.Globalization;
using System.Net.Http.Json;
using EdgeGreen.ControlPlane.Core.Carbon;

namespace EdgeGreen.ControlPlane.Tests;

/// <summary>The descriptive series on the control plane's /metrics and the labelled counters that exist from the start.</summary>
public sealed class InfoMetricsTests : ControlPlaneTest
{
    [Fact]
    public async Task Metrics_ShowBuildAndAgents_AndLabelledCountersAtZero()
    {
        using var raw = await RawAgent.EnrolAsync(ControlPlane, "edge-7");
        using var http = ControlPlane.CreateClient();

        var metrics = await http.GetStringAsync(new Uri("/metrics", UriKind.Relative));

        Assert.Matches("edgegreen_build_info\\{version=\"[^\"]+\",runtime=\"[^\"]+\"\\} 1", metrics);
        Assert.Contains($"edgegreen_agent_info{{agent=\"{raw.AgentId}\",name=\"edge-7\",zone=\"", metrics, StringComparison.Ordinal);
        // First increments are not lost to rate(): the series exist at zero before anything happens.
        Assert.Contains("edgegreen_jobs_finished_total{status=\"failed\"} 0", metrics, StringComparison.Ordinal);
        Assert.Contains("edgegreen_ingest_batches_rejected_total{status=\"InvalidArgument\"} 0", metrics, StringComparison.Ordinal);
        Assert.Contains("edgegreen_telemetry_retention_deleted_total{tier=\"raw\"} 0", metrics, StringComparison.Ordinal);

        // A zone override shows in the next scrape.
        using var admin = ControlPlane.CreateClient(ControlPlane.AdminKey);
        (await admin.PutAsJsonAsync(new Uri($"/api/v1/agents/{raw.AgentId}/zone", UriKind.Relative), new { zone = "NO" })).EnsureSuccessStatusCode();
        var after = await http.GetStringAsync(new Uri("/metrics", UriKind.Relative));
        Assert.Contains($"edgegreen_agent_info{{agent=\"{raw.AgentId}\",name=\"edge-7\",zone=\"NO\"}} 1", after, StringComparison.Ordinal);
        Assert.DoesNotContain($"edgegreen_agent_info{{agent=\"{raw.AgentId}\",name=\"edge-7\",zone=\"ES\"}}", after, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Metrics_GridIntensityPerZone_FromTheLastRefreshNeverFromTheScrape()
    {
        using var raw = await RawAgent.EnrolAsync(ControlPlane, "edge-es");
        using var http = ControlPlane.CreateClient();
        var gauge = ControlPlane.Service<IntensityGauge>();
        var before = await http.GetStringAsync(new Uri("/metrics", UriKind.Relative));
        Assert.DoesNotContain("edgegreen_grid_intensity_grams_per_kwh{zone=\"ES\"}", before, StringComparison.Ordinal);

        await gauge.RefreshAsync(CancellationToken.None);

        var expected = (await ControlPlane.Service<CarbonIntensity>().GetCurrentAsync("ES", CancellationToken.None))!.IntensityGramsPerKwh;
        var metrics = await http.GetStringAsync(new Uri("/metrics", UriKind.Relative));
        var line = metrics.Split('\n').Single(l => l.StartsWith("edgegreen_grid_intensity_grams_per_kwh{zone=\"ES\"} ", StringComparison.Ordinal));
        Assert.Equal(expected, double.Parse(line.Split(' ')[1], CultureInfo.InvariantCulture), 6);

        // The zone's last agent moves away: its series goes at the next refresh.
        using var admin = ControlPlane.CreateClient(ControlPlane.AdminKey);
        (await admin.PutAsJsonAsync(new Uri($"/api/v1/agents/{raw.AgentId}/zone", UriKind.Relative), new { zone = "NO" })).EnsureSuccessStatusCode();
        await gauge.RefreshAsync(CancellationToken.None);
        var after = await http.GetStringAsync(new Uri("/metrics", UriKind.Relative));
        Assert.DoesNotContain("edgegreen_grid_intensity_grams_per_kwh{zone=\"ES\"}", after, StringComparison.Ordinal);
        Assert.Contains("edgegreen_grid_intensity_grams_per_kwh{zone=\"NO\"}", after, StringComparison.Ordinal);
    }

    /// <summary>The periodic refresh waits a day here, so only the test's own refreshes fill the gauge.</summary>
    protected override IReadOnlyDictionary<string, string?>? Settings => new Dictionary<string, string?>
    {
        ["EdgeGreen:Carbon:IntensityGaugeInterval"] = "1.00:00:00",
    };
}
