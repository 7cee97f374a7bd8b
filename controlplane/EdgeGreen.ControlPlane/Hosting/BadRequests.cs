using System.Reflection;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.AspNetCore.Mvc;

namespace EdgeGreen.ControlPlane.Hosting;

/// <summary>
/// A request that minimal APIs cannot bind (a query value that is no instant, a JSON body that does
/// not parse) answered as ASP.NET Core MVC's model validation answers it, and so as the Carbon Aware
/// SDK's Web API does: <c>400</c> with a validation problem whose <c>errors</c> map names the field
/// (the query or route name, or the JSON path of the bad value, <c>$[0].startTime</c>). Binding
/// throws (<see cref="RouteHandlerOptions.ThrowOnBadRequest"/>) so that the field is known here; other
/// statuses a binder raises (<c>413</c>, <c>415</c>) keep their status, with a plain problem document.
/// </summary>
public sealed partial class BadRequestExceptionHandler(IProblemDetailsService problems) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        if (exception is not BadHttpRequestException bad)
        {
            return false;
        }

        httpContext.Response.StatusCode = bad.StatusCode;
        var problem = bad.StatusCode == StatusCodes.Status400BadRequest
            ? new HttpValidationProblemDetails(Errors(httpContext, bad)) { Title = "One or more validation errors occurred." }
            : new ProblemDetails { Title = bad.Message };
        problem.Status = bad.StatusCode;
        return await problems.TryWriteAsync(new ProblemDetailsContext { HttpContext = httpContext, Exception = exception, ProblemDetails = problem });
    }

    private static Dictionary<string, string[]> Errors(HttpContext context, BadHttpRequestException bad)
    {
        if (bad.InnerException is JsonException { Path: { } path } json)
        {
            return new() { [path] = [json.Message] };
        }

        if (ParameterName().Match(bad.Message) is not { Success: true } match)
        {
            return new() { [""] = [bad.Message] };
        }

        var field = BoundName(context, match.Groups["name"].Value);
        var raw = context.Request.Query.TryGetValue(field, out var query) ? query.ToString()
            : context.Request.RouteValues.TryGetValue(field, out var route) ? route?.ToString() : null;
        return new() { [field] = [raw is null ? $"The {field} field is required." : $"The value '{raw}' is not valid for {field}."] };
    }

    /// <summary>The name the parameter is bound from (<c>[FromQuery(Name = "location")] string[] locations</c>: <c>location</c>).</summary>
    private static string BoundName(HttpContext context, string parameter)
    {
        var info = context.GetEndpoint()?.Metadata.GetMetadata<MethodInfo>()?.GetParameters().FirstOrDefault(p => p.Name == parameter);
        var attributes = info?.GetCustomAttributes(inherit: false) ?? [];
        return attributes.OfType<IFromQueryMetadata>().FirstOrDefault()?.Name
            ?? attributes.OfType<IFromRouteMetadata>().FirstOrDefault()?.Name
            ?? parameter;
    }

    /// <summary>The parameter in minimal APIs' binding messages: <c>Failed to bind parameter "Nullable&lt;DateTimeOffset&gt; time" from "x".</c></summary>
    [GeneratedRegex("""parameter "(?:[^"]* )?(?<name>[^" ]+)"\s""", RegexOptions.CultureInvariant)]
    private static partial Regex ParameterName();
}
