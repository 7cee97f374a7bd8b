using System.Text.Json;
using System.Text.RegularExpressions;
using YamlDotNet.RepresentationModel;

namespace EdgeGreen.ControlPlane.Tests.Prometheus;

/// <summary>
/// The PromQL that EdgeGreen ships under deploy/: the alerting rules' expressions, the series their
/// unit tests feed, and every query of the Grafana dashboards (panel targets and variable queries)
/// with Grafana's template variables replaced by values Grafana could give them.
/// </summary>
internal static partial class ShippedMonitoring
{
    public static string RulesFile { get; } = Path.Combine(AppContext.BaseDirectory, "deploy", "prometheus", "rules", "edgegreen.rules.yml");

    public static string RulesTestFile { get; } = Path.Combine(AppContext.BaseDirectory, "deploy", "prometheus", "rules", "edgegreen.rules.test.yml");

    public static string DashboardsDirectory { get; } = Path.Combine(AppContext.BaseDirectory, "deploy", "grafana", "dashboards");

    /// <summary>Grafana's built-in interval variables, as Grafana would fill them in for a 6-hour range.</summary>
    private static readonly Dictionary<string, string> BuiltIns = new(StringComparer.Ordinal)
    {
        ["__rate_interval"] = "1m",
        ["__interval"] = "15s",
        ["__interval_ms"] = "15000",
        ["__range"] = "6h",
        ["__range_s"] = "21600",
        ["__range_ms"] = "21600000",
    };

    public static IReadOnlyList<Query> AlertExpressions() =>
        [.. Sequence(Load(RulesFile), "groups")
            .SelectMany(group => Sequence(group, "rules"))
            .Select(rule => new Query($"alert {Scalar(rule, "alert")}", Scalar(rule, "expr")))];

    /// <summary>The series the rules' unit tests feed, by name.</summary>
    public static IReadOnlyList<Query> RuleTestSeries() =>
        [.. Sequence(Load(RulesTestFile), "tests")
            .SelectMany(test => Sequence(test, "input_series").Select(series => new Query($"rule test '{Scalar(test, "name")}'", Scalar(series, "series"))))];

    public static IReadOnlyList<string> DashboardFiles() => [.. Directory.GetFiles(DashboardsDirectory, "*.json").Order(StringComparer.Ordinal)];

    /// <summary>Every query of every dashboard, template variables filled in.</summary>
    public static IReadOnlyList<Query> DashboardQueries() => [.. DashboardFiles().SelectMany(DashboardQueries)];

    public static IEnumerable<Query> DashboardQueries(string file)
    {
        using var document = JsonDocument.Parse(File.ReadAllText(file));
        var dashboard = document.RootElement;
        var variables = dashboard.GetProperty("templating").GetProperty("list").EnumerateArray().ToList();
        var values = variables.ToDictionary(v => v.GetProperty("name").GetString()!, ValueFor, StringComparer.Ordinal);
        var name = Path.GetFileName(file);
        var queries = new List<Query>();
        foreach (var variable in variables.Where(v => v.GetProperty("type").GetString() == "query"))
        {
            var where = $"{name} variable ${variable.GetProperty("name").GetString()}";
            if (VariableExpression(variable) is { } expression)
            {
                queries.Add(new Query(where, Substitute(expression, values, where)));
            }
        }

        foreach (var (title, target) in Targets(dashboard))
        {
            var where = $"{name} panel '{title}' target {target.GetProperty("refId").GetString()}";
            queries.Add(new Query(where, Substitute(target.GetProperty("expr").GetString()!, values, where)));
        }

        return queries;
    }

    /// <summary>Every panel (rows' panels included) with its targets.</summary>
    public static IEnumerable<JsonElement> Panels(JsonElement dashboard) =>
        dashboard.GetProperty("panels").EnumerateArray()
            .SelectMany(p => p.TryGetProperty("panels", out var nested) ? nested.EnumerateArray().Prepend(p) : [p]);

    private static IEnumerable<(string Title, JsonElement Target)> Targets(JsonElement dashboard) =>
        Panels(dashboard)
            .Where(p => p.TryGetProperty("targets", out _))
            .SelectMany(p => p.GetProperty("targets").EnumerateArray().Select(t => (p.GetProperty("title").GetString()!, t)));

    /// <summary>
    /// The PromQL inside a query variable's definition: label_values(selector, label) gives its
    /// selector, query_result(expr) its expression; label_values(label) has none.
    /// </summary>
    private static string? VariableExpression(JsonElement variable)
    {
        var query = variable.GetProperty("query");
        var text = (query.ValueKind == JsonValueKind.Object ? query.GetProperty("query").GetString() : query.GetString())!.Trim();
        if (LabelValues().Match(text) is { Success: true } labelValues)
        {
            return labelValues.Groups["selector"].Value;
        }

        if (QueryResult().Match(text) is { Success: true } queryResult)
        {
            return queryResult.Groups["expr"].Value;
        }

        return SingleLabelValues().IsMatch(text)
            ? null
            : throw new InvalidOperationException($"Variable {variable.GetProperty("name").GetString()} has a query this test does not read: {text}");
    }

    /// <summary>
    /// What a variable becomes in a query: the regex that "All" gives a multi-value variable
    /// (its allValue), else its current value. The data source variable never reaches PromQL.
    /// </summary>
    private static string ValueFor(JsonElement variable)
    {
        if (variable.TryGetProperty("allValue", out var all) && all.GetString() is { Length: > 0 } allValue)
        {
            return allValue;
        }

        return variable.TryGetProperty("current", out var current) && current.TryGetProperty("value", out var value) && value.ValueKind == JsonValueKind.String
            ? value.GetString()!
            : "";
    }

    private static string Substitute(string expression, IReadOnlyDictionary<string, string> values, string where) =>
        Variable().Replace(expression, match =>
        {
            var name = match.Groups["braced"].Success ? match.Groups["braced"].Value
                : match.Groups["plain"].Success ? match.Groups["plain"].Value
                : match.Groups["bracketed"].Value;
            return BuiltIns.TryGetValue(name, out var builtIn) ? builtIn
                : values.TryGetValue(name, out var value) ? value
                : throw new InvalidOperationException($"{where} uses ${name}, which the dashboard does not define: {expression}");
        });

    private static YamlMappingNode Load(string file)
    {
        var yaml = new YamlStream();
        using var reader = new StreamReader(file);
        yaml.Load(reader);
        return (YamlMappingNode)yaml.Documents[0].RootNode;
    }

    private static IEnumerable<YamlMappingNode> Sequence(YamlNode node, string key) =>
        ((YamlSequenceNode)((YamlMappingNode)node).Children[new YamlScalarNode(key)]).Children.Cast<YamlMappingNode>();

    private static string Scalar(YamlMappingNode node, string key) =>
        node.Children.TryGetValue(new YamlScalarNode(key), out var value) ? ((YamlScalarNode)value).Value ?? "" : "";

    [GeneratedRegex(@"\$\{(?<braced>\w+)(?::[^}]*)?\}|\$(?<plain>\w+)|\[\[(?<bracketed>\w+)(?::[^\]]*)?\]\]")]
    private static partial Regex Variable();

    [GeneratedRegex(@"^label_values\((?<selector>.+),\s*\w+\s*\)$", RegexOptions.Singleline)]
    private static partial Regex LabelValues();

    [GeneratedRegex(@"^label_values\(\s*\w+\s*\)$")]
    private static partial Regex SingleLabelValues();

    [GeneratedRegex(@"^query_result\((?<expr>.+)\)$", RegexOptions.Singleline)]
    private static partial Regex QueryResult();
}

/// <summary>A PromQL expression and where it was found.</summary>
internal sealed record Query(string Where, string PromQl);
