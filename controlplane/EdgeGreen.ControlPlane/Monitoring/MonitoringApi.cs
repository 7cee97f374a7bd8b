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
        return routes;
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
        { Field: "version" } => TypedResults.Problem(problem.Message, statusCode: StatusCodes.Status409Conflict),
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
