using System.Text.RegularExpressions;
using EdgeGreen.Shared.Jobs;
using EdgeGreen.ControlPlane.Security;
using Microsoft.AspNetCore.Http.HttpResults;

namespace EdgeGreen.ControlPlane.Registry;

public sealed record ModelVersionResponse(
    string Name,
    int Version,
    string Status,
    string? StatusMessage,
    DateTimeOffset CreatedAt,
    string? Sha256,
    long SizeBytes,
    string Format,
    IReadOnlyList<ModelTensor> Inputs,
    IReadOnlyList<ModelTensor> Outputs,
    IReadOnlyDictionary<string, double> Metrics,
    ModelLineage Lineage,
    ModelSustainability Sustainability,
    IReadOnlyDictionary<string, string> Tags,
    IReadOnlyList<string> Aliases,
    ServingProfile? Serving)
{
    public static ModelVersionResponse From(ModelVersionRecord v, ModelRecord? model) => new(
        v.Name, v.Version, StatusName(v.Status), v.StatusMessage, v.CreatedAt, v.Sha256, v.SizeBytes, v.Format, v.Inputs, v.Outputs, v.Metrics,
        v.Lineage, v.Sustainability, v.Tags, [.. (model?.Aliases ?? new Dictionary<string, int>()).Where(a => a.Value == v.Version).Select(a => a.Key).Order(StringComparer.Ordinal)],
        v.Serving);

    /// <summary>MLflow's names: PENDING_REGISTRATION, READY, FAILED.</summary>
    public static string StatusName(ModelVersionStatus status) => status.Name();
}

public sealed record ModelResponse(
    string Name,
    DateTimeOffset CreatedAt,
    IReadOnlyDictionary<string, string> Tags,
    IReadOnlyDictionary<string, int> Aliases,
    int? LatestVersion,
    IReadOnlyList<ModelVersionResponse>? Versions);

public sealed record SetAliasRequest(int? Version);

public sealed record SetTagRequest(string? Value);

public static partial class ModelsApi
{
    public static IHostApplicationBuilder AddRegistry(this IHostApplicationBuilder builder)
    {
        builder.Services.AddSingleton<ModelRegistry>();
        builder.Services.AddSingleton<IJobLifecycleHandler>(sp => sp.GetRequiredService<ModelRegistry>());
        builder.Services.AddSingleton<IJobParameterResolver, ModelParameterResolver>();
        return builder;
    }

    public static IEndpointRouteBuilder MapRegistry(this IEndpointRouteBuilder routes)
    {
        var models = routes.MapGroup("/api/v1/models").RequireAuthorization(Policies.Viewer).WithTags("Models");
        models.MapGet("/", SearchAsync).WithName("SearchModels").WithSummary("Models, by name (substring), tag (key or key=value) and alias.");
        models.MapPost("/{name}/versions", UploadVersionAsync).WithName("UploadModelVersion").Accepts<Stream>("application/octet-stream")
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge).RequireAuthorization(Policies.Operator).DisableRequestTimeout()
            .WithSummary("Registers an ONNX file (the request body) as the next version; it must load in ONNX Runtime.");

        // Every other route names a model, version or alias that may not exist.
        var model = models.MapGroup("/{name}").ProducesProblem(StatusCodes.Status404NotFound);
        model.MapGet("", GetAsync).WithName("GetModel").WithSummary("A model with its aliases, tags and versions.");
        model.MapGet("/versions/{version:int}", GetVersionAsync).WithName("GetModelVersion")
            .WithSummary("One version: status, schema, metrics, lineage, sustainability.");
        model.MapGet("/versions/{version:int}/artifact", ArtifactAsync).WithName("GetModelArtifact")
            .Produces(StatusCodes.Status200OK, typeof(Stream), "application/octet-stream").DisableRequestTimeout().WithSummary("The version's ONNX file.");
        var edits = model.MapGroup("").RequireAuthorization(Policies.Operator);
        edits.MapPut("/aliases/{alias}", SetAliasAsync).WithName("SetModelAlias")
            .WithSummary("Points an alias at a version {version}; an alias names one version, so this moves it.");
        edits.MapDelete("/aliases/{alias}", DeleteAliasAsync).WithName("DeleteModelAlias").WithSummary("Removes an alias.");
        edits.MapPut("/tags/{key}", SetModelTagAsync).WithName("SetModelTag").WithSummary("Sets a model tag {value}.");
        edits.MapDelete("/tags/{key}", DeleteModelTagAsync).WithName("DeleteModelTag").WithSummary("Removes a model tag.");
        edits.MapPut("/versions/{version:int}/tags/{key}", SetVersionTagAsync).WithName("SetModelVersionTag").WithSummary("Sets a version tag {value}.");
        edits.MapDelete("/versions/{version:int}/tags/{key}", DeleteVersionTagAsync).WithName("DeleteModelVersionTag").WithSummary("Removes a version tag.");
        return routes;
    }

    public static async Task<Ok<IReadOnlyList<ModelResponse>>> SearchAsync(string? name, string? tag, string? alias, IModelStore store, CancellationToken cancellationToken)
    {
        var found = new List<ModelResponse>();
        foreach (var model in await store.ListModelsAsync(cancellationToken))
        {
            var tagMatches = tag is null || (tag.Split('=', 2) is [var key, var value]
                ? model.Tags.TryGetValue(key, out var actual) && actual == value
                : model.Tags.ContainsKey(tag));
            if ((name is null || model.Name.Contains(name, StringComparison.OrdinalIgnoreCase)) && tagMatches && (alias is null || model.Aliases.ContainsKey(alias)))
            {
                var versions = await store.ListVersionsAsync(model.Name, cancellationToken);
                found.Add(new ModelResponse(model.Name, model.CreatedAt, model.Tags, model.Aliases, versions.LastOrDefault()?.Version, null));
            }
        }

        return TypedResults.Ok<IReadOnlyList<ModelResponse>>(found);
    }

    public static async Task<Results<Ok<ModelResponse>, ProblemHttpResult>> GetAsync(string name, IModelStore store, CancellationToken cancellationToken)
    {
        if (await store.GetModelAsync(name, cancellationToken) is not { } model)
        {
            return NoModel(name);
        }

        var versions = await store.ListVersionsAsync(name, cancellationToken);
        return TypedResults.Ok(new ModelResponse(model.Name, model.CreatedAt, model.Tags, model.Aliases, versions.LastOrDefault()?.Version,
            [.. versions.Select(v => ModelVersionResponse.From(v, model))]));
    }

    /// <summary>The largest ONNX file accepted by upload (2 GiB, ONNX's protobuf limit).</summary>
    public const long MaxUploadBytes = 2L << 30;

    public static async Task<Results<Created<ModelVersionResponse>, ValidationProblem>> UploadVersionAsync(
        string name, HttpContext http, ModelRegistry registry, IModelStore store, CancellationToken cancellationToken)
    {
        if (http.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
        {
            limit.MaxRequestBodySize = MaxUploadBytes + 1;
        }

        try
        {
            var version = await registry.RegisterUploadAsync(name, http.Request.Body, MaxUploadBytes, cancellationToken);
            return TypedResults.Created($"/api/v1/models/{name}/versions/{version.Version}",
                ModelVersionResponse.From(version, await store.GetModelAsync(name, cancellationToken)));
        }
        catch (ModelRejectedException ex)
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { [ex.Field] = [ex.Message] });
        }
    }

    public static async Task<Results<Ok<ModelVersionResponse>, ProblemHttpResult>> GetVersionAsync(string name, int version, IModelStore store, CancellationToken cancellationToken) =>
        await store.GetVersionAsync(name, version, cancellationToken) is { } found
            ? TypedResults.Ok(ModelVersionResponse.From(found, await store.GetModelAsync(name, cancellationToken)))
            : NoVersion(name, version);

    public static async Task<Results<FileStreamHttpResult, ProblemHttpResult>> ArtifactAsync(string name, int version, IModelStore store, ContentStore content, CancellationToken cancellationToken) =>
        await store.GetVersionAsync(name, version, cancellationToken) is { Sha256: { } sha } && content.OpenRead(sha) is { } stream
            ? TypedResults.File(stream, "application/octet-stream", $"{name}-v{version}.onnx")
            : NoVersion(name, version);

    public static async Task<Results<Ok<ModelResponse>, ValidationProblem, ProblemHttpResult>> SetAliasAsync(
        string name, string alias, SetAliasRequest request, ModelRegistry registry, CancellationToken cancellationToken)
    {
        if (!ValidKey().IsMatch(alias))
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["alias"] = [KeyRule("alias")] });
        }

        if (request.Version is not { } version)
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["version"] = ["version is required."] });
        }

        return await registry.SetAliasAsync(name, alias, version, cancellationToken) is { } model
            ? TypedResults.Ok(new ModelResponse(model.Name, model.CreatedAt, model.Tags, model.Aliases, null, null))
            : NoVersion(name, version);
    }

    public static async Task<Results<NoContent, ProblemHttpResult>> DeleteAliasAsync(string name, string alias, ModelRegistry registry, CancellationToken cancellationToken) =>
        await registry.DeleteAliasAsync(name, alias, cancellationToken)
            ? TypedResults.NoContent()
            : TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "Not found", detail: $"Model '{name}' has no alias '{alias}'.");

    public static async Task<Results<NoContent, ValidationProblem, ProblemHttpResult>> SetModelTagAsync(
        string name, string key, SetTagRequest request, IModelStore store, CancellationToken cancellationToken)
    {
        if (TagProblem(key, request) is { } problem)
        {
            return problem;
        }

        return await store.GetModelAsync(name, cancellationToken) is { } model
            && await store.UpdateModelAsync(model with { Tags = new Dictionary<string, string>(model.Tags) { [key] = request.Value! } }, cancellationToken)
            ? TypedResults.NoContent()
            : NoModel(name);
    }

    public static async Task<Results<NoContent, ProblemHttpResult>> DeleteModelTagAsync(string name, string key, IModelStore store, CancellationToken cancellationToken)
    {
        if (await store.GetModelAsync(name, cancellationToken) is not { } model || !model.Tags.ContainsKey(key))
        {
            return NoModel(name);
        }

        var tags = new Dictionary<string, string>(model.Tags);
        tags.Remove(key);
        await store.UpdateModelAsync(model with { Tags = tags }, cancellationToken);
        return TypedResults.NoContent();
    }

    public static async Task<Results<NoContent, ValidationProblem, ProblemHttpResult>> SetVersionTagAsync(
        string name, int version, string key, SetTagRequest request, IModelStore store, CancellationToken cancellationToken)
    {
        if (TagProblem(key, request) is { } problem)
        {
            return problem;
        }

        return await store.GetVersionAsync(name, version, cancellationToken) is { } found
            && await store.UpdateVersionAsync(found with { Tags = new Dictionary<string, string>(found.Tags) { [key] = request.Value! } }, cancellationToken)
            ? TypedResults.NoContent()
            : NoVersion(name, version);
    }

    public static async Task<Results<NoContent, ProblemHttpResult>> DeleteVersionTagAsync(string name, int version, string key, IModelStore store, CancellationToken cancellationToken)
    {
        if (await store.GetVersionAsync(name, version, cancellationToken) is not { } found || !found.Tags.ContainsKey(key))
        {
            return NoVersion(name, version);
        }

        var tags = new Dictionary<string, string>(found.Tags);
        tags.Remove(key);
        await store.UpdateVersionAsync(found with { Tags = tags }, cancellationToken);
        return TypedResults.NoContent();
    }

    private static ValidationProblem? TagProblem(string key, SetTagRequest request) =>
        !ValidKey().IsMatch(key) ? TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["key"] = [KeyRule("a tag key")] })
        : request.Value is not { Length: <= 5000 } ? TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["value"] = ["value is required, at most 5000 characters."] })
        : null;

    private static string KeyRule(string what) => $"{what} is 1 to 64 letters, digits, '.', '_' or '-', starting with a letter.";

    private static ProblemHttpResult NoModel(string name) =>
        TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "Not found", detail: $"There is no model '{name}'{(ResourceNames.IsValid(name) ? "" : $" ({ResourceNames.Rule})")}.");

    private static ProblemHttpResult NoVersion(string name, int version) =>
        TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "Not found", detail: $"Model '{name}' has no version {version}.");

    [GeneratedRegex("^[A-Za-z][A-Za-z0-9._-]{0,63}$")]
    private static partial Regex ValidKey();
}
