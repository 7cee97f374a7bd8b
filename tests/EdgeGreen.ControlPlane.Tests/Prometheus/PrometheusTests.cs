using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;

namespace EdgeGreen.ControlPlane.Tests.Prometheus;

/// <summary>
/// The control plane's /metrics as Prometheus's own tools judge it: <c>promtool check metrics</c>
/// finds no problem in the exposition, a real Prometheus server scrapes it and answers queries over
/// the series, and the shipped scrape configuration passes <c>promtool check config</c>.
/// </summary>
public sealed class PrometheusTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    [RequiresProgramFact("promtool")]
    public async Task Metrics_WithTheLocalAgent_PassPromtoolCheckMetrics()
    {
        using var temp = new TempDirectory();
        await using var controlPlane = await TestControlPlane.StartAsync(temp.Path, localAgent: true);
        var metrics = await LocalAgentMetrics.ScrapeAsync(controlPlane, Patience);

        var (exitCode, output) = await ExternalProgram.RunAsync(ExternalProgram.Require("promtool"), ["check", "metrics"], Patience, input: metrics);

        Assert.True(exitCode == 0 && output.Trim().Length == 0, $"promtool check metrics ({exitCode}):\n{output}");
    }

    [RequiresProgramFact("prometheus")]
    public async Task Prometheus_ScrapesTheControlPlane_AndAnswersQueriesOverItsSeries()
    {
        using var temp = new TempDirectory();
        await using var controlPlane = await TestControlPlane.StartAsync(temp.Path, localAgent: true);
        var port = LoopbackPorts.Free();
        var config = Path.Combine(temp.Path, "prometheus.yml");
        await File.WriteAllTextAsync(config, $"""
            global:
              scrape_interval: 1s
            scrape_configs:
              - job_name: edgegreen-controlplane
                static_configs:
                  - targets: ["{controlPlane.HttpUrl.Authority}"]
            """);
        using var prometheus = Process.Start(new ProcessStartInfo(ExternalProgram.Require("prometheus"),
            [$"--config.file={config}", $"--storage.tsdb.path={Path.Combine(temp.Path, "tsdb")}", $"--web.listen-address=127.0.0.1:{port}"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        })!;
        var log = prometheus.StandardError.ReadToEndAsync();
        try
        {
            using var api = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/"), Timeout = TimeSpan.FromSeconds(10) };
            JsonElement result = default;
            await Eventually.WaitUntilAsync(async () =>
            {
                if (prometheus.HasExited)
                {
                    return true;
                }

                try
                {
                    result = await QueryAsync(api, "edgegreen_agent_info");
                    return result.GetArrayLength() > 0;
                }
                catch (HttpRequestException)
                {
                    return false;
                }
            }, Patience, "Prometheus scrapes the control plane and holds the local agent's info series");
            Assert.False(prometheus.HasExited, "prometheus exited");

            var up = await QueryAsync(api, "up{job=\"edgegreen-controlplane\"}");
            Assert.Equal("1", up[0].GetProperty("value")[1].GetString());
            var agent = result[0].GetProperty("metric");
            Assert.StartsWith("local-", agent.GetProperty("name").GetString(), StringComparison.Ordinal);
            Assert.Equal(1, double.Parse(result[0].GetProperty("value")[1].GetString()!, CultureInfo.InvariantCulture));
            // Labelled counters exist at zero from the first scrape, so rate() sees their first increment.
            var failed = await QueryAsync(api, "edgegreen_jobs_finished_total{status=\"failed\"}");
            Assert.Equal("0", failed[0].GetProperty("value")[1].GetString());
        }
        finally
        {
            prometheus.Kill();
            await prometheus.WaitForExitAsync();
            await log;
        }
    }

    [RequiresProgramFact("promtool")]
    public async Task ShippedScrapeConfig_PassesPromtoolCheckConfig()
    {
        var (exitCode, output) = await ExternalProgram.RunAsync(ExternalProgram.Require("promtool"),
            ["check", "config", Path.Combine(AppContext.BaseDirectory, "deploy", "prometheus", "prometheus.yml")], Patience);

        Assert.True(exitCode == 0, output);
    }

    private static async Task<JsonElement> QueryAsync(HttpClient api, string query)
    {
        var answer = await api.GetFromJsonAsync<JsonElement>($"api/v1/query?query={Uri.EscapeDataString(query)}");
        Assert.Equal("success", answer.GetProperty("status").GetString());
        return answer.GetProperty("data").GetProperty("result");
    }
}
