using System.Net;

namespace EdgeGreen.ControlPlane.Feed;

public static class FeedExtensions
{
    /// <summary>The MQTT telemetry feed (<c>EdgeGreen:Feed</c>): an embedded broker by default.</summary>
    public static IHostApplicationBuilder AddFeed(this IHostApplicationBuilder builder)
    {
        const string Section = FeedOptions.SectionName;
        builder.Services.AddOptions<FeedOptions>().BindConfiguration(Section)
            .Validate(o => Enum.IsDefined(o.Broker), $"{Section}:Broker must be Embedded, External or Off.")
            .Validate(o => o.Broker != FeedBroker.Embedded || IPAddress.TryParse(o.BindAddress, out _), $"{Section}:BindAddress must be an IP address (127.0.0.1 by default).")
            .Validate(o => o.Broker != FeedBroker.Embedded || o.Port is >= 1 and <= 65535, $"{Section}:Port must be between 1 and 65535.")
            .Validate(o => o.Broker != FeedBroker.External || (Uri.TryCreate(o.Url, UriKind.Absolute, out var url) && url.Scheme is "mqtt" or "mqtts" or "ws" or "wss"),
                $"{Section}:Url must name the external broker, e.g. mqtt://127.0.0.1:1883 (schemes mqtt, mqtts, ws, wss).")
            .Validate(o => FeedTopics.IsValidPrefix(o.TopicPrefix), $"{Section}:TopicPrefix must be topic levels without wildcards, e.g. edgegreen/v1.")
            .Validate(o => o.QueueCapacity is >= 1 and <= 10_000_000, $"{Section}:QueueCapacity must be between 1 and 10000000.")
            .Validate(o => o.MaxPacketSizeBytes is >= 1_024 and <= 268_435_455, $"{Section}:MaxPacketSizeBytes must be between 1024 and 268435455.")
            .Validate(o => o.MaxConnections is >= 1 and <= 1_000_000, $"{Section}:MaxConnections must be between 1 and 1000000.")
            .Validate(o => o.MaxRetainedMessages is >= 1 and <= 10_000_000, $"{Section}:MaxRetainedMessages must be between 1 and 10000000.")
            .Validate(o => o.MaxRetainedPayloadBytes is >= 16 and <= 268_435_455, $"{Section}:MaxRetainedPayloadBytes must be between 16 and 268435455.")
            .Validate(o => o.IntensityInterval >= TimeSpan.FromSeconds(1), $"{Section}:IntensityInterval must be at least 00:00:01.")
            .Validate(o => o.AgentInterval >= TimeSpan.FromMilliseconds(100), $"{Section}:AgentInterval must be at least 00:00:00.100.")
            .ValidateOnStart();
        builder.Services.AddSingleton<FeedMetrics>();
        builder.Services.AddSingleton<TelemetryFeed>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<TelemetryFeed>());
        builder.Services.AddSingleton<IJobLifecycleHandler, JobFeed>();
        builder.Services.AddSingleton<Core.Deployments.IDeploymentEventSink, DeploymentFeed>();
        builder.Services.AddSingleton<Core.Alerts.IAlertFeed, AlertFeed>();
        builder.Services.AddHostedService<IntensityFeed>();
        builder.Services.AddHostedService<AgentStatusFeed>();
        return builder;
    }
}
