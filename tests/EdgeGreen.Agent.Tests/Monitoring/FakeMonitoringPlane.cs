using System.Collections.Concurrent;
using EdgeGreen.Contracts.V1;
using Grpc.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;

namespace EdgeGreen.Agent.Tests.Monitoring;

/// <summary>
/// The control plane's <c>MonitoringService</c> as a real gRPC server on a free loopback port (h2c):
/// it records each call and its credential, and answers as <see cref="Answer"/> says.
/// </summary>
internal sealed class FakeMonitoringPlane : IAsyncDisposable
{
    private readonly WebApplication _server;

    private FakeMonitoringPlane(WebApplication server) => _server = server;

    public Uri Address { get; private set; } = null!;

    /// <summary>Each call's request and its authorization header, in order.</summary>
    public ConcurrentQueue<(ReportInferenceRequest Request, string? Authorization, int Bytes)> Calls { get; } = new();

    /// <summary>The status a call fails with; null takes it.</summary>
    public Func<ReportInferenceRequest, Status?> Answer { get; set; } = _ => null;

    /// <summary>Summaries (by id) the control plane refuses in its answer, as it refuses one for a deployment the agent is not a target of.</summary>
    public Func<InferenceSummary, string?> Refuse { get; set; } = _ => null;

    public static async Task<FakeMonitoringPlane> StartAsync()
    {
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.WebHost.UseKestrelCore().ConfigureKestrel(k => k.ConfigureEndpointDefaults(l => l.Protocols = HttpProtocols.Http2));
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Services.AddRoutingCore();
        builder.Services.AddGrpc();
        var holder = new Holder();
        builder.Services.AddSingleton(holder);
        var server = builder.Build();
        server.UseRouting();
        server.MapGrpcService<Service>();
        var plane = new FakeMonitoringPlane(server);
        holder.Plane = plane;
        await server.StartAsync();
        plane.Address = new Uri(server.Urls.First());
        return plane;
    }

    public async ValueTask DisposeAsync()
    {
        await _server.StopAsync();
        await _server.DisposeAsync();
    }

    private sealed class Holder
    {
        public FakeMonitoringPlane Plane { get; set; } = null!;
    }

    private sealed class Service(Holder holder) : MonitoringService.MonitoringServiceBase
    {
        public override Task<ReportInferenceResponse> ReportInference(ReportInferenceRequest request, ServerCallContext context)
        {
            var plane = holder.Plane;
            plane.Calls.Enqueue((request, context.RequestHeaders.GetValue("authorization"), request.CalculateSize()));
            if (plane.Answer(request) is { } status)
            {
                throw new RpcException(status);
            }

            var refused = request.Summaries.Select(s => (s.Id, Why: plane.Refuse(s))).Where(r => r.Why is not null).ToList();
            return Task.FromResult(new ReportInferenceResponse
            {
                Accepted = (uint)(request.Summaries.Count - refused.Count), Rejected = (uint)refused.Count,
                FirstRejection = refused.Select(r => $"Summary '{r.Id}': {r.Why}").FirstOrDefault() ?? "",
            });
        }
    }
}
