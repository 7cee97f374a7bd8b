using EdgeGreen.ControlPlane.Core.Monitoring;
using EdgeGreen.ControlPlane.Security;
using Microsoft.AspNetCore.Http.HttpResults;

namespace EdgeGreen.ControlPlane.Monitoring;

public static class MonitoringApi
{
    public static IHostApplicationBuilder AddMonitoring(this IHostApplicationBuilder builder) => builder.AddMonitoringCore();

    public static IEndpointRouteBuilder MapMonitoringApi(this IEndpointRouteBuilder routes)
    {
        routes.MapGrpcService<MonitoringGrpcService>();
        var deployments = routes.MapGroup("/api/v1/deployments").RequireAuthorization(Policies.Viewer).WithTags("Monitoring");
        deployments.MapGet("/{name}/drift", DriftAsync).WithName("GetDeploymentDrift")
            .ProducesValidationProblem().ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict)
            .WithSummary("Drift of the deployment's served inputs and predictions over PT1H, P1D or P7D against its version's training data.");
        deployments.MapPost("/{name}/feedback", FeedbackAsync).WithName("PostDeploymentFeedback").RequireAuthorization(Policies.Operator)
            .ProducesValidationProblem().ProducesProblem(StatusCodes.Status404NotFound)
            .WithSummary("Labels for served requests, joined to their kept predictions by the protocol's request id.");
        deployments.MapGet("/{name}/performance", PerformanceAsync).WithName("GetDeploymentPerformance")
            .ProducesValidationProblem().ProducesProblem(StatusCodes.Status404NotFound)
            .WithSummary("AUC, accuracy or RMSE from labels over PT1H, P1D or P7D, per hour; for a binary classifier also an estimate from confidences alone (CBPE).");
        var experiments = routes.MapGroup("/api/v1/experiments").RequireAuthorization(Policies.Viewer).WithTags("Experiments");
        experiments.MapPost("/", StartExperimentAsync).WithName("StartExperiment").RequireAuthorization(Policies.Operator)
            .ProducesValidationProblem().ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict)
            .WithSummary("Starts an A/B experiment: the deployment's traffic is split between its version (control) and the treatment, sticky per request key.");
        experiments.MapGet("/", ListExperimentsAsync).WithName("ListExperiments").WithSummary("Every experiment, running and concluded.");
        experiments.MapGet("/{name}", GetExperimentAsync).WithName("GetExperiment").ProducesProblem(StatusCodes.Status404NotFound)
            .WithSummary("Each arm's metric, energy and carbon per 1,000 inferences, and the always-valid test of their difference with its decision.");
        experiments.MapPost("/{name}/conclude", ConcludeExperimentAsync).WithName("ConcludeExperiment").RequireAuthorization(Policies.Operator)
            .ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict)
            .WithSummary("Ends the experiment on its decision: a better treatment becomes the deployment's version (and its alias moves); otherwise the control stays.");
        return routes;
    }

    public static async Task<Results<Created<ExperimentResult>, ValidationProblem, ProblemHttpResult>> StartExperimentAsync(StartExperimentRequest request,
        Experiments experiments, CancellationToken cancellationToken)
    {
        var (result, problem) = await experiments.StartAsync(request, cancellationToken);
        if (result is not null)
        {
            return TypedResults.Created($"/api/v1/experiments/{result.Experiment.Name}", result);
        }

        return Problem<ExperimentResult>(problem!).Result switch
        {
            ValidationProblem validation => validation,
            var other => (ProblemHttpResult)other,
        };
    }

    public static async Task<Ok<IReadOnlyList<ExperimentRecord>>> ListExperimentsAsync(Experiments experiments, CancellationToken cancellationToken) =>
        TypedResults.Ok(await experiments.ListAsync(cancellationToken));

    public static async Task<Results<Ok<ExperimentResult>, ProblemHttpResult>> GetExperimentAsync(string name, Experiments experiments, CancellationToken cancellationToken) =>
        await experiments.GetAsync(name, cancellationToken) is { } result
            ? TypedResults.Ok(result)
            : TypedResults.Problem($"No experiment is named '{name}'.", statusCode: StatusCodes.Status404NotFound);

    public static async Task<Results<Ok<ExperimentResult>, ValidationProblem, ProblemHttpResult>> ConcludeExperimentAsync(string name, Experiments experiments,
        CancellationToken cancellationToken)
    {
        var (result, problem) = await experiments.ConcludeAsync(name, cancellationToken);
        return result is not null ? TypedResults.Ok(result) : Problem<ExperimentResult>(problem!);
    }

    /// <summary><c>POST /api/v1/deployments/{name}/feedback</c> <c>[{requestId, label}]</c>: how many joined, and the ids that matched no kept prediction.</summary>
    public static async Task<Results<Ok<FeedbackResult>, ValidationProblem, ProblemHttpResult>> FeedbackAsync(string name, List<FeedbackItem> feedback,
        PerformanceReports reports, CancellationToken cancellationToken)
    {
        var (result, problem) = await reports.AddFeedbackAsync(name, feedback, cancellationToken);
        return result is not null ? TypedResults.Ok(result) : Problem<FeedbackResult>(problem!);
    }

    /// <summary><c>GET /api/v1/deployments/{name}/performance?window=PT1H|P1D|P7D&amp;version=N</c>.</summary>
    public static async Task<Results<Ok<PerformanceReport>, ValidationProblem, ProblemHttpResult>> PerformanceAsync(string name, PerformanceReports reports,
        string? window, int? version, CancellationToken cancellationToken)
    {
        var (report, problem) = await reports.ComputeAsync(name, window ?? "P1D", version, cancellationToken);
        return report is not null ? TypedResults.Ok(report) : Problem<PerformanceReport>(problem!);
    }

    private static Results<Ok<T>, ValidationProblem, ProblemHttpResult> Problem<T>(MonitoringProblem problem) => problem switch
    {
        { NotFound: true } => TypedResults.Problem(problem.Message, statusCode: StatusCodes.Status404NotFound),
        { Conflict: true } or { Field: "version" } => TypedResults.Problem(problem.Message, statusCode: StatusCodes.Status409Conflict),
        _ => TypedResults.ValidationProblem(new Dictionary<string, string[]> { [problem.Field] = [problem.Message] }),
    };

    /// <summary>
    /// <c>GET /api/v1/deployments/{name}/drift?window=PT1H|P1D|P7D&amp;version=N&amp;method=psi|ks|wasserstein|chisquare</c>:
    /// per feature the chosen test (PSI unless <c>method</c> says otherwise) and every other that applies.
    /// </summary>
    public static async Task<Results<Ok<DriftReport>, ValidationProblem, ProblemHttpResult>> DriftAsync(string name, DriftReports reports,
        string? window, int? version, string? method, CancellationToken cancellationToken)
    {
        var (report, problem) = await reports.ComputeAsync(name, window ?? "PT1H", version, method, cancellationToken);
        return report is not null ? TypedResults.Ok(report) : Problem<DriftReport>(problem!);
    }
}
