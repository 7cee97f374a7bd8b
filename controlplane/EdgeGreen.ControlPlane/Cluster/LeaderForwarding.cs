using System.Collections.Concurrent;
using Grpc.Core;
using Grpc.Net.Client;

namespace EdgeGreen.ControlPlane.Cluster;

/// <summary>
/// Job state changes happen on the leader alone, one at a time, so that a job is never planned,
/// leased or run twice. Agents and users may reach any replica: a replica that does not lead hands
/// agents' job calls (and the lease renewals in heartbeats) to the leader over gRPC, and REST job
/// changes over HTTP, with the caller's own credential, so the leader authenticates and authorises
/// them as if they had come to it directly.
/// </summary>
public sealed class LeaderForwarding(ClusterMembership cluster, IHttpClientFactory http) : IDisposable
{
    public const string HttpClientName = "leader";
    private readonly ConcurrentDictionary<string, GrpcChannel> _channels = new(StringComparer.Ordinal);

    /// <summary>True when this replica should do the work itself.</summary>
    public bool IsLeader => cluster.IsLeader;

    /// <summary>A channel to the leader's gRPC endpoint; <c>Unavailable</c> while no leader is known.</summary>
    public CallInvoker LeaderCalls() =>
        _channels.GetOrAdd(LeaderUrl(cluster.Leader?.GrpcUrl), url => GrpcChannel.ForAddress(url)).CreateCallInvoker();

    /// <summary>The caller's credential, passed on unchanged.</summary>
    public static Metadata Credentials(ServerCallContext context)
    {
        var headers = new Metadata();
        if (context.RequestHeaders.GetValue("authorization") is { } authorization)
        {
            headers.Add("authorization", authorization);
        }

        return headers;
    }

    /// <summary>Sends a REST request on to the leader and copies its answer back.</summary>
    public async Task ForwardAsync(HttpContext context)
    {
        var target = new Uri(new Uri(LeaderUrl(cluster.Leader?.HttpUrl, StatusCodes.Status503ServiceUnavailable)), context.Request.Path + context.Request.QueryString);
        using var request = new HttpRequestMessage(new HttpMethod(context.Request.Method), target);
        if (context.Request.ContentLength is > 0 || context.Request.Headers.TransferEncoding.Count > 0)
        {
            // The endpoint has read the body to bind it; BufferRequestBodies kept it.
            if (context.Request.Body.CanSeek)
            {
                context.Request.Body.Position = 0;
            }

            request.Content = new StreamContent(context.Request.Body);
            if (context.Request.ContentType is { } contentType)
            {
                request.Content.Headers.TryAddWithoutValidation("Content-Type", contentType);
            }
        }

        if (context.Request.Headers.Authorization.ToString() is { Length: > 0 } authorization)
        {
            request.Headers.TryAddWithoutValidation("Authorization", authorization);
        }

        using var client = http.CreateClient(HttpClientName);
        using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, context.RequestAborted);
        context.Response.StatusCode = (int)response.StatusCode;
        if (response.Content.Headers.ContentType is { } type)
        {
            context.Response.ContentType = type.ToString();
        }

        await response.Content.CopyToAsync(context.Response.Body, context.RequestAborted);
    }

    public void Dispose()
    {
        foreach (var channel in _channels.Values)
        {
            channel.Dispose();
        }
    }

    private static string LeaderUrl(string? url, int? httpStatus = null) => url ?? throw (httpStatus is null
        ? new RpcException(new Status(StatusCode.Unavailable, "No replica leads the cluster right now (an election is under way); retry shortly."))
        : new BadHttpRequestException("No replica leads the cluster right now (an election is under way); retry shortly.", httpStatus.Value));
}

/// <summary>
/// Runs a REST endpoint on the leader: elsewhere the request is forwarded there. The body is kept
/// (buffered) so that it can be sent on after the endpoint has read it to bind its arguments.
/// </summary>
public sealed class ForwardToLeaderFilter(LeaderForwarding forwarding) : IEndpointFilter
{
    /// <summary>Keeps request bodies of endpoints with this filter readable again.</summary>
    public static IApplicationBuilder BufferRequestBodies(IApplicationBuilder app) => app.Use((context, next) =>
    {
        if (context.GetEndpoint()?.Metadata.GetMetadata<ForwardedToLeader>() is not null)
        {
            context.Request.EnableBuffering();
        }

        return next(context);
    });

    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        if (forwarding.IsLeader)
        {
            return await next(context);
        }


        await forwarding.ForwardAsync(context.HttpContext);
        return Results.Empty;
    }
}

/// <summary>Marks an endpoint whose requests a replica that does not lead forwards to the leader.</summary>
public sealed class ForwardedToLeader;

public static class LeaderForwardingExtensions
{
    /// <summary>The endpoint runs on the leader; other replicas forward its requests there.</summary>
    public static RouteHandlerBuilder RunOnLeader(this RouteHandlerBuilder endpoint) =>
        endpoint.WithMetadata(new ForwardedToLeader()).AddEndpointFilter<ForwardToLeaderFilter>();
}
