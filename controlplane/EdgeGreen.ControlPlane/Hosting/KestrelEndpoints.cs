using System.Net;
using Microsoft.AspNetCore.Server.Kestrel;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace EdgeGreen.ControlPlane.Hosting;

/// <summary>
/// The Kestrel endpoints named <c>Http</c> (REST, metrics, health) and <c>Grpc</c> (agents, h2c),
/// captured from configuration so that their bound addresses are known after start, port 0
/// included. The local agent dials whatever <c>Grpc</c> is.
/// </summary>
public sealed class KestrelEndpoints
{
    public const string HttpName = "Http";
    public const string GrpcName = "Grpc";

    private EndpointConfiguration? _http;
    private EndpointConfiguration? _grpc;

    public void Capture(KestrelServerOptions kestrel, IConfiguration configuration) =>
        kestrel.Configure(configuration.GetSection("Kestrel"), reloadOnChange: false)
            .Endpoint(HttpName, endpoint => _http = endpoint)
            .Endpoint(GrpcName, endpoint => _grpc = endpoint);

    public Uri Http => ToUri(_http, HttpName);

    public Uri Grpc => ToUri(_grpc, GrpcName);

    private static Uri ToUri(EndpointConfiguration? configured, string name)
    {
        // Kestrel writes the bound port back into the listen options, so port 0 resolves after start.
        if (configured?.ListenOptions.IPEndPoint is not { } endpoint)
        {
            throw new InvalidOperationException($"Kestrel:Endpoints:{name}:Url is not configured as an IP endpoint; EdgeGreen needs it.");
        }

        // A wildcard binding is reached over loopback from this machine.
        var address = endpoint.Address.Equals(IPAddress.Any) ? IPAddress.Loopback
            : endpoint.Address.Equals(IPAddress.IPv6Any) ? IPAddress.IPv6Loopback
            : endpoint.Address;
        var scheme = configured.IsHttps ? Uri.UriSchemeHttps : Uri.UriSchemeHttp;
        return new UriBuilder(scheme, address.ToString(), endpoint.Port).Uri;
    }
}
