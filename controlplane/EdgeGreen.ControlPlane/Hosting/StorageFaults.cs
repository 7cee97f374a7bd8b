using System.Text;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace EdgeGreen.ControlPlane.Hosting;

/// <summary>
/// Storage failures as callers understand them: gRPC <c>ResourceExhausted</c> when the disk or
/// database is full and <c>Unavailable</c> otherwise, REST <c>503</c> with a problem document, both
/// naming the cause, so that agents keep their readings and retry, and nothing is acknowledged
/// that was not stored.
/// </summary>
public static class StorageFaults
{
    public static StatusCode GrpcStatus(StorageException exception) =>
        exception.Fault == StorageFault.Full ? StatusCode.ResourceExhausted : StatusCode.Unavailable;

    public static RpcException ToRpcException(StorageException exception) =>
        new(new Status(GrpcStatus(exception), $"Storage cannot serve this now ({exception.Fault}): {exception.Message}; retry later."));

    /// <summary>
    /// Writes <c>/readyz</c>: <c>Healthy</c>, or <c>Unhealthy</c> followed by each failing check and
    /// its reason on a line of its own, so that an operator sees why without reading logs.
    /// </summary>
    public static Task WriteReadiness(HttpContext context, HealthReport report)
    {
        context.Response.ContentType = "text/plain; charset=utf-8";
        var text = new StringBuilder(report.Status.ToString());
        foreach (var (name, entry) in report.Entries.Where(e => e.Value.Status != HealthStatus.Healthy))
        {
            text.Append('\n').Append(name).Append(": ").Append(entry.Description ?? entry.Exception?.Message ?? entry.Status.ToString());
        }

        return context.Response.WriteAsync(text.ToString());
    }
}

/// <summary>Maps <see cref="StorageException"/> escaping any gRPC handler to its status.</summary>
public sealed class StorageFaultInterceptor : Interceptor
{
    public override async Task<TResponse> UnaryServerHandler<TRequest, TResponse>(TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            return await continuation(request, context);
        }
        catch (StorageException ex)
        {
            throw StorageFaults.ToRpcException(ex);
        }
    }

    public override async Task<TResponse> ClientStreamingServerHandler<TRequest, TResponse>(IAsyncStreamReader<TRequest> requestStream, ServerCallContext context,
        ClientStreamingServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            return await continuation(requestStream, context);
        }
        catch (StorageException ex)
        {
            throw StorageFaults.ToRpcException(ex);
        }
    }

    public override async Task ServerStreamingServerHandler<TRequest, TResponse>(TRequest request, IServerStreamWriter<TResponse> responseStream, ServerCallContext context,
        ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            await continuation(request, responseStream, context);
        }
        catch (StorageException ex)
        {
            throw StorageFaults.ToRpcException(ex);
        }
    }

    public override async Task DuplexStreamingServerHandler<TRequest, TResponse>(IAsyncStreamReader<TRequest> requestStream, IServerStreamWriter<TResponse> responseStream,
        ServerCallContext context, DuplexStreamingServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            await continuation(requestStream, responseStream, context);
        }
        catch (StorageException ex)
        {
            throw StorageFaults.ToRpcException(ex);
        }
    }
}

/// <summary>Answers a REST request that hit a storage failure with <c>503</c> (or <c>507</c> when storage is full) and the cause.</summary>
public sealed class StorageFaultExceptionHandler(IProblemDetailsService problems) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        if (exception is not StorageException storage)
        {
            return false;
        }

        httpContext.Response.StatusCode = storage.Fault == StorageFault.Full ? StatusCodes.Status507InsufficientStorage : StatusCodes.Status503ServiceUnavailable;
        httpContext.Response.Headers.RetryAfter = "30";
        return await problems.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = httpContext,
            Exception = exception,
            ProblemDetails =
            {
                Status = httpContext.Response.StatusCode,
                Title = "Storage is not available",
                Detail = $"{storage.Fault}: {storage.Message}",
            },
        });
    }
}
