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
        return routes;
    }

    /// <summary>
    /// <c>GET /api/v1/deployments/{name}/drift?window=PT1H|P1D|P7D&amp;version=N&amp;method=psi|ks|wasserstein|chisquare</c>:
    /// per feature the chosen test (PSI unless <c>method</c> says otherwise) and every other that applies.
    /// </summary>
    public static async Task<Results<Ok<DriftReport>, ValidationProblem, ProblemHttpResult>> DriftAsync(string name, DriftReports reports,
        string? window, int? version, string? method, CancellationToken cancellationToken)
    {
        var (report, problem) = await reports.ComputeAsync(name, window ?? "PT1H", version, method, cancellationToken);
        return problem switch
        {
            null => TypedResults.Ok(report!),
            { NotFound: true } => TypedResults.Problem(problem.Message, statusCode: StatusCodes.Status404NotFound),
            { Field: "version" } => TypedResults.Problem(problem.Message, statusCode: StatusCodes.Status409Conflict),
            _ => TypedResults.ValidationProblem(new Dictionary<string, string[]> { [problem.Field] = [problem.Message] }),
        };
    }
}
