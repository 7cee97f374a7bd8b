using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;

namespace EdgeGreen.ControlPlane.Tests;

/// <summary>The OpenAPI document a running control plane serves, as client generators and linters read it.</summary>
public sealed class OpenApiDocumentTests : ControlPlaneTest
{
    /// <summary>
    /// Spectral's OpenAPI rules, warnings included, less two that ask for text this API keeps
    /// elsewhere: summaries say what each operation does (a description would repeat them), and an
    /// installation has no one contact to name.
    /// </summary>
    private const string Ruleset = """
        extends: ["spectral:oas"]
        rules:
          operation-description: off
          info-contact: off
        """;

    [Fact]
    public async Task Document_EveryOperation_HasAUniqueOperationId()
    {
        var operations = Operations(await DocumentAsync(AdminClient));

        Assert.True(operations.Count > 40, $"only {operations.Count} operations");
        var missing = operations.Where(o => !o.Operation.TryGetProperty("operationId", out _)).Select(o => o.Name).ToList();
        Assert.Empty(missing);
        var ids = operations.Select(o => o.Operation.GetProperty("operationId").GetString()).ToList();
        Assert.Equal(ids.Count, ids.Distinct(StringComparer.Ordinal).Count());
    }

    [Fact]
    public async Task Document_KeyedOperation_RequiresBearerAndDeclaresItsErrors()
    {
        var document = await DocumentAsync(AdminClient);

        var bearer = document.GetProperty("components").GetProperty("securitySchemes").GetProperty("bearer");
        Assert.Equal(("http", "bearer"), (bearer.GetProperty("type").GetString(), bearer.GetProperty("scheme").GetString()));
        var getJob = document.GetProperty("paths").GetProperty("/api/v1/jobs/{id}").GetProperty("get");
        Assert.Equal("GetJob", getJob.GetProperty("operationId").GetString());
        Assert.True(getJob.GetProperty("security")[0].TryGetProperty("bearer", out _));
        foreach (var status in new[] { "401", "403", "404", "429", "503", "504" })
        {
            Assert.Equal("#/components/schemas/ProblemDetails", ProblemSchema(getJob, status));
        }

        var submit = document.GetProperty("paths").GetProperty("/api/v1/jobs").GetProperty("post");
        Assert.Equal("#/components/schemas/HttpValidationProblemDetails", ProblemSchema(submit, "400"));
        Assert.Equal("#/components/schemas/ProblemDetails", ProblemSchema(submit, "422"));
        Assert.Equal("#/components/schemas/ProblemDetails", ProblemSchema(submit, "413"));
        Assert.Equal("#/components/schemas/ProblemDetails", ProblemSchema(submit, "507"));
        Assert.False(getJob.GetProperty("responses").TryGetProperty("507", out _));
        // Uploads run as long as they need: no request time limit, so no 504.
        var upload = document.GetProperty("paths").GetProperty("/api/v1/datasets").GetProperty("post");
        Assert.False(upload.GetProperty("responses").TryGetProperty("504", out _));
        var sdkBatch = document.GetProperty("paths").GetProperty("/emissions/average-carbon-intensity/batch").GetProperty("post");
        Assert.Equal("GetAverageCarbonIntensityBatch", sdkBatch.GetProperty("operationId").GetString());
        Assert.Equal("#/components/schemas/HttpValidationProblemDetails", ProblemSchema(sdkBatch, "400"));
    }

    [RequiresProgramFact("spectral")]
    public async Task Document_LintedBySpectralOas_HasNoErrorsOrWarnings()
    {
        using var temp = new TempDirectory();
        var documentPath = Path.Combine(temp.Path, "openapi.json");
        await File.WriteAllTextAsync(documentPath, await AdminClient.GetStringAsync(new Uri("/openapi/v1.json", UriKind.Relative)));
        var rulesetPath = Path.Combine(temp.Path, ".spectral.yaml");
        await File.WriteAllTextAsync(rulesetPath, Ruleset);

        var (exitCode, output) = await ExternalProgram.RunAsync(ExternalProgram.Require("spectral"),
            ["lint", documentPath, "--ruleset", rulesetPath, "--fail-severity", "warn", "--format", "text"], TimeSpan.FromMinutes(2));

        Assert.True(exitCode == 0, $"spectral lint failed ({exitCode}):\n{output}");
    }

    internal static async Task<JsonElement> DocumentAsync(HttpClient client) =>
        await client.GetFromJsonAsync<JsonElement>(new Uri("/openapi/v1.json", UriKind.Relative));

    internal static List<(string Name, JsonElement Operation)> Operations(JsonElement document) =>
    [
        .. document.GetProperty("paths").EnumerateObject()
            .SelectMany(path => path.Value.EnumerateObject().Select(operation => ($"{operation.Name} {path.Name}", operation.Value))),
    ];

    private static string? ProblemSchema(JsonElement operation, string status) =>
        operation.GetProperty("responses").GetProperty(status).GetProperty("content").GetProperty("application/problem+json")
            .GetProperty("schema").GetProperty("$ref").GetString();
}

/// <summary>With the Carbon Aware SDK's routes opened to anonymous callers, the document stops asking them for a key.</summary>
public sealed class OpenApiAnonymousRoutesTests : ControlPlaneTest
{
    protected override IReadOnlyDictionary<string, string?> Settings { get; } = new Dictionary<string, string?>
    {
        ["EdgeGreen:Carbon:AnonymousSdkRoutes"] = "true",
    };

    [Fact]
    public async Task Document_AnonymousOperation_HasNoSecurityAndNo401()
    {
        var operations = OpenApiDocumentTests.Operations(await OpenApiDocumentTests.DocumentAsync(AdminClient));

        var locations = operations.Single(o => o.Name == "get /locations").Operation;
        Assert.False(locations.TryGetProperty("security", out _));
        Assert.False(locations.GetProperty("responses").TryGetProperty("401", out _));
        Assert.True(locations.GetProperty("responses").TryGetProperty("429", out _));
        var jobs = operations.Single(o => o.Name == "get /api/v1/jobs").Operation;
        Assert.True(jobs.GetProperty("responses").TryGetProperty("401", out _));
    }
}
