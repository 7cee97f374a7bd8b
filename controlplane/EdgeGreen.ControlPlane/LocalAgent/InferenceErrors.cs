using EdgeGreen.Agent.Serving;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.WebUtilities;

namespace EdgeGreen.ControlPlane.LocalAgent;

/// <summary>
/// Every error under <c>/v2</c> is the Open Inference Protocol's <c>{"error": "..."}</c>, whoever
/// answers it: the protocol itself, the authorization middleware (401, 403), the rate limit (429),
/// the time limit (504) or the exception handler (500). Triton's and KServe's clients read that
/// field and fail on anything else; the rest of the control plane keeps ProblemDetails.
/// </summary>
public static class InferenceErrors
{
    /// <summary>Status code pages: the protocol's body under <c>/v2</c>, the default (ProblemDetails) elsewhere.</summary>
    public static StatusCodePagesOptions StatusCodePages()
    {
        var fallback = new StatusCodePagesOptions().HandleAsync;
        return new StatusCodePagesOptions
        {
            HandleAsync = context => IsInference(context.HttpContext)
                ? WriteAsync(context.HttpContext, context.HttpContext.Response.StatusCode)
                : fallback(context),
        };
    }

    internal static bool IsInference(HttpContext context) => context.Request.Path.StartsWithSegments("/v2");

    internal static Task WriteAsync(HttpContext context, int status)
    {
        var reply = OpenInferenceProtocol.Error(status, status switch
        {
            StatusCodes.Status401Unauthorized => "An API key is required: send Authorization: Bearer <key> (viewer, operator or admin).",
            StatusCodes.Status403Forbidden => "This API key may not use the inference endpoint.",
            StatusCodes.Status429TooManyRequests => "Too many requests; retry after the seconds in Retry-After.",
            StatusCodes.Status500InternalServerError => "Internal error; see the control plane's log.",
            StatusCodes.Status504GatewayTimeout => "The request took longer than the control plane's request time limit.",
            _ => ReasonPhrases.GetReasonPhrase(status),
        });
        context.Response.ContentType = reply.ContentType;
        return context.Response.Body.WriteAsync(reply.Body, context.RequestAborted).AsTask();
    }

    /// <summary>An unexpected failure under <c>/v2</c>: 500 in the protocol's form (it is logged by the exception handler middleware).</summary>
    internal sealed class ExceptionHandler : IExceptionHandler
    {
        public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
        {
            if (!IsInference(httpContext))
            {
                return false;
            }

            httpContext.Response.StatusCode = StatusCodes.Status500InternalServerError;
            await WriteAsync(httpContext, StatusCodes.Status500InternalServerError);
            return true;
        }
    }
}
