using System.Diagnostics;
using System.Text;
using System.Text.Json;
using EdgeGreen.ControlPlane.Core.Pipelines;
using EdgeGreen.ControlPlane.Core.Storage;
using static EdgeGreen.ControlPlane.Tests.Pipelines.PipelineSamples;

namespace EdgeGreen.ControlPlane.Tests.Pipelines;

public sealed class PipelineDefinitionReaderTests
{
    /// <summary>A one-step pipeline with the given step fields (YAML, indented for a list item).</summary>
    private static string OneStep(string fields) => $"""
        steps:
          - name: work
            kind: burn
        {string.Join("\n", fields.Split('\n').Select(l => "    " + l))}
        """;

    [Fact]
    public void Read_JsonAndYaml_GiveTheSameDefinition()
    {
        var fromYaml = Valid(ReadYaml(Yaml));
        var fromJson = Valid(ReadJson(Json));

        Assert.Equal(JsonSerializer.Serialize(fromJson), JsonSerializer.Serialize(fromYaml));
    }

    [Fact]
    public void Read_Sample_HasEveryField()
    {
        var definition = Valid(ReadYaml(Yaml));

        Assert.Equal(new Dictionary<string, string?> { ["dataset"] = "credit:1", ["minAuc"] = "0.75", ["model"] = null }, definition.Parameters);
        Assert.Equal(TimeSpan.FromHours(12), definition.Deadline);
        Assert.Equal(50, definition.CarbonBudgetGrams);
        Assert.Equal(200_000, definition.EnergyBudgetJoules);
        Assert.Equal(["train", "evaluate", "good-enough", "promote", "rollout"], definition.Steps.Select(s => s.Name));
        var train = definition.Steps[0];
        Assert.Equal("train", train.Kind);
        Assert.Equal("${{ parameters.dataset }}", train.Parameters["dataset"]);
        Assert.Equal("default.payment.next.month", train.Parameters["label"]);
        Assert.True(train.Cache);
        Assert.Equal(1, train.Retries);
        Assert.Equal(TimeSpan.FromMinutes(10), train.EstimatedDuration);
        Assert.Equal(30, train.EstimatedPowerWatts);
        Assert.Equal(new JobResources(2, 0, 0), train.Resources);
        Assert.Equal(new Dictionary<string, string> { ["gpu"] = "true" }, train.Placement!.AgentLabels);
        Assert.Equal(["NO"], train.Placement.Zones);
        Assert.False(train.Interruptible);
        Assert.Equal(10, train.CarbonBudgetGrams);
        Assert.Equal(5000, train.EnergyBudgetJoules);
        Assert.Empty(train.DependsOn);
        var gate = definition.Steps[2];
        Assert.Equal(["evaluate"], gate.DependsOn);
        Assert.Equal("steps.evaluate.metrics.auc >= 0.75 && steps.train.sustainability.carbonGrams <= 50", gate.When);
        Assert.True(gate.Cache);
        Assert.Equal(0, gate.Retries);
        Assert.Null(gate.Resources);
        Assert.Null(gate.Placement);
    }

    [Fact]
    public void Read_YamlPlainScalars_FollowTheCoreSchema()
    {
        var step = Valid(ReadYaml(OneStep("""
            retries: 2
            cache: false
            parameters: {duration: PT1M, threads: 0x2}
            """))).Steps[0];

        Assert.Equal(2, step.Retries);
        Assert.False(step.Cache);
        Assert.Equal("2", step.Parameters["threads"]);

        var parameters = Valid(ReadYaml("""
            parameters:
              quoted: "2"
              integer: 2
              float: 0.50
              exponent: 1.0e+3
              leadingDot: .5
              plusSign: +5
              zeros: 007
              octal: 0o17
              yes: yes
              no: NO
              boolean: true
              tilde: ~
              empty:
              word: null
              tagged: !!str 12
              literal: |
                text
            steps:
              - {name: work, kind: burn, parameters: {duration: PT1M}}
            """)).Parameters;

        Assert.Equal("2", parameters["quoted"]);
        Assert.Equal("2", parameters["integer"]);
        Assert.Equal("0.50", parameters["float"]);
        Assert.Equal("1.0e+3", parameters["exponent"]);
        Assert.Equal("0.5", parameters["leadingDot"]);
        Assert.Equal("5", parameters["plusSign"]);
        Assert.Equal("7", parameters["zeros"]);
        Assert.Equal("15", parameters["octal"]);
        Assert.Equal("yes", parameters["yes"]);
        Assert.Equal("NO", parameters["no"]);
        Assert.Equal("true", parameters["boolean"]);
        Assert.Null(parameters["tilde"]);
        Assert.Null(parameters["empty"]);
        Assert.Null(parameters["word"]);
        Assert.Equal("12", parameters["tagged"]);
        Assert.Equal("text\n", parameters["literal"]);
    }

    [Theory]
    [InlineData("retries: \"2\"", "steps[0].retries", "retries must be a whole number, not a string")]
    [InlineData("retries: 1.5", "steps[0].retries", "retries must be a whole number")]
    [InlineData("retries: !!str 2", "steps[0].retries", "not a string")]
    [InlineData("cache: \"true\"", "steps[0].cache", "cache must be true or false")]
    [InlineData("when: true", "steps[0].when", "when must be a string (in YAML, quote it)")]
    [InlineData("estimatedDuration: 10", "steps[0].estimatedDuration", "ISO 8601")]
    [InlineData("estimatedDuration: ten minutes", "steps[0].estimatedDuration", "ISO 8601")]
    [InlineData("estimatedPowerWatts: .inf", "steps[0].estimatedPowerWatts", "line 4, column 26", "not a finite number")]
    [InlineData("dependsOn: other", "steps[0].dependsOn", "a list of step names")]
    [InlineData("dependsOn: [1]", "steps[0].dependsOn", "a list of step names")]
    [InlineData("parameters: {duration: [PT1M]}", "steps[0].parameters.duration", "must be a string, a number or a boolean")]
    [InlineData("parameters: {duration: ~}", "steps[0].parameters.duration", "must be a string, a number or a boolean")]
    [InlineData("resources: {cpuCores: many}", "steps[0].resources.cpuCores", "whole number")]
    [InlineData("resources: {cores: 2}", "steps[0].resources.cores", "'cores' is not a field here")]
    [InlineData("placement: {zones: NO}", "steps[0].placement.zones", "a list of zone names")]
    [InlineData("placement: {agentLabels: {gpu: [1]}}", "steps[0].placement.agentLabels.gpu", "must be a string")]
    [InlineData("dependOn: [x]", "steps[0].dependOn", "'dependOn' is not a field here", "dependsOn")]
    [InlineData("parameters: {duration: PT1M}\nmystery: !!binary aGk=", "steps[0].mystery", "tag tag:yaml.org,2002:binary is not supported")]
    public void Read_FieldOfTheWrongType_IsReportedAtItsPathNamingTheStep(string fields, string key, params string[] fragments)
    {
        var errors = Invalid(ReadYaml(OneStep(fields)));
        AssertError(errors, key, fragments);
        Assert.All(errors[key], m => Assert.True(m.StartsWith("step 'work': ", StringComparison.Ordinal) || m.StartsWith("line", StringComparison.Ordinal), m));
    }

    [Theory]
    [InlineData("application/json")]
    [InlineData("application/json; charset=utf-8")]
    [InlineData("application/vnd.edgegreen.pipeline+json")]
    public void Read_JsonContentTypes_AreRead(string contentType) =>
        Assert.Equal(PipelineReadStatus.Valid, PipelineDefinitionReader.Read(Encoding.UTF8.GetBytes(Json), contentType).Status);

    [Theory]
    [InlineData("application/yaml")]
    [InlineData("application/x-yaml")]
    [InlineData("text/yaml")]
    [InlineData("Application/YAML; charset=UTF-8")]
    public void Read_YamlContentTypes_AreRead(string contentType) =>
        Assert.Equal(PipelineReadStatus.Valid, PipelineDefinitionReader.Read(Encoding.UTF8.GetBytes(Yaml), contentType).Status);

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("text/plain")]
    [InlineData("application/xml")]
    [InlineData("application/json; charset=iso-8859-1")]
    [InlineData("not a media type")]
    public void Read_OtherContentType_IsUnsupported(string? contentType)
    {
        var result = PipelineDefinitionReader.Read(Encoding.UTF8.GetBytes(Json), contentType);

        Assert.Equal(PipelineReadStatus.UnsupportedContentType, result.Status);
        Assert.Null(result.Definition);
        AssertError(result.Errors, "contentType", "application/json", "application/yaml");
        Assert.False(PipelineDefinitionReader.IsSupportedContentType(contentType));
    }

    [Fact]
    public void Read_JsonWithByteOrderMark_IsRead() =>
        Valid(PipelineDefinitionReader.Read([0xEF, 0xBB, 0xBF, .. Encoding.UTF8.GetBytes(Json)], "application/json"));

    [Fact]
    public void Read_DuplicateJsonKey_IsReportedAtItsPath()
    {
        var errors = Invalid(ReadJson("""{"steps": [{"name": "a", "kind": "burn", "name": "b"}]}"""));
        AssertError(errors, "steps[0].name", "'name' appears twice");
    }

    [Fact]
    public void Read_DuplicateYamlKey_IsReportedAtItsPathWithItsLine()
    {
        var errors = Invalid(ReadYaml("""
            steps:
              - name: a
                kind: burn
                name: b
            steps: []
            """));
        AssertError(errors, "steps[0].name", "line 4", "'name' appears twice");
        AssertError(errors, "steps", "line 5", "'steps' appears twice");
    }

    [Fact(Timeout = 10_000)]
    public async Task Read_BillionLaughs_RefusesTheAliasQuickly()
    {
        var yaml = new StringBuilder("a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
        for (var i = 1; i < 10; i++)
        {
            yaml.Append(CultureInfoInvariant($"a{i}: &a{i} [{string.Join(", ", Enumerable.Repeat($"*a{i - 1}", 10))}]\n"));
        }

        yaml.Append("steps: *a9\n");
        var stopwatch = Stopwatch.StartNew();
        var result = await Task.Run(() => ReadYaml(yaml.ToString()));

        var errors = Invalid(result);
        AssertError(errors, "a1[0]", "line 2", "aliases (*a0) are not supported");
        Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(5), $"took {stopwatch.Elapsed}");
    }

    [Fact]
    public void Read_AnyAlias_IsRefused()
    {
        var errors = Invalid(ReadYaml("""
            parameters: {dataset: &d "credit:1"}
            steps:
              - name: work
                kind: burn
                parameters: {duration: *d}
            """));
        AssertError(errors, "steps[0].parameters.duration", "line 5", "aliases (*d) are not supported");
    }

    [Fact(Timeout = 10_000)]
    public async Task Read_DeepNesting_IsRefusedInBothFormats()
    {
        var depth = 10_000;
        var json = $$"""{"parameters": {"x": {{new string('[', depth)}}{{new string(']', depth)}} } }""";
        var yaml = $"parameters: {{x: {new string('[', depth)}{new string(']', depth)}}}";

        var fromJson = Invalid(await Task.Run(() => ReadJson(json)));
        var fromYaml = Invalid(await Task.Run(() => ReadYaml(yaml)));

        AssertError(fromJson, "$", "not valid JSON", "depth");
        AssertError(fromYaml, "parameters.x" + string.Concat(Enumerable.Repeat("[0]", 30)), "deeper than 32");
    }

    [Theory]
    [InlineData("application/json", "", "$", "not valid JSON")]
    [InlineData("application/json", "{\"steps\": [", "$", "not valid JSON: line 1, byte 12: ")]
    [InlineData("application/json", "{\"steps\": [\n  {\"name\": 'a'}]}", "$", "not valid JSON: line 2, byte 12: ")]
    [InlineData("application/json", "{} {}", "$", "not valid JSON")]
    [InlineData("application/json", "[1]", "$", "an object")]
    [InlineData("application/json", "null", "$", "an object")]
    [InlineData("application/yaml", "", "$", "empty")]
    [InlineData("application/yaml", "steps: [a\nb: c", "$", "not valid YAML", "line")]
    [InlineData("application/yaml", "- a\n- b", "$", "an object")]
    [InlineData("application/yaml", "steps: []\n---\nsteps: []", "$", "line 2", "only one YAML document")]
    [InlineData("application/yaml", "? [a]\n: b", "$", "key must be a scalar")]
    [InlineData("application/json", "{\"steps\": []}", "steps", "at least one step")]
    [InlineData("application/json", "{\"parameters\": {}}", "steps", "steps is required")]
    [InlineData("application/json", "{\"steps\": [], \"name\": \"x\"}", "name", "'name' is not a field here")]
    [InlineData("application/json", "{\"steps\": [1]}", "steps[0]", "must be an object")]
    [InlineData("application/json", "{\"steps\": [], \"parameters\": {\"p\": {}}}", "parameters.p", "default of parameter 'p'")]
    public void Read_MalformedDocument_SaysWhere(string contentType, string body, string key, params string[] fragments) =>
        AssertError(Invalid(PipelineDefinitionReader.Read(Encoding.UTF8.GetBytes(body), contentType)), key, fragments);

    [Fact]
    public void Read_InvalidUtf8Yaml_IsRefused() =>
        AssertError(Invalid(PipelineDefinitionReader.Read([.. "steps: "u8, 0xFF, 0xFE], "application/yaml")), "$", "UTF-8");

    [Fact]
    public void Read_InvalidUtf8Json_IsRefused() =>
        AssertError(Invalid(PipelineDefinitionReader.Read([.. "{\"steps\": [\""u8, 0xFF, 0xFE, .. "\"]}"u8], "application/json")), "$", "not valid JSON");

    [Fact]
    public void Read_MoreThanTheMostSteps_IsRefusedWithoutReadingThem()
    {
        var steps = string.Join(",", Enumerable.Range(0, PipelineValidator.MaxSteps + 1).Select(i => $$"""{"name": "s{{i}}", "kind": "unknown"}"""));
        var errors = Invalid(ReadJson($$"""{"steps": [{{steps}}]}"""));

        AssertError(errors, "steps", "at most 100 steps");
        Assert.Single(errors);
    }

    [Fact]
    public void Read_ResourcesWithoutCores_TakeTheThreadsTheParametersName()
    {
        var steps = Valid(ReadYaml("""
            steps:
              - {name: busy, kind: burn, parameters: {duration: PT1M, threads: 4}, resources: {gpus: 1}}
              - {name: plain, kind: burn, parameters: {duration: PT1M}, resources: {memoryBytes: 1024}}
            """)).Steps;

        Assert.Equal(new JobResources(4, 0, 1), steps[0].Resources);
        Assert.Equal(new JobResources(1, 1024, 0), steps[1].Resources);
    }

    /// <summary>Hostile or broken input gets errors, never an exception: a fixed-seed mutation of the samples.</summary>
    [Theory]
    [InlineData("application/yaml")]
    [InlineData("application/json")]
    public void Read_MutatedSample_NeverThrows(string contentType)
    {
        const string Alphabet = "[]{}:,-?|>&*!#%@'\"\n \t\\.~0123456789abxyz${}\r\u0085\u2028\uFEFF";
        var sample = contentType == "application/json" ? Json : Yaml;
        var random = new Random(20_260_101);
        for (var n = 0; n < 2_000; n++)
        {
            var text = new StringBuilder(sample);
            for (var edits = random.Next(1, 6); edits > 0; edits--)
            {
                var at = random.Next(text.Length);
                _ = random.Next(3) switch
                {
                    0 => text.Remove(at, 1),
                    1 => text.Insert(at, Alphabet[random.Next(Alphabet.Length)]),
                    _ => text.Remove(at, 1).Insert(at, Alphabet[random.Next(Alphabet.Length)]),
                };
            }

            var body = Encoding.UTF8.GetBytes(text.ToString(0, random.Next(4) == 0 ? random.Next(text.Length) : text.Length));
            var result = PipelineDefinitionReader.Read(body, contentType);
            Assert.True(result.Status == PipelineReadStatus.Valid ? result.Definition is not null : result.Errors.Count > 0, text.ToString());
        }
    }

    private static string CultureInfoInvariant(FormattableString text) => FormattableString.Invariant(text);
}
