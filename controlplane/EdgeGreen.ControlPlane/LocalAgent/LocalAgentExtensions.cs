using System.Globalization;
using System.Security.Cryptography.X509Certificates;
using EdgeGreen.Agent;
using EdgeGreen.Agent.Serving;
using EdgeGreen.Agent.Uplink;
using EdgeGreen.ControlPlane.Hosting;
using EdgeGreen.ControlPlane.Security;
using Grpc.AspNetCore.Server;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http.Features;

namespace EdgeGreen.ControlPlane.LocalAgent;

/// <summary>
/// The single-node run hosts an agent in the control plane's process. It is the real agent
/// (sampling, outbox, uplink), enrolled with a normally minted token and talking to this control
/// plane over loopback gRPC; only its address and token come from the host instead of configuration.
/// Settings: <c>EdgeGreen:LocalAgent</c> (any agent setting, plus <c>Enabled</c>); its files live
/// in <c>&lt;data directory&gt;/local-agent</c> unless <c>DataDirectory</c> is set.
/// </summary>
public static class LocalAgentExtensions
{
    public const string SectionName = "EdgeGreen:LocalAgent";

    public static IHostApplicationBuilder AddLocalAgent(this IHostApplicationBuilder builder, KestrelEndpoints endpoints)
    {
        var section = builder.Configuration.GetSection(SectionName);
        if (!section.GetValue("Enabled", defaultValue: true))
        {
            return builder;
        }

        builder.Services.AddEdgeGreenAgent(section, new AgentEmbedding(
            sp => new LocalControlPlaneAddress(endpoints, sp.GetRequiredService<IHostApplicationLifetime>()),
            sp => new LocalEnrollmentTokenSource(sp.GetRequiredService<EnrollmentTokens>())));
        builder.Services.AddExceptionHandler<InferenceErrors.ExceptionHandler>();
        builder.Services.AddGrpc().AddServiceOptions<GrpcInferenceService>(grpc => grpc.MaxReceiveMessageSize = OpenInferenceProtocol.MaxBodyBytes);
        builder.Services.PostConfigure<AgentOptions>(options =>
        {
            if (section["DataDirectory"] is null)
            {
                var storage = builder.Configuration.GetSection(StorageOptions.SectionName).Get<StorageOptions>() ?? new StorageOptions();
                options.DataDirectory = Path.Combine(storage.DataDirectory, "local-agent");
            }

            if (section["Name"] is null)
            {
                options.Name = $"local-{Environment.MachineName}".ToLowerInvariant();
            }

            if (section["Zone"] is null)
            {
                options.Zone = DefaultZone;
            }

            // The linger saves radio, CPU and disk wake-ups on a device; in-process over loopback
            // there is little to save, and the single-node view should be close to live.
            if (section["Uplink:Linger"] is null)
            {
                options.Uplink.Linger = DefaultUplinkLinger;
            }
        });
        return builder;
    }

    /// <summary>
    /// The local agent's Open Inference Protocol endpoint (its <c>serve</c> jobs' models) under
    /// <c>/v2</c> on the control plane's HTTP port, and in its gRPC form
    /// (<c>inference.GRPCInferenceService</c>) on the gRPC port: the liveness and readiness probes
    /// open, the rest for viewers (an API key as <c>authorization: Bearer</c>).
    /// </summary>
    public static IEndpointRouteBuilder MapLocalAgent(this IEndpointRouteBuilder routes)
    {
        if (routes.ServiceProvider.GetService<OpenInferenceProtocol>() is null)
        {
            return routes;
        }

        var v2 = routes.MapGroup("/v2").WithTags("Inference");
        v2.Map("/health/{probe}", AnswerAsync).AllowAnonymous().WithSummary("Open Inference Protocol liveness and readiness.");
        v2.Map("", AnswerAsync).RequireAuthorization(Policies.Viewer).WithSummary("Open Inference Protocol server metadata.");
        v2.Map("/{**path}", AnswerAsync).RequireAuthorization(Policies.Viewer)
            .WithSummary("Open Inference Protocol (KServe v2): model metadata, readiness and infer for the local agent's served models.");
        routes.MapGrpcService<GrpcInferenceService>().RequireAuthorization(Policies.Viewer).Add(endpoint =>
        {
            if (endpoint.Metadata.OfType<GrpcMethodMetadata>().FirstOrDefault()?.Method.Name is nameof(GrpcInferenceService.ServerLive) or nameof(GrpcInferenceService.ServerReady))
            {
                endpoint.Metadata.Add(new AllowAnonymousAttribute());
            }
        });
        return routes;
    }

    private static async Task AnswerAsync(HttpContext context)
    {
        var protocol = context.RequestServices.GetRequiredService<OpenInferenceProtocol>();

        // Kestrel's own limit (30 MB by default) is below the protocol's and ended the read with an
        // exception, a 500; and it would cut the connection under a client still sending. The
        // protocol bounds the body itself (it keeps at most MaxBodyBytes and reads at most
        // MaxDiscardBytes of a body it refuses with 413), so Kestrel's limit is lifted here.
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
        {
            limit.MaxRequestBodySize = null;
        }

        var reply = await protocol.AnswerAsync(context.Request.Method, context.Request.Path.ToUriComponent(), context.Request.Body,
            context.Request.ContentLength, context.Request.Headers[OpenInferenceProtocol.HeaderLengthHeader].FirstOrDefault(),
            context.Request.Headers[OpenInferenceProtocol.RequestKeyHeader].FirstOrDefault(), context.RequestAborted);
        context.Response.StatusCode = reply.Status;
        context.Response.ContentType = reply.ContentType;
        if (reply.HeaderLength is { } headerLength)
        {
            context.Response.Headers[OpenInferenceProtocol.HeaderLengthHeader] = headerLength.ToString(CultureInfo.InvariantCulture);
        }

        await context.Response.Body.WriteAsync(reply.Body, context.RequestAborted);
    }

    /// <summary>The local agent's grid zone when none is configured.</summary>
    public const string DefaultZone = "ES";

    /// <summary>The local agent's uplink linger when none is configured.</summary>
    public static readonly TimeSpan DefaultUplinkLinger = TimeSpan.FromSeconds(1);

    /// <summary>
    /// The bound <c>Grpc</c> endpoint, known once the server has started listening. Over TLS the
    /// local agent trusts exactly the certificate this process serves there: it dials a loopback
    /// address that the certificate need not name, and the certificate's CA need not be in any store.
    /// </summary>
    private sealed class LocalControlPlaneAddress(KestrelEndpoints endpoints, IHostApplicationLifetime lifetime) : IControlPlaneAddress
    {
        public X509Certificate2? KnownServerCertificate => endpoints.GrpcCertificate;

        public async ValueTask<Uri> ResolveAsync(CancellationToken cancellationToken)
        {
            var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            using (lifetime.ApplicationStarted.Register(() => started.TrySetResult()))
            {
                await started.Task.WaitAsync(cancellationToken);
            }

            return endpoints.Grpc;
        }
    }

    /// <summary>Mints a token through the same path as <c>POST /api/v1/enrollment-tokens</c>.</summary>
    private sealed class LocalEnrollmentTokenSource(EnrollmentTokens tokens) : IEnrollmentTokenSource
    {
        public async ValueTask<string?> GetTokenAsync(CancellationToken cancellationToken) =>
            (await tokens.MintAsync(cancellationToken)).Token;
    }
}
