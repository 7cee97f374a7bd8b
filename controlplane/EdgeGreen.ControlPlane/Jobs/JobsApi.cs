using EdgeGreen.Agent;
using EdgeGreen.ControlPlane.Security;
using EdgeGreen.ControlPlane.Storage;
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
    double? EnergyJoules,
    ReadingProvenance? EnergyProvenance,
    double? RealisedIntensityGramsPerKwh,
    double? CarbonGrams,
    double? RunNowRealisedCarbonGrams,
    double? SavedCarbonGrams,
    bool OverBudget,
    string? Error)
{
    public static JobResponse From(JobRecord job) => new(
        job.Id, job.Name, job.Kind, job.Parameters, job.Status, job.StatusReason, job.SubmittedAt, job.EarliestStart, job.Deadline,
        Durations.Format(job.EstimatedDuration), job.DurationEstimate, job.EstimatedPowerWatts, job.PowerEstimate, job.EstimatedEnergyJoules,
        job.Resources, job.Placement, job.Interruptible, job.CarbonBudgetGrams, job.EnergyBudgetJoules,
        job.PlannedStart, job.AgentId, job.Zone, job.ForecastIntensityGramsPerKwh, job.ForecastCarbonGrams, job.RunNowCarbonGrams, job.MeetsDeadline,
        job.Attempts, job.StartedAt, job.FinishedAt, job.Progress, job.EnergyJoules, job.EnergyProvenance,
        job.RealisedIntensityGramsPerKwh, job.CarbonGrams, job.RunNowRealisedCarbonGrams,
        job.RunNowRealisedCarbonGrams - job.CarbonGrams, job.OverBudget, job.Error);
}

public static class JobsApi
{
    public const int MaxListLimit = 1000;

    public static IEndpointRouteBuilder MapJobsApi(this IEndpointRouteBuilder routes)
    {
        var jobs = routes.MapGroup("/api/v1/jobs").RequireAuthorization(Policies.Viewer).WithTags("Jobs");
        jobs.MapPost("/", SubmitJob).RequireAuthorization(Policies.Operator)
            .WithSummary("Submits a job; it is planned at once (201 with the plan) or refused when its best placement exceeds its budget (422).");
        jobs.MapGet("/", ListJobs).WithSummary("Jobs, newest first, optionally by status and name.");
        jobs.MapGet("/{id}", GetJob).WithSummary("One job with its plan, run and emissions.");
        jobs.MapPost("/{id}/cancel", CancelJob).RequireAuthorization(Policies.Operator)
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
            if (!Enum.TryParse<JobStatus>(status, ignoreCase: true, out var parsed) || int.TryParse(status, out _))
            {
                return TypedResults.ValidationProblem(new Dictionary<string, string[]>
                {
                    ["status"] = [$"status must be one of: {string.Join(", ", Enum.GetNames<JobStatus>().Select(s => s.ToLowerInvariant()))}."],
                });
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
