using EdgeGreen.ControlPlane.Hosting;
using EdgeGreen.ControlPlane.LocalAgent;
using EdgeGreen.Shared;
using Microsoft.AspNetCore.Server.Kestrel;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.Options;

namespace EdgeGreen.ControlPlane.Security;

/// <summary>Whether agents must show a client certificate on the TLS <c>Grpc</c> endpoint.</summary>
public enum AgentClientCertificateMode
{
    /// <summary>None asked for: the bearer credential alone admits an agent.</summary>
    None,

    /// <summary>Asked for, not required; one that is shown must chain to ClientCaPath.</summary>
    Allow,

    /// <summary>Required: a connection without a certificate that chains to ClientCaPath is refused in the handshake.</summary>
    Require,
}

/// <summary>Mutual TLS for agents, bound from <c>EdgeGreen:Agents</c>.</summary>
public sealed class AgentClientCertificateOptions
{
    public const string SectionName = "EdgeGreen:Agents";

    public AgentClientCertificateMode ClientCertificate { get; set; } = AgentClientCertificateMode.None;

    /// <summary>PEM file of the CA certificate(s) that sign agents' client certificates; the operating system's store plays no part.</summary>
    public string? ClientCaPath { get; set; }
}

/// <summary>
/// Applies <see cref="AgentClientCertificateOptions"/> to the TLS settings that Kestrel loaded for
/// the <c>Grpc</c> endpoint from <c>Kestrel:Endpoints:Grpc</c>. A certificate admits a connection;
/// the agent's bearer credential still says which agent it is.
/// </summary>
public static partial class AgentClientCertificates
{
    public static IHostApplicationBuilder AddAgentClientCertificates(this IHostApplicationBuilder builder)
    {
        const string Mode = $"{AgentClientCertificateOptions.SectionName}:{nameof(AgentClientCertificateOptions.ClientCertificate)}";
        const string CaPath = $"{AgentClientCertificateOptions.SectionName}:{nameof(AgentClientCertificateOptions.ClientCaPath)}";
        var configuration = builder.Configuration;
        var grpcUrl = configuration[$"Kestrel:Endpoints:{KestrelEndpoints.GrpcName}:Url"] ?? "";
        var localAgent = configuration.GetSection(LocalAgentExtensions.SectionName);
        builder.Services.AddOptions<AgentClientCertificateOptions>().BindConfiguration(AgentClientCertificateOptions.SectionName)
            .Validate(o => o.ClientCertificate == AgentClientCertificateMode.None || grpcUrl.StartsWith("https://", StringComparison.OrdinalIgnoreCase),
                $"{Mode} needs TLS on the agents' endpoint: set Kestrel:Endpoints:{KestrelEndpoints.GrpcName}:Url to https://… with a certificate (docs/tls.md).")
            .Validate(o => o.ClientCertificate == AgentClientCertificateMode.None || PemCertificates.BundleProblem(o.ClientCaPath) is null,
                $"{CaPath} must be a readable PEM file of the CA certificates that sign agents' client certificates when {Mode} is Allow or Require.")
            .Validate(o => o.ClientCertificate != AgentClientCertificateMode.Require || !localAgent.GetValue("Enabled", defaultValue: true)
                    || localAgent["Tls:ClientCertificatePath"] is not null,
                $"{LocalAgentExtensions.SectionName}:Tls:ClientCertificatePath and ClientKeyPath must name a client certificate for the local agent when {Mode} is Require " +
                $"(or set {LocalAgentExtensions.SectionName}:Enabled=false).")
            .ValidateOnStart();
        return builder;
    }

    /// <summary>Asks for or requires agents' client certificates on the <c>Grpc</c> endpoint, when it is TLS.</summary>
    public static void Apply(EndpointConfiguration grpc, IServiceProvider services)
    {
        var options = services.GetRequiredService<IOptions<AgentClientCertificateOptions>>().Value;
        if (!grpc.IsHttps || options.ClientCertificate == AgentClientCertificateMode.None)
        {
            return;
        }

        var bundle = PemCertificates.ReadBundle(options.ClientCaPath!);
        var logger = services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(AgentClientCertificates));
        grpc.HttpsOptions.ClientCertificateMode = options.ClientCertificate == AgentClientCertificateMode.Require
            ? ClientCertificateMode.RequireCertificate
            : ClientCertificateMode.AllowCertificate;
        grpc.HttpsOptions.ClientCertificateValidation = (certificate, chain, _) =>
        {
            var trusted = PemCertificates.ChainsTo(certificate, chain, bundle, PemCertificates.ClientAuthentication);
            if (!trusted)
            {
                LogRefused(logger, certificate.Subject, certificate.Issuer);
            }

            return trusted;
        };
    }

    [LoggerMessage(Level = LogLevel.Warning,
        Message = "Refused an agent's client certificate (subject {Subject}, issuer {Issuer}): it does not chain to a CA of EdgeGreen:Agents:ClientCaPath for client authentication")]
    private static partial void LogRefused(ILogger logger, string subject, string issuer);
}
