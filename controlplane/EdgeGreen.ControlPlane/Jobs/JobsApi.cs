using EdgeGreen.ControlPlane.Cluster;
using EdgeGreen.Shared;
using EdgeGreen.ControlPlane.Security;
using Microsoft.AspNetCore.Http.HttpResults;

namespace EdgeGreen.ControlPlane.Jobs;

/// <summary>A job as the API shows it: the submission, the plan, the run and its carbon accounting.</summary>
public sealed record JobResponse(
    string Id,
    string Name,
    string Kind,
    IReadOnlyDictionary<string, string> Parameters,
    JobStatus Status,
    string? StatusReason,
    DateTimeOffset SubmittedAt,
    DateTimeOffset EarliestStart,
    DateTimeOffset Deadline,
    string EstimatedDuration,
    EstimateSource DurationEstimate,
    double EstimatedPowerWatts,
    EstimateSource PowerEstimate,
    double EstimatedEnergyJoules,
    JobResources Resources,
    JobPlacement Placement,
    bool Interruptible,
    double? CarbonBudgetGrams,
    double? EnergyBudgetJoules,
    DateTimeOffset? PlannedStart,
    string? AgentId,
    string? Zone,
    double? ForecastIntensityGramsPerKwh,
    double? ForecastCarbonGrams,
    double? RunNowCarbonGrams,
    bool? MeetsDeadline,
    int Attempts,
    DateTimeOffset? StartedAt,
    DateTimeOffset? FinishedAt,
    double Progress,
    string? Phase,
    double? EnergyJoules,
    ReadingProvenance? EnergyProvenance,
    double? RealisedIntensityGramsPerKwh,
    double? CarbonGrams,
    double? RunNowRealisedCarbonGrams,
    double? SavedCarbonGrams,
    bool OverBudget,
    string? Error,
    JobEnergyReport? Energy,
    IReadOnlyDictionary<string, double> Metrics)
{
    public static JobResponse From(JobRecord job) => new(
        job.Id, job.Name, job.Kind, job.Parameters, job.Status, job.StatusReason, job.SubmittedAt, job.EarliestStart, job.Deadline,
        Durations.Format(job.EstimatedDuration), job.DurationEstimate, job.EstimatedPowerWatts, job.PowerEstimate, job.EstimatedEnergyJoules,
        job.Resources, job.Placement, job.Interruptible, job.CarbonBudgetGrams, job.EnergyBudgetJoules,
        job.PlannedStart, job.AgentId, job.Zone, job.ForecastIntensityGramsPerKwh, job.ForecastCarbonGrams, job.RunNowCarbonGrams, job.MeetsDeadline,
        job.Attempts, job.StartedAt, job.FinishedAt, job.Progress, job.Phase, job.EnergyJoules, job.EnergyProvenance,
        job.RealisedIntensityGramsPerKwh, job.CarbonGrams, job.RunNowRealisedCarbonGrams,
        job.RunNowRealisedCarbonGrams - job.CarbonGrams, job.OverBudget, job.Error, JobEnergyReport.From(job), job.Metrics);
}

/// <summary>
/// A finished job's energy: by domain in J and kWh, the measured share, its duration and average
/// power; and its SCI for R = the job, (E × I + M) with the terms apart (null until the realised
/// intensity is known; M counted only where the agent has an embodied figure), and per 1,000
/// inferences for a job that reports the inferences it made (<c>serve</c>, <c>batch-infer</c>).
/// </summary>
public sealed record JobEnergyReport(
    double EnergyJoules,
    double EnergyKwh,
    double MeasuredShare,
    double DurationSeconds,
    double? AveragePowerWatts,
    IReadOnlyList<DomainEnergyResponse> Domains,
    double? SciGrams,
    SciTerms? Sci,
    double? SciPer1kInferencesGrams)
{
    /// <summary>The job metric that counts inferences, the functional unit of serving.</summary>
    public const string InferencesMetric = "inferences";

    public static JobEnergyReport? From(JobRecord job)
    {
        if (job is not { EnergyJoules: { } joules, StartedAt: { } started, FinishedAt: { } finished })
        {
            return null;
        }

        var seconds = Math.Max((finished - started).TotalSeconds, 0);
        var measured = job.EnergyByDomain.Count > 0
            ? job.EnergyByDomain.Where(d => d.Provenance == ReadingProvenance.Measured).Sum(d => d.EnergyJoules)
            : job.EnergyProvenance == ReadingProvenance.Measured ? joules : 0;
        var sci = job.RealisedIntensityGramsPerKwh is { } intensity ? SciTerms.FromJoules(joules, intensity, job.EmbodiedCarbonGrams, "job") : null;
        return new JobEnergyReport(joules, joules / JobAccounting.JoulesPerKwh, joules > 0 ? measured / joules : 0, seconds, seconds > 0 ? joules / seconds : null,
            [.. job.EnergyByDomain.Select(d => new DomainEnergyResponse(d.Domain, d.EnergyJoules, d.EnergyJoules / JobAccounting.JoulesPerKwh,
                d.Provenance == ReadingProvenance.Measured ? "measured" : "modelled"))],
            sci?.Grams(), sci,
            sci is not null && job.Metrics.TryGetValue(InferencesMetric, out var inferences) && inferences > 0 ? sci.Grams() * 1000 / inferences : null);
    }
}

public sealed record DomainEnergyResponse(string Domain, double EnergyJoules, double EnergyKwh, string Provenance);

public static class JobsApi
{
    public const int MaxListLimit = 1000;

    /// <summary>The agents' job service (gRPC) and the jobs REST API.</summary>
    public static IEndpointRouteBuilder MapJobs(this IEndpointRouteBuilder routes)
    {
        routes.MapGrpcService<JobGrpcService>().DisableRequestTimeout();
        routes.MapJobsApi();
        return routes;
    }

    public static IEndpointRouteBuilder MapJobsApi(this IEndpointRouteBuilder routes)
    {
        var jobs = routes.MapGroup("/api/v1/jobs").RequireAuthorization(Policies.Viewer).WithTags("Jobs");
        jobs.MapPost("/", SubmitJob).WithName("SubmitJob").ProducesProblem(StatusCodes.Status422UnprocessableEntity).RequireAuthorization(Policies.Operator).RunOnLeader()
            .WithSummary("Submits a job; it is planned at once (201 with the plan) or refused when its best placement exceeds its budget (422).");
        jobs.MapGet("/", ListJobs).WithName("ListJobs").WithSummary("Jobs, newest first, optionally by status and name.");
        jobs.MapGet("/{id}", GetJob).WithName("GetJob").ProducesProblem(StatusCodes.Status404NotFound).WithSummary("One job with its plan, run and emissions.");
        jobs.MapGet("/{id}/emissions.csv", JobEmissionsCsv).WithName("GetJobEmissionsCsv")
            .Produces<string>(StatusCodes.Status200OK, "text/csv").ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict)
            .WithSummary("The finished job as a CodeCarbon emissions.csv row (CodeCarbon 3.x's columns and units; layout=codecarbon2 for 2.x's).");
        routes.MapGet("/api/v1/emissions.csv", EmissionsCsvInRange).WithName("GetEmissionsCsv").RequireAuthorization(Policies.Viewer).WithTags("Jobs")
            .Produces<string>(StatusCodes.Status200OK, "text/csv").ProducesValidationProblem().ProducesProblem(StatusCodes.Status422UnprocessableEntity)
            .WithSummary("Every job that finished in [from, to) as CodeCarbon emissions.csv rows; from defaults to 7 days before to, to to now; layout as for one job.");
        jobs.MapPost("/{id}/cancel", CancelJob).WithName("CancelJob").RequireAuthorization(Policies.Operator).RunOnLeader()
            .ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict)
            .WithSummary("Cancels a job: at once when it has not started, else the agent stops it.");
        return routes;
    }

    public static async Task<Results<Created<JobResponse>, ValidationProblem, ProblemHttpResult>> SubmitJob(
        SubmitJobRequest request, JobSubmissions submissions, JobScheduler scheduler, CancellationToken cancellationToken)
    {
        var (job, errors) = await submissions.CreateAsync(request, cancellationToken);
        if (job is null)
        {
            return TypedResults.ValidationProblem(errors);
        }

        var outcome = await scheduler.SubmitAsync(job, cancellationToken);
        if (outcome.Refused)
        {
            var refused = outcome.Job;
            return TypedResults.Problem(statusCode: StatusCodes.Status422UnprocessableEntity, title: "The job exceeds its budget", detail: refused.StatusReason,
                extensions: new Dictionary<string, object?>
                {
                    ["plannedStart"] = refused.PlannedStart,
                    ["agentId"] = refused.AgentId,
                    ["zone"] = refused.Zone,
                    ["forecastCarbonGrams"] = refused.ForecastCarbonGrams,
                    ["runNowCarbonGrams"] = refused.RunNowCarbonGrams,
                    ["estimatedEnergyJoules"] = refused.EstimatedEnergyJoules,
                });
        }

        return TypedResults.Created($"/api/v1/jobs/{outcome.Job.Id}", JobResponse.From(outcome.Job));
    }

    public static async Task<Results<Ok<IReadOnlyList<JobResponse>>, ValidationProblem>> ListJobs(
        string? status, string? name, int? limit, IJobStore jobs, CancellationToken cancellationToken)
    {
        JobStatus? filter = null;
        if (status is not null)
        {
            if (!EnumNames.TryParse<JobStatus>(status, out var parsed))
            {
                return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["status"] = [$"status must be one of: {EnumNames.List<JobStatus>()}."] });
            }

            filter = parsed;
        }

        if (limit is < 1 or > MaxListLimit)
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["limit"] = [$"limit must be from 1 to {MaxListLimit}."] });
        }

        var found = await jobs.ListAsync(new JobQuery(filter, name, limit ?? 100), cancellationToken);
        return TypedResults.Ok<IReadOnlyList<JobResponse>>([.. found.Select(JobResponse.From)]);
    }

    public static async Task<Results<Ok<JobResponse>, ProblemHttpResult>> GetJob(string id, IJobStore jobs, CancellationToken cancellationToken) =>
        await jobs.GetAsync(id, cancellationToken) is { } job ? TypedResults.Ok(JobResponse.From(job)) : NotFound(id);

    public const int MaxCsvRows = 100_000;

    public static async Task<IResult> JobEmissionsCsv(string id, string? layout, IJobStore jobs, CancellationToken cancellationToken)
    {
        if (CsvLayout(layout) is not { } columns)
        {
            return InvalidLayout();
        }

        if (await jobs.GetAsync(id, cancellationToken) is not { } job)
        {
            return NotFound(id);
        }

        return EmissionsCsv.HasRow(job)
            ? Csv(EmissionsCsv.Write([job], columns))
            : TypedResults.Problem(statusCode: StatusCodes.Status409Conflict, title: "The job has no energy report yet",
                detail: $"Job {id} is {job.Status.ToString().ToLowerInvariant()}; a job has an emissions row once it has run and finished.");
    }

    public static async Task<IResult> EmissionsCsvInRange(
        DateTimeOffset? from, DateTimeOffset? to, string? layout, IJobStore jobs, TimeProvider clock, CancellationToken cancellationToken)
    {
        if (CsvLayout(layout) is not { } columns)
        {
            return InvalidLayout();
        }

        if (Instants.Problems(("from", from), ("to", to)) is { } implausible)
        {
            return TypedResults.ValidationProblem(implausible);
        }

        var end = to ?? clock.GetUtcNow();
        var start = from ?? end.AddDays(-7);
        if (start >= end)
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["from"] = ["from must be before to."] });
        }

        var finished = await jobs.ListFinishedAsync(start, end, MaxCsvRows + 1, cancellationToken);
        if (finished.Count > MaxCsvRows)
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status422UnprocessableEntity, title: "Too many jobs for one export",
                detail: $"More than {MaxCsvRows} jobs finished in the range; ask for a shorter one.");
        }

        return Csv(EmissionsCsv.Write(finished, columns));
    }

    /// <summary>The <c>layout</c> query values: CodeCarbon 3.x's columns unless a 2.x reader asks for its own.</summary>
    public const string CodeCarbon3Layout = "codecarbon3";

    public const string CodeCarbon2Layout = "codecarbon2";

    private static EmissionsCsvLayout? CsvLayout(string? layout) => layout switch
    {
        null or CodeCarbon3Layout => EmissionsCsvLayout.CodeCarbon3,
        CodeCarbon2Layout => EmissionsCsvLayout.CodeCarbon2,
        _ => null,
    };

    private static ValidationProblem InvalidLayout() => TypedResults.ValidationProblem(new Dictionary<string, string[]>
    {
        ["layout"] = [$"layout must be {CodeCarbon3Layout} (the default: CodeCarbon 3.x's columns) or {CodeCarbon2Layout} (CodeCarbon 2.0-2.6's)."],
    });

    private static IResult Csv(string text) =>
        TypedResults.Text(text, "text/csv; charset=utf-8", System.Text.Encoding.UTF8);

    public static async Task<Results<Ok<JobResponse>, ProblemHttpResult>> CancelJob(string id, JobScheduler scheduler, CancellationToken cancellationToken)
    {
        try
        {
            return TypedResults.Ok(JobResponse.From(await scheduler.CancelAsync(id, cancellationToken)));
        }
        catch (JobStateException ex) when (ex.NotFound)
        {
            return NotFound(id);
        }
        catch (JobStateException ex)
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status409Conflict, title: "The job cannot be cancelled", detail: ex.Message);
        }
    }

    private static ProblemHttpResult NotFound(string id) =>
        TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "Job not found", detail: $"No job has the id '{id}'.");
}
