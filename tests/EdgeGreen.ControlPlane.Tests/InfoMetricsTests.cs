using System.Net.Http.Json;

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
}
