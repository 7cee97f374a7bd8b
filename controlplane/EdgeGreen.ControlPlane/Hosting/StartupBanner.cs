using EdgeGreen.ControlPlane.Security;

namespace EdgeGreen.ControlPlane.Hosting;

/// <summary>Once the server listens, prints where everything is, so a first run needs no docs.</summary>
public sealed class StartupBanner(
    IHostApplicationLifetime lifetime,
    KestrelEndpoints endpoints,
    AdminKeyBootstrapper adminKey,
    Feed.TelemetryFeed feed,
    IConfiguration configuration) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        lifetime.ApplicationStarted.Register(() =>
        {
            var http = endpoints.Http.ToString().TrimEnd('/');
            var localAgent = configuration.GetValue($"{LocalAgent.LocalAgentExtensions.SectionName}:Enabled", defaultValue: true)
                ? $"on (its serve jobs answer the Open Inference Protocol at {http}/v2)"
                : "off";
            Console.WriteLine($"""
                EdgeGreen control plane is running.
                  Dashboard     {http}/   (sign in with an API key)
                  REST API      {http}/api/v1   (Authorization: Bearer <API key>)
                  OpenAPI       {http}/openapi/v1.json
                  Metrics       {http}/metrics
                  Health        {http}/healthz, {http}/readyz
                  Agent gRPC    {endpoints.Grpc}
                  MQTT feed     {feed.Address ?? "off"}
                  Local agent   {localAgent}
                  Admin key     {adminKey.KeyPath}
                """);
        });
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
