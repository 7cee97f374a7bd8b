using System.Text;
using EdgeGreen.ControlPlane.Cluster;
using EdgeGreen.ControlPlane.Core.Pipelines;
using EdgeGreen.ControlPlane.Ingest;
using EdgeGreen.ControlPlane.Security;
using EdgeGreen.Shared;
using EdgeGreen.Shared.Jobs;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace EdgeGreen.ControlPlane.Pipelines;

public static class PipelinesApi
{
    public const int MaxListLimit = 1000;

    /// <summary>The longest job name a submission accepts (<c>JobSubmissions</c>).</summary>
    private const int MaxJobNameLength = 128;

    /// <summary>Pipelines: definitions, runs and the leader's runner (<c>EdgeGreen:Pipelines</c>).</summary>
    public static IHostApplicationBuilder AddPipelines(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<PipelineOptions>().BindConfiguration(PipelineOptions.SectionName)
            .Validate(o => o.MaxDefinitionBytes is >= 1024 and <= 16 * 1024 * 1024,
                "EdgeGreen:Pipelines:MaxDefinitionBytes must be between 1024 and 16777216.")
            .Validate(o => o.Interval >= TimeSpan.FromMilliseconds(10) && o.Interval <= TimeSpan.FromHours(1),
                "EdgeGreen:Pipelines:Interval must be between 00:00:00.010 and 01:00:00.")
            .ValidateOnStart();
        builder.Services.AddSingleton<PipelineRuns>();
        builder.Services.AddSingleton<PipelinePlanning>();
        builder.Services.AddSingleton<PipelineRunner>();
        builder.Services.AddSingleton<PipelineJobWatcher>();
        builder.Services.AddHostedService<PipelineRunnerService>();
        return builder;
    }

    public static IEndpointRouteBuilder MapPipelinesApi(this IEndpointRouteBuilder routes)
    {
        var pipelines = routes.MapGroup("/api/v1/pipelines").RequireAuthorization(Policies.Viewer).WithTags("Pipelines");
        pipelines.MapPut("/{name}", PutAsync).WithName("PutPipeline").RequireAuthorization(Policies.Operator)
            .Accepts<PipelineDefinitionBody>("application/json", "application/yaml", "application/x-yaml", "text/yaml")
            .ProducesValidationProblem().ProducesProblem(StatusCodes.Status413PayloadTooLarge).ProducesProblem(StatusCodes.Status415UnsupportedMediaType)
            .WithSummary("Stores a definition (JSON, or YAML with Content-Type application/yaml) as the pipeline's next version (201), or finds the latest version when it is the same (200).");
        pipelines.MapGet("/", ListAsync).WithName("ListPipelines").WithSummary("Every pipeline with its latest version.");
        pipelines.MapGet("/{name}", GetAsync).WithName("GetPipeline").ProducesProblem(StatusCodes.Status404NotFound)
            .WithSummary("A pipeline's versions, oldest first, each with its definition and the text it was submitted as.");
        pipelines.MapPost("/{name}/runs", StartRunAsync).WithName("StartPipelineRun").RequireAuthorization(Policies.Operator).RunOnLeader()
            .ProducesValidationProblem().ProducesProblem(StatusCodes.Status404NotFound)
            .WithSummary("Starts a run: it is planned as a whole by carbon under its deadline at once (201 with the plan).");
        pipelines.MapGet("/{name}/runs", ListRunsAsync).WithName("ListPipelineRuns").ProducesValidationProblem().ProducesProblem(StatusCodes.Status404NotFound)
            .WithSummary("The pipeline's runs, newest first.");
        pipelines.MapGet("/{name}/runs/{id}", GetRunAsync).WithName("GetPipelineRun").ProducesProblem(StatusCodes.Status404NotFound)
            .WithSummary("One run: its steps with their plan, outputs, metrics, energy and carbon, and the run's totals.");
        pipelines.MapPost("/{name}/runs/{id}/cancel", CancelRunAsync).WithName("CancelPipelineRun").RequireAuthorization(Policies.Operator).RunOnLeader()
            .ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict)
            .WithSummary("Cancels a run: its running jobs are stopped and its unfinished steps skipped.");
        pipelines.MapPost("/{name}/runs/{id}/steps/{step}/retry", RetryStepAsync).WithName("RetryPipelineStep").RequireAuthorization(Policies.Operator).RunOnLeader()
            .ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict)
            .WithSummary("Runs a failed step again, with the steps its failure skipped.");
        return routes;
    }

    public static async Task<Results<Created<PipelineVersionResponse>, Ok<PipelineVersionResponse>, ValidationProblem, ProblemHttpResult>> PutAsync(
        string name, HttpContext http, IPipelineStore store, IOptions<PipelineOptions> options, IOptions<SchedulingOptions> scheduling, TimeProvider timeProvider,
        CancellationToken cancellationToken)
    {
        if (!ResourceNames.IsValid(name))
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["name"] = [ResourceNames.Rule] });
        }

        var max = options.Value.MaxDefinitionBytes;
        if (await ReadBodyAsync(http, max, cancellationToken) is not { } body)
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status413PayloadTooLarge, title: "Definition too large",
                detail: $"A pipeline definition may be at most {max} bytes (EdgeGreen:Pipelines:MaxDefinitionBytes).");
        }

        var contentType = http.Request.ContentType ?? "application/json";
        var read = PipelineDefinitionReader.Read(body, contentType);
        if (read.Status == PipelineReadStatus.UnsupportedContentType)
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status415UnsupportedMediaType, title: "Unsupported media type",
                detail: $"Send the definition as application/json or application/yaml, not {contentType}.");
        }

        if (read.Definition is not { } definition)
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]>(read.Errors));
        }

        if (Problems(name, definition, scheduling.Value.Horizon) is { Count: > 0 } problems)
        {
            return TypedResults.ValidationProblem(problems);
        }

        var (version, created) = await store.AddVersionAsync(name, definition, Encoding.UTF8.GetString(body), contentType, timeProvider.GetUtcNow(), cancellationToken);
        var response = PipelineVersionResponse.From(version);
        return created ? TypedResults.Created($"/api/v1/pipelines/{Uri.EscapeDataString(name)}", response) : TypedResults.Ok(response);
    }

    public static async Task<Ok<IReadOnlyList<PipelineVersionResponse>>> ListAsync(IPipelineStore store, CancellationToken cancellationToken) =>
        TypedResults.Ok<IReadOnlyList<PipelineVersionResponse>>([.. (await store.ListLatestAsync(cancellationToken)).Select(PipelineVersionResponse.From)]);

    public static async Task<Results<Ok<PipelineResponse>, ProblemHttpResult>> GetAsync(string name, IPipelineStore store, CancellationToken cancellationToken) =>
        await store.ListVersionsAsync(name, cancellationToken) is { Count: > 0 } versions
            ? TypedResults.Ok(new PipelineResponse(name, versions[^1].Version, [.. versions.Select(PipelineVersionResponse.From)]))
            : NotFound($"There is no pipeline '{name}'.");

    public static async Task<Results<Created<PipelineRunResponse>, ValidationProblem, ProblemHttpResult>> StartRunAsync(
        string name, StartPipelineRunRequest? request, PipelineRuns runs, PipelineRunner runner, CancellationToken cancellationToken)
    {
        var (run, errors, notFound) = await runs.CreateAsync(name, request ?? new StartPipelineRunRequest(null, null, null), cancellationToken);
        if (notFound)
        {
            return NotFound($"There is no pipeline '{name}'.");
        }

        if (run is null)
        {
            return TypedResults.ValidationProblem(errors);
        }

        var started = await runner.StartAsync(run, cancellationToken);
        return TypedResults.Created($"/api/v1/pipelines/{Uri.EscapeDataString(name)}/runs/{started.Id}", PipelineRunResponse.From(started));
    }

    public static async Task<Results<Ok<IReadOnlyList<PipelineRunResponse>>, ValidationProblem, ProblemHttpResult>> ListRunsAsync(
        string name, int? limit, IPipelineStore store, CancellationToken cancellationToken)
    {
        if (limit is < 1 or > MaxListLimit)
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["limit"] = [$"limit must be from 1 to {MaxListLimit}."] });
        }

        if ((await store.ListVersionsAsync(name, cancellationToken)).Count == 0)
        {
            return NotFound($"There is no pipeline '{name}'.");
        }

        var found = await store.ListRunsAsync(name, limit ?? 100, cancellationToken);
        return TypedResults.Ok<IReadOnlyList<PipelineRunResponse>>([.. found.Select(PipelineRunResponse.From)]);
    }

    public static async Task<Results<Ok<PipelineRunResponse>, ProblemHttpResult>> GetRunAsync(
        string name, string id, IPipelineStore store, CancellationToken cancellationToken) =>
        await store.GetRunAsync(id, cancellationToken) is { } run && run.Pipeline == name
            ? TypedResults.Ok(PipelineRunResponse.From(run))
            : NotFound($"Pipeline '{name}' has no run '{id}'.");

    public static Task<Results<Ok<PipelineRunResponse>, ProblemHttpResult>> CancelRunAsync(
        string name, string id, IPipelineStore store, PipelineRunner runner, CancellationToken cancellationToken) =>
        ChangeRunAsync(name, id, store, () => runner.CancelAsync(id, "Cancelled by a user.", cancellationToken), cancellationToken);

    public static Task<Results<Ok<PipelineRunResponse>, ProblemHttpResult>> RetryStepAsync(
        string name, string id, string step, IPipelineStore store, PipelineRunner runner, CancellationToken cancellationToken) =>
        ChangeRunAsync(name, id, store, () => runner.RetryStepAsync(id, step, cancellationToken), cancellationToken);

    private static async Task<Results<Ok<PipelineRunResponse>, ProblemHttpResult>> ChangeRunAsync(
        string name, string id, IPipelineStore store, Func<Task<PipelineRun>> change, CancellationToken cancellationToken)
    {
        if (await store.GetRunAsync(id, cancellationToken) is not { } existing || existing.Pipeline != name)
        {
            return NotFound($"Pipeline '{name}' has no run '{id}'.");
        }

        try
        {
            return TypedResults.Ok(PipelineRunResponse.From(await change()));
        }
        catch (PipelineStateException ex)
        {
            return ex.NotFound
                ? NotFound(ex.Message)
                : TypedResults.Problem(statusCode: StatusCodes.Status409Conflict, title: "Not possible now", detail: ex.Message);
        }
    }

    /// <summary>
    /// What the definition language cannot know: durations beyond the scheduler's horizon (a run
    /// could never be planned), job names (<c>pipeline.step</c>) longer than a job's name may be,
    /// and control characters, which the JSON guard refuses in JSON bodies and YAML would let through.
    /// </summary>
    private static Dictionary<string, string[]> Problems(string name, PipelineDefinition definition, TimeSpan horizon)
    {
        var problems = new Dictionary<string, string[]>();
        if (definition.Deadline > horizon)
        {
            problems["deadline"] = [$"deadline may be at most the planning horizon, {Durations.Format(horizon)} (EdgeGreen:Scheduling:Horizon)."];
        }

        var texts = definition.Parameters.SelectMany(p => new[] { p.Key, p.Value ?? "" }).Select(t => ("parameters", t)).ToList();
        for (var i = 0; i < definition.Steps.Count; i++)
        {
            var step = definition.Steps[i];
            if (step.EstimatedDuration > horizon)
            {
                problems[$"steps[{i}].estimatedDuration"] = [$"step '{step.Name}': estimatedDuration may be at most the planning horizon, {Durations.Format(horizon)}."];
            }

            if (name.Length + 1 + step.Name.Length > MaxJobNameLength)
            {
                problems[$"steps[{i}].name"] = [$"step '{step.Name}': its jobs are named '{name}.{step.Name}', which may be at most {MaxJobNameLength} characters."];
            }

            texts.AddRange(step.Parameters.SelectMany(p => new[] { p.Key, p.Value }).Append(step.When ?? "").Select(t => ($"steps[{i}].parameters", t)));
            texts.AddRange((step.Placement?.AgentLabels ?? new Dictionary<string, string>()).SelectMany(l => new[] { l.Key, l.Value })
                .Concat(step.Placement?.Zones ?? []).Select(t => ($"steps[{i}].placement", t)));
        }

        foreach (var (field, text) in texts.Where(t => ControlCharacters.AnyInText(t.Item2)))
        {
            problems.TryAdd(field, [$"{field} may not contain control characters (U+0000-U+001F but tab, line feed and return; U+007F-U+009F)."]);
        }

        return problems;
    }

    /// <summary>The body, or null when it is larger than <paramref name="max"/> bytes.</summary>
    private static async Task<byte[]?> ReadBodyAsync(HttpContext http, int max, CancellationToken cancellationToken)
    {
        if (http.Request.ContentLength > max)
        {
            return null;
        }

        if (http.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
        {
            limit.MaxRequestBodySize = max + 1L;
        }

        using var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        try
        {
            int read;
            while ((read = await http.Request.Body.ReadAsync(chunk, cancellationToken)) > 0)
            {
                if (buffer.Length + read > max)
                {
                    return null;
                }

                buffer.Write(chunk, 0, read);
            }
        }
        catch (BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return null;
        }

        return buffer.ToArray();
    }

    private static ProblemHttpResult NotFound(string detail) =>
        TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "Not found", detail: detail);
}
