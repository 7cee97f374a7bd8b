using System.Runtime.CompilerServices;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Options;

namespace EdgeGreen.Agent.Serving;

/// <summary>
/// The stand-alone agent's Open Inference Protocol over gRPC (<see cref="GrpcInferenceService"/>),
/// on <see cref="AgentOptions.GrpcUrl"/> in cleartext HTTP/2. Off unless configured: it brings
/// Kestrel into the agent's process, which the HTTP endpoint (HttpListener) avoids for memory, so
/// an agent that does not serve gRPC never loads it. The server has no configuration of its own
/// (no appsettings, no environment) and logs through the agent's loggers.
/// </summary>
public sealed partial class InferenceGrpcEndpoint(
    IOptions<AgentOptions> options,
    ServedModels models,
    ILoggerFactory loggers,
    ILogger<InferenceGrpcEndpoint> logger) : IHostedService, IAsyncDisposable
{
    private WebApplication? _server;

    /// <summary>The address it listens on once started (port 0 resolved), or null when it is off.</summary>
    public Uri? Address { get; private set; }

    /// <summary>Binds before the host reports started, so a port in use fails the start with its reason.</summary>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (options.Value.GrpcUrl is not { } url)
        {
            return;
        }

        _server = Build(url);
        await _server.StartAsync(cancellationToken);
        Address = new Uri(Bound(_server));
        LogListening(Address);
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_server is not null)
        {
            await _server.StopAsync(cancellationToken);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }

    /// <summary>Kept out of <see cref="StartAsync"/> so that Kestrel's assemblies load only when gRPC is on.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private WebApplication Build(string url)
    {
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.WebHost.UseKestrelCore().ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.ConfigureEndpointDefaults(listen => listen.Protocols = HttpProtocols.Http2);
        });
        builder.WebHost.UseUrls(url.Replace("://+:", "://*:", StringComparison.Ordinal));
        builder.Services.AddSingleton(loggers);
        builder.Services.AddSingleton(models);
        builder.Services.AddRoutingCore();
        builder.Services.AddGrpc().AddServiceOptions<GrpcInferenceService>(grpc => grpc.MaxReceiveMessageSize = OpenInferenceProtocol.MaxBodyBytes);
        var server = builder.Build();
        server.UseRouting();
        server.MapGrpcService<GrpcInferenceService>();
        return server;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static string Bound(WebApplication server) => server.Urls.First();

    [LoggerMessage(Level = LogLevel.Information, Message = "Serving the Open Inference Protocol over gRPC on {Address}")]
    private partial void LogListening(Uri address);
}
