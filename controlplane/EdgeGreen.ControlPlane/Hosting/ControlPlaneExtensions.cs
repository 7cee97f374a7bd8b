using System.Text.Json;
using System.Text.Json.Serialization;
using EdgeGreen.Agent;
using EdgeGreen.ControlPlane.Alerts;
using EdgeGreen.ControlPlane.Api;
using EdgeGreen.ControlPlane.Artifacts;
using EdgeGreen.ControlPlane.Carbon;
using EdgeGreen.ControlPlane.Cluster;
using EdgeGreen.ControlPlane.Dashboard;
using EdgeGreen.ControlPlane.Datasets;
using EdgeGreen.ControlPlane.Deployments;
using EdgeGreen.ControlPlane.Feed;
using EdgeGreen.ControlPlane.Ingest;
using EdgeGreen.ControlPlane.Jobs;
using EdgeGreen.ControlPlane.LocalAgent;
using EdgeGreen.ControlPlane.Monitoring;
using EdgeGreen.ControlPlane.Outbound;
using EdgeGreen.ControlPlane.Pipelines;
using EdgeGreen.ControlPlane.Registry;
using EdgeGreen.ControlPlane.Security;
using EdgeGreen.ControlPlane.Storage;
using EdgeGreen.ControlPlane.Webhooks;
using EdgeGreen.Shared;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Prometheus;

namespace EdgeGreen.ControlPlane.Hosting;

public static class ControlPlaneExtensions
{
    /// <summary>Registers every control-plane feature and, unless disabled, the local agent.</summary>
    public static WebApplicationBuilder AddControlPlane(this WebApplicationBuilder builder)
    {
        builder.Configuration.AddDefaults(Defaults);
        var endpoints = new KestrelEndpoints();
        builder.Services.AddSingleton(endpoints);
        builder.WebHost.ConfigureKestrel((context, kestrel) =>
            endpoints.Capture(kestrel, context.Configuration, grpc => AgentClientCertificates.Apply(grpc, kestrel.ApplicationServices)));
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSingleton(sp => new LogThrottle(sp.GetRequiredService<TimeProvider>()));
        builder.Services.AddSingleton(_ => Metrics.NewCustomRegistry());
        builder.Services.AddSingleton<IMetricFactory>(sp =>
        {
            var registry = sp.GetRequiredService<CollectorRegistry>();
            DotNetStats.Register(registry);
            return Metrics.WithCustomRegistry(registry);
        });

        builder.AddStorage();
        builder.AddTelemetry();
        builder.AddCluster();
        builder.Services.AddSingleton<Cluster.LeaderForwarding>();
        builder.Services.AddHttpClient(Cluster.LeaderForwarding.HttpClientName, client => client.Timeout = TimeSpan.FromSeconds(60))
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler { AllowAutoRedirect = false });
        builder.AddControlPlaneSecurity();
        builder.AddAgentClientCertificates();
        builder.AddRequestLimits();
        builder.AddIngest();
        builder.AddApi();
        builder.AddCarbon();
        builder.AddJobs();
        builder.AddDatasets();
        builder.AddArtifacts();
        builder.AddRegistry();
        builder.AddOutbound();
        builder.AddWebhooks();
        builder.AddPipelines();
        builder.AddDeployments();
        builder.AddMonitoring();
        builder.AddAlerts();
        builder.AddFeed();
        builder.AddDashboard();
        builder.AddLocalAgent(endpoints);
        builder.Services.AddSingleton<InfoMetrics>();
        builder.Services.AddHostedService<StartupBanner>();
        return builder;
    }

    /// <summary>
    /// Where the control plane listens and keeps its data unless configuration says otherwise:
    /// REST, metrics and health on 5080 (HTTP/1.1), agent gRPC on 5081 (h2c), data in ./data.
    /// An https:// URL with <c>Certificate:Path</c> and <c>KeyPath</c> turns TLS on (docs/tls.md).
    /// </summary>
    public static IReadOnlyDictionary<string, string?> Defaults { get; } = new Dictionary<string, string?>
    {
        [$"Kestrel:Endpoints:{KestrelEndpoints.HttpName}:Url"] = "http://localhost:5080",
        [$"Kestrel:Endpoints:{KestrelEndpoints.HttpName}:Protocols"] = "Http1",
        [$"Kestrel:Endpoints:{KestrelEndpoints.GrpcName}:Url"] = "http://localhost:5081",
        [$"Kestrel:Endpoints:{KestrelEndpoints.GrpcName}:Protocols"] = "Http2",
        [$"{StorageOptions.SectionName}:DataDirectory"] = "data",
    };

    public static WebApplication MapControlPlane(this WebApplication app)
    {
        app.UseExceptionHandler();
        app.UseStatusCodePages(InferenceErrors.StatusCodePages());
        app.UseRequestLimits();
        app.UseAuthentication();
        app.UseAuthorization();
        app.UseAntiforgery();
        app.UseDashboardOriginCheck();
        // After authorization: a caller without a key never gets its body read.
        app.UseControlCharacterGuard();
        ForwardToLeaderFilter.BufferRequestBodies(app);

        app.MapHealthChecks("/healthz", new HealthCheckOptions { Predicate = _ => false });
        app.MapHealthChecks("/readyz", new HealthCheckOptions { Predicate = check => check.Tags.Contains("ready"), ResponseWriter = StorageFaults.WriteReadiness });
        app.MapGrpcHealthChecksService();
        app.MapMetrics(registry: app.Services.GetRequiredService<CollectorRegistry>());
        // Created now so that a scrape before the first agent connects already shows the series at
        // zero, and so that unreadable carbon traces stop the start instead of the first request.
        app.Services.GetRequiredService<IngestMetrics>();
        app.Services.GetRequiredService<JobMetrics>();
        app.Services.GetRequiredService<CarbonIntensity>();
        app.Services.GetRequiredService<InfoMetrics>();
        app.MapOpenApi();

        // Agents' streams and calls run as long as the agent is connected: no REST time limit.
        app.MapGrpcService<AgentGrpcService>().DisableRequestTimeout();
        app.MapGrpcService<TelemetryGrpcService>().DisableRequestTimeout();
        app.MapAgentsApi();
        app.MapClusterApi();
        // Resolved once started: its settings are validated at start, with the others, naming the key.
        app.Lifetime.ApplicationStarted.Register(() =>
        {
            var endpoints = app.Services.GetRequiredService<KestrelEndpoints>();
            app.Services.GetRequiredService<ClusterMembership>().Advertise(endpoints.Http, endpoints.Grpc);
        });
        app.MapAccessApi();
        app.MapCarbonApi();
        app.MapCarbonAwareSdkApi();
        app.MapJobs();
        app.MapDatasets();
        app.MapRegistry();
        app.MapWebhooks();
        app.MapPipelinesApi();
        app.MapDeploymentsApi();
        app.MapMonitoringApi();
        app.MapAlertsApi();
        app.MapLocalAgent();
        app.MapGrpcService<EdgeGreen.ControlPlane.Artifacts.ArtifactGrpcService>().DisableRequestTimeout();
        app.MapDashboard();
        return app;
    }

    private static IHostApplicationBuilder AddIngest(this IHostApplicationBuilder builder)
    {
        var ingest = builder.Configuration.GetSection(IngestOptions.SectionName).Get<IngestOptions>() ?? new IngestOptions();
        builder.Services.AddOptions<IngestOptions>().BindConfiguration(IngestOptions.SectionName)
            .Validate(o => o.MaxMessageBytes >= 64 * 1024, "EdgeGreen:Ingest:MaxMessageBytes must be at least 65536.")
            .Validate(o => o.MaxReadingsPerBatch >= 1, "EdgeGreen:Ingest:MaxReadingsPerBatch must be positive.")
            .Validate(o => o.MaxClockSkew >= TimeSpan.Zero, "EdgeGreen:Ingest:MaxClockSkew must not be negative.")
            .Validate(o => o.MaxReadingAge > TimeSpan.Zero, "EdgeGreen:Ingest:MaxReadingAge must be positive.")
            .Validate(o => o.MaxInterval > TimeSpan.Zero, "EdgeGreen:Ingest:MaxInterval must be positive.")
            .Validate(o => o.MaxPowerWatts > 0, "EdgeGreen:Ingest:MaxPowerWatts must be positive.")
            .ValidateOnStart();
        builder.Services.AddGrpc(options =>
        {
            options.MaxReceiveMessageSize = ingest.MaxMessageBytes;
            options.EnableDetailedErrors = false;
            options.Interceptors.Add<StorageFaultInterceptor>();
        });
        builder.Services.AddGrpcHealthChecks().AddCheck<StorageHealthCheck>("storage", tags: ["ready"]);
        builder.Services.AddSingleton<ReadingValidator>();
        builder.Services.AddSingleton<IngestMetrics>();
        return builder;
    }

    private static IHostApplicationBuilder AddApi(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<AgentsOptions>().BindConfiguration(AgentsOptions.SectionName)
            .Validate(o => o.OfflineAfter > TimeSpan.Zero, "EdgeGreen:Agents:OfflineAfter must be positive.")
            .ValidateOnStart();
        builder.Services.AddOptions<EnrollmentOptions>().BindConfiguration(EnrollmentOptions.SectionName)
            .Validate(o => o.TokenLifetime > TimeSpan.Zero, "EdgeGreen:Enrollment:TokenLifetime must be positive.")
            .ValidateOnStart();
        builder.Services.AddSingleton<AgentViews>();
        builder.Services.AddProblemDetails();
        builder.Services.AddExceptionHandler<StorageFaultExceptionHandler>();
        builder.Services.AddExceptionHandler<BadRequestExceptionHandler>();
        builder.Services.Configure<RouteHandlerOptions>(options => options.ThrowOnBadRequest = true);
        builder.Services.AddControlPlaneOpenApi();
        builder.Services.ConfigureHttpJsonOptions(options =>
        {
            options.SerializerOptions.PropertyNamingPolicy = JsonNamingPolicy.CamelCase;
            options.SerializerOptions.Converters.Add(new JsonStringEnumConverter(JsonNamingPolicy.CamelCase));
        });
        return builder;
    }
}
