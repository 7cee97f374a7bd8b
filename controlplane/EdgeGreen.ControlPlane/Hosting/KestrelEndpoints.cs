using System.Net;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Server.Kestrel;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace EdgeGreen.ControlPlane.Hosting;

/// <summary>
/// The Kestrel endpoints named <c>Http</c> (REST, metrics, health) and <c>Grpc</c> (agents: h2c,
/// or TLS with Kestrel's own <c>Certificate</c> settings), captured from configuration so that
/// their bound addresses are known after start, port 0 included. The local agent dials whatever
/// <c>Grpc</c> is, trusting the certificate it serves.
/// </summary>
public sealed class KestrelEndpoints
{
    public const string HttpName = "Http";
    public const string GrpcName = "Grpc";

    private EndpointConfiguration? _http;
    private EndpointConfiguration? _grpc;

    /// <summary>Binds Kestrel to <c>Kestrel:Endpoints</c> and keeps the two endpoints' settings.</summary>
    /// <param name="kestrel">The server's options.</param>
    /// <param name="configuration">The configuration holding the <c>Kestrel</c> section.</param>
    /// <param name="configureGrpc">Further settings of the <c>Grpc</c> endpoint, called once Kestrel has loaded its certificate.</param>
    public void Capture(KestrelServerOptions kestrel, IConfiguration configuration, Action<EndpointConfiguration> configureGrpc) =>
        kestrel.Configure(configuration.GetSection("Kestrel"), reloadOnChange: false)
            .Endpoint(HttpName, endpoint => _http = endpoint)
            .Endpoint(GrpcName, endpoint =>
            {
                // h2c and TLS alike: gRPC runs on HTTP/2 only.
                if (!endpoint.ListenOptions.Protocols.HasFlag(HttpProtocols.Http2))
                {
                    throw new InvalidOperationException($"Kestrel:Endpoints:{GrpcName}:Protocols must include Http2: agents speak gRPC, which runs on HTTP/2.");
                }

                _grpc = endpoint;
                configureGrpc(endpoint);
            });

    public Uri Http => ToUri(_http, HttpName);

    public Uri Grpc => ToUri(_grpc, GrpcName);

    /// <summary>The certificate the <c>Grpc</c> endpoint serves when it is TLS with one certificate; null for h2c.</summary>
    public X509Certificate2? GrpcCertificate => _grpc is { IsHttps: true } grpc ? grpc.HttpsOptions.ServerCertificate : null;

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
