using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Http.Timeouts;
using EdgeGreen.ControlPlane.Core;
using Prometheus;

namespace EdgeGreen.ControlPlane.Hosting;

/// <summary>Rate limits and time limits of the REST endpoint (<c>EdgeGreen:Limits</c>).</summary>
public sealed class RequestLimitsOptions
{
    public const string SectionName = "EdgeGreen:Limits";

    /// <summary>Requests a minute one client address may make without credentials.</summary>
    public int AnonymousRequestsPerMinute { get; set; } = 600;

    /// <summary>Requests a minute one credential (API key) may make.</summary>
    public int KeyedRequestsPerMinute { get; set; } = 6_000;

    /// <summary>Requests a minute one client address may make in all, whatever credentials it presents.</summary>
    public int AddressRequestsPerMinute { get; set; } = 60_000;

    /// <summary>
    /// How long a REST request may run before it is cancelled with 504; uploads, downloads and the
    /// agents' gRPC streams are exempt (their sizes are bounded instead).
    /// </summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(30);
}

/// <summary>
/// Every REST request is counted against two token buckets, its client address and its credential
/// (or, without one, the anonymous bucket of its address), so that neither a leaked key nor an
/// anonymous client can exhaust the control plane; beyond them it is answered <c>429</c> with
/// <c>Retry-After</c> and counted. Agents' gRPC calls, health probes and metrics scrapes are not
/// limited (agents are bounded by their own batching; probes, the inference health probes
/// included, must always answer). Requests run
/// under a time limit (<see cref="RequestLimitsOptions.RequestTimeout"/>).
/// </summary>
public static class RequestLimits
{
    /// <summary>The <c>client</c> label of requests without credentials (and the prefix of their buckets).</summary>
    internal const string Anonymous = "anonymous";

    /// <summary>The <c>client</c> label of requests with a credential.</summary>
    internal const string Keyed = "credential";

    public static IHostApplicationBuilder AddRequestLimits(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<RequestLimitsOptions>().BindConfiguration(RequestLimitsOptions.SectionName)
            .Validate(o => o.AnonymousRequestsPerMinute >= 1, "EdgeGreen:Limits:AnonymousRequestsPerMinute must be at least 1.")
            .Validate(o => o.KeyedRequestsPerMinute >= 1, "EdgeGreen:Limits:KeyedRequestsPerMinute must be at least 1.")
            .Validate(o => o.AddressRequestsPerMinute >= 1, "EdgeGreen:Limits:AddressRequestsPerMinute must be at least 1.")
            .Validate(o => o.RequestTimeout > TimeSpan.Zero, "EdgeGreen:Limits:RequestTimeout must be positive.")
            .ValidateOnStart();
        var limits = builder.Configuration.GetSection(RequestLimitsOptions.SectionName).Get<RequestLimitsOptions>() ?? new RequestLimitsOptions();
        builder.Services.AddRateLimiter(options =>
        {
            options.GlobalLimiter = PartitionedRateLimiter.CreateChained(
                PartitionedRateLimiter.Create<HttpContext, string>(context => Exempt(context)
                    ? RateLimitPartition.GetNoLimiter("")
                    : Bucket("address:" + Address(context), limits.AddressRequestsPerMinute)),
                PartitionedRateLimiter.Create<HttpContext, string>(context => Exempt(context)
                    ? RateLimitPartition.GetNoLimiter("")
                    : Credential(context) is { } credential
                        ? Bucket($"{Keyed}:{credential}", limits.KeyedRequestsPerMinute)
                        : Bucket($"{Anonymous}:{Address(context)}", limits.AnonymousRequestsPerMinute)));
            options.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            options.OnRejected = (rejected, _) =>
            {
                var context = rejected.HttpContext;
                context.RequestServices.GetRequiredService<RequestLimitMetrics>().Rejected
                    .WithLabels(Credential(context) is null ? Anonymous : Keyed).Inc();
                context.Response.Headers.RetryAfter = rejected.Lease.TryGetMetadata(MetadataName.RetryAfter, out var retryAfter)
                    ? Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds)).ToString(CultureInfo.InvariantCulture)
                    : "1";
                return ValueTask.CompletedTask;
            };
        });
        builder.Services.AddRequestTimeouts(options => options.DefaultPolicy = new RequestTimeoutPolicy
        {
            Timeout = limits.RequestTimeout,
            TimeoutStatusCode = StatusCodes.Status504GatewayTimeout,
        });
        builder.Services.AddSingleton<RequestLimitMetrics>();
        return builder;
    }

    /// <summary>
    /// Before authentication, so that requests with made-up credentials are counted against their
    /// address too (the credential buckets key on the presented header, not on a verified identity).
    /// </summary>
    public static WebApplication UseRequestLimits(this WebApplication app)
    {
        app.UseRateLimiter();
        app.UseRequestTimeouts();
        return app;
    }

    // Agents' gRPC calls are exempt by the endpoint they reach (routing has run), not by the content
    // type they claim: any client could send "application/grpc" to a REST route to pass every bucket.
    private static bool Exempt(HttpContext context) =>
        context.GetEndpoint()?.Metadata.GetMetadata<Grpc.AspNetCore.Server.GrpcMethodMetadata>() is not null
        || context.Request.Path.StartsWithSegments("/healthz")
        || context.Request.Path.StartsWithSegments("/readyz")
        || context.Request.Path.StartsWithSegments("/v2/health")
        || context.Request.Path.StartsWithSegments("/metrics")
        // The dashboard's fingerprinted static files (scripts, styles, fonts): a page load fetches a dozen.
        || context.Request.Path.StartsWithSegments("/_framework")
        || context.Request.Path.StartsWithSegments("/_content")
        || context.Request.Path.StartsWithSegments("/ui");

    private static string Address(HttpContext context) => context.Connection.RemoteIpAddress?.ToString() ?? IPAddress.None.ToString();

    /// <summary>The presented credential as a digest (never the secret itself, which would then sit in memory as a key).</summary>
    private static string? Credential(HttpContext context) =>
        context.Request.Headers.Authorization is [{ Length: > 0 } header]
            ? Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(header)), 0, 16)
            : null;

    /// <summary>
    /// A token bucket that refills one request at a time, evenly over the minute, and holds at
    /// most a tenth of a minute's worth: short bursts pass, a sustained excess is refused.
    /// </summary>
    private static RateLimitPartition<string> Bucket(string key, int perMinute) =>
        RateLimitPartition.GetTokenBucketLimiter(key, _ => new TokenBucketRateLimiterOptions
        {
            TokenLimit = Math.Max(1, perMinute / 10),
            TokensPerPeriod = 1,
            ReplenishmentPeriod = TimeSpan.FromMinutes(1) / perMinute,
            QueueLimit = 0,
            AutoReplenishment = true,
        });
}

public sealed class RequestLimitMetrics(IMetricFactory factory)
{
    public Counter Rejected { get; } = factory.CreateCounter("edgegreen_http_requests_rate_limited_total",
        "REST requests refused with 429 by the rate limits (EdgeGreen:Limits), by whether they presented a credential.", ["client"])
        .WithSeries(RequestLimits.Anonymous, RequestLimits.Keyed);
}
