using System.Text.Json;

namespace EdgeGreen.ControlPlane.Tests.Prometheus;

/// <summary>
/// The alerting rules (deploy/prometheus/rules) and Grafana dashboards (deploy/grafana/dashboards)
/// against reality: the rules pass promtool's checks and their own unit tests, every dashboard
/// query parses, and every series either names is one that a control plane with its local agent
/// exposes, so that renaming a metric fails here instead of leaving an alert that never fires or
/// a panel that stays empty.
/// </summary>
public sealed class ShippedRulesAndDashboardsTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    /// <summary>Series Prometheus records itself for every target it scrapes.</summary>
    private static readonly string[] PrometheusOwnSeries = ["up"];

    [RequiresProgramFact("promtool")]
    public async Task AlertingRules_PassPromtoolCheckRulesAndTheirUnitTests()
    {
        var promtool = ExternalProgram.Require("promtool");

        var (checkExit, checkOutput) = await ExternalProgram.RunAsync(promtool, ["check", "rules", ShippedMonitoring.RulesFile], Patience);
        var (testExit, testOutput) = await ExternalProgram.RunAsync(promtool, ["test", "rules", ShippedMonitoring.RulesTestFile], Patience);

        Assert.True(checkExit == 0, $"promtool check rules ({checkExit}):\n{checkOutput}");
        Assert.True(testExit == 0 && testOutput.Contains("SUCCESS", StringComparison.Ordinal), $"promtool test rules ({testExit}):\n{testOutput}");
    }

    /// <summary>
    /// Each query, its variables filled in, becomes a recording rule that promtool checks: the
    /// parser is Prometheus's own, types included (rate() of an instant vector fails), with no
    /// server to start.
    /// </summary>
    [RequiresProgramFact("promtool")]
    public async Task DashboardQueries_ParseAsPromQl()
    {
        var queries = ShippedMonitoring.DashboardQueries();
        using var temp = new TempDirectory();
        var file = temp.Sub("dashboard-queries.rules.json");
        var rules = queries.Select((query, index) => new { record = $"edgegreen:dashboard_query_{index}", expr = query.PromQl });
        await File.WriteAllTextAsync(file, JsonSerializer.Serialize(new { groups = new[] { new { name = "dashboards", rules } } }));

        var (exitCode, output) = await ExternalProgram.RunAsync(ExternalProgram.Require("promtool"), ["check", "rules", file], Patience);

        Assert.True(exitCode == 0, $"promtool check rules ({exitCode}):\n{output}\nQueries, numbered as the rules above:\n" +
            string.Join('\n', queries.Select((query, index) => $"{index}: {query.Where}: {query.PromQl}")));
        Assert.Contains($"SUCCESS: {queries.Count} rules found", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RulesAndDashboards_NameOnlySeriesThatTheControlPlaneWithItsLocalAgentExposes()
    {
        using var temp = new TempDirectory();
        await using var controlPlane = await TestControlPlane.StartAsync(temp.Path, localAgent: true);
        var exposed = LocalAgentMetrics.SeriesNames(await LocalAgentMetrics.ScrapeAsync(controlPlane, Patience));
        exposed = exposed.Union(PrometheusOwnSeries).ToHashSet(StringComparer.Ordinal);
        var queries = ShippedMonitoring.AlertExpressions()
            .Concat(ShippedMonitoring.RuleTestSeries())
            .Concat(ShippedMonitoring.DashboardQueries())
            .ToList();

        var unknown = queries.SelectMany(q => PromQl.MetricNames(q.PromQl).Where(name => !exposed.Contains(name)).Select(name => $"{q.Where}: {name}")).ToList();
        var nameless = queries.Where(q => !PromQl.MetricNames(q.PromQl).Any(exposed.Contains)).Select(q => $"{q.Where}: {q.PromQl}").ToList();

        Assert.True(unknown.Count == 0, "Series that the control plane does not expose:\n" + string.Join('\n', unknown));
        Assert.True(nameless.Count == 0, "Queries that name no EdgeGreen series:\n" + string.Join('\n', nameless));
        Assert.NotEmpty(ShippedMonitoring.AlertExpressions());
        Assert.NotEmpty(ShippedMonitoring.DashboardQueries());
    }

    [Fact]
    public void Dashboards_QueryThroughTheDatasourceVariable_WithAUnitOnEveryPanel()
    {
        var uids = new HashSet<string>(StringComparer.Ordinal);
        foreach (var file in ShippedMonitoring.DashboardFiles())
        {
            using var document = JsonDocument.Parse(File.ReadAllText(file));
            var dashboard = document.RootElement;
            var name = Path.GetFileName(file);
            Assert.True(uids.Add(dashboard.GetProperty("uid").GetString()!), $"{name}: its uid is another dashboard's");
            // The dashboards link to each other by this tag.
            Assert.Contains("edgegreen", dashboard.GetProperty("tags").EnumerateArray().Select(t => t.GetString()));
            Assert.Contains(dashboard.GetProperty("templating").GetProperty("list").EnumerateArray(), v =>
                v.GetProperty("name").GetString() == "datasource" && v.GetProperty("type").GetString() == "datasource" && v.GetProperty("query").GetString() == "prometheus");

            var panels = ShippedMonitoring.Panels(dashboard).ToList();
            var ids = panels.Select(p => p.GetProperty("id").GetInt32()).ToList();
            Assert.True(ids.Count == ids.Distinct().Count(), $"{name}: panel ids repeat");
            foreach (var panel in panels.Where(p => p.GetProperty("type").GetString() != "row"))
            {
                var title = $"{name} panel '{panel.GetProperty("title").GetString()}'";
                Assert.True(panel.GetProperty("fieldConfig").GetProperty("defaults").TryGetProperty("unit", out var unit) && unit.GetString() is { Length: > 0 },
                    $"{title} has no unit");
                Assert.True(UsesDatasourceVariable(panel), $"{title} does not query through ${{datasource}}");
                Assert.All(panel.GetProperty("targets").EnumerateArray(), target => Assert.True(UsesDatasourceVariable(target), $"{title} has a target outside ${{datasource}}"));
            }
        }
    }

    [Fact]
    public void MetricNames_LeaveOutFunctionsLabelsKeywordsStringsAndDurations()
    {
        const string Expression = """
            histogram_quantile(0.99, sum by (instance, le) (rate(a_bucket{job="x", le=~"b|c[.]d"}[5m] offset 1h)))
              / on (instance) group_left (zone) max without (agent) (b_info) > bool 3e2
              and ignoring (x) sum(c_total) by (y) unless {__name__="d_seconds", e="f"}
              or label_replace(e_total, "dst", "$1", "src", "(.*)") * vector(0) - time() + count(max_over_time(f[1h:5m]))
            """;

        Assert.Equal(["a_bucket", "b_info", "c_total", "d_seconds", "e_total", "f"], PromQl.MetricNames(Expression).Order(StringComparer.Ordinal));
    }

    private static bool UsesDatasourceVariable(JsonElement element) =>
        element.TryGetProperty("datasource", out var datasource) && datasource.GetProperty("uid").GetString() == "${datasource}";
}
