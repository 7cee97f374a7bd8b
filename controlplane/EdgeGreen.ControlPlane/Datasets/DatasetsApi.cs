using EdgeGreen.Shared.Datasets;
using EdgeGreen.ControlPlane.Security;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.HttpResults;

namespace EdgeGreen.ControlPlane.Datasets;

public sealed record DatasetVersionResponse(string Name, int Version, string Sha256, long Rows, IReadOnlyList<DatasetColumn> Columns, long SizeBytes, DateTimeOffset CreatedAt)
{
    public static DatasetVersionResponse From(DatasetVersionRecord v) => new(v.Name, v.Version, v.Sha256, v.Rows, v.Columns, v.SizeBytes, v.CreatedAt);
}

public sealed record DatasetResponse(string Name, IReadOnlyList<DatasetVersionResponse> Versions);

public static class DatasetsApi
{
    public static IHostApplicationBuilder AddDatasets(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<DatasetOptions>().BindConfiguration(DatasetOptions.SectionName)
            .Validate(o => o.MaxBytes > 0, "EdgeGreen:Datasets:MaxBytes must be positive.")
            .ValidateOnStart();
        builder.Services.AddSingleton<DatasetCatalog>();
        builder.Services.AddSingleton<Core.Jobs.IJobParameterResolver, DatasetParameterResolver>();
        builder.Services.AddSingleton<Core.Jobs.IJobLifecycleHandler, PredictionsRegistration>();
        builder.Services.AddHostedService<SampleDatasetSeeder>();
        return builder;
    }

    public static IEndpointRouteBuilder MapDatasets(this IEndpointRouteBuilder routes)
    {
        var datasets = routes.MapGroup("/api/v1/datasets").RequireAuthorization(Policies.Viewer).WithTags("Datasets");
        datasets.MapPost("/", UploadAsync).WithName("UploadDataset").RequireAuthorization(Policies.Operator).DisableRequestTimeout()
            .WithSummary("Uploads a CSV body as the next version of ?name= (201), or finds the version with the same bytes (200).");
        datasets.MapGet("/", ListAsync).WithName("ListDatasets").WithSummary("Every dataset with its latest version.");
        datasets.MapGet("/{name}", GetAsync).WithName("GetDataset").ProducesProblem(StatusCodes.Status404NotFound)
            .WithSummary("A dataset's versions, oldest first.");
        datasets.MapGet("/{name}/versions/{version:int}/content", ContentAsync).WithName("GetDatasetContent").Produces(StatusCodes.Status200OK, typeof(Stream), "text/csv")
            .ProducesProblem(StatusCodes.Status404NotFound).DisableRequestTimeout()
            .WithSummary("A version's CSV bytes.");
        return routes;
    }

    public static async Task<Results<Created<DatasetVersionResponse>, Ok<DatasetVersionResponse>, ValidationProblem>> UploadAsync(
        string? name, HttpContext http, DatasetCatalog catalog, CancellationToken cancellationToken)
    {
        var tooLarge = new Dictionary<string, string[]> { ["body"] = [$"The CSV may be at most {catalog.MaxBytes} bytes (EdgeGreen:Datasets:MaxBytes)."] };
        if (http.Request.ContentLength > catalog.MaxBytes)
        {
            return TypedResults.ValidationProblem(tooLarge);
        }

        if (http.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
        {
            limit.MaxRequestBodySize = catalog.MaxBytes + 1;
        }

        try
        {
            var (version, created) = await catalog.AddAsync(name, http.Request.Body, cancellationToken);
            var response = DatasetVersionResponse.From(version);
            return created
                ? TypedResults.Created($"/api/v1/datasets/{Uri.EscapeDataString(version.Name)}", response)
                : TypedResults.Ok(response);
        }
        catch (DatasetRejectedException ex)
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { [ex.Field] = [ex.Message] });
        }
        catch (BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return TypedResults.ValidationProblem(tooLarge);
        }
    }

    public static async Task<Ok<IReadOnlyList<DatasetVersionResponse>>> ListAsync(IDatasetStore store, CancellationToken cancellationToken) =>
        TypedResults.Ok<IReadOnlyList<DatasetVersionResponse>>([.. (await store.ListLatestAsync(cancellationToken)).Select(DatasetVersionResponse.From)]);

    public static async Task<Results<Ok<DatasetResponse>, ProblemHttpResult>> GetAsync(string name, IDatasetStore store, CancellationToken cancellationToken) =>
        await store.ListVersionsAsync(name, cancellationToken) is { Count: > 0 } versions
            ? TypedResults.Ok(new DatasetResponse(name, [.. versions.Select(DatasetVersionResponse.From)]))
            : NotFound($"There is no dataset '{name}'.");

    public static async Task<Results<FileStreamHttpResult, ProblemHttpResult>> ContentAsync(
        string name, int version, IDatasetStore store, ContentStore content, CancellationToken cancellationToken)
    {
        var found = (await store.ListVersionsAsync(name, cancellationToken)).FirstOrDefault(v => v.Version == version);
        return found is not null && content.OpenRead(found.Sha256) is { } stream
            ? TypedResults.File(stream, "text/csv", $"{name}-v{version}.csv")
            : NotFound($"There is no version {version} of dataset '{name}'.");
    }

    private static ProblemHttpResult NotFound(string detail) =>
        TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "Not found", detail: detail);
}
