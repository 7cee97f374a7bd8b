using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using EdgeGreen.Shared;
using Microsoft.Extensions.Options;

namespace EdgeGreen.Agent.Uplink;

/// <summary>
/// The agent's side of TLS to the control plane (settings <c>&lt;section&gt;:Tls</c>): which server
/// certificates it trusts and which client certificate it presents, and the refusal to send the
/// credential in clear to another machine. Its files are read at the first connection; the
/// options validator has read them at start already, so a bad path never gets this far.
/// </summary>
public sealed partial class ControlPlaneTls : IDisposable
{
    private readonly string _sectionPath;
    private readonly ControlPlaneTlsOptions _options;
    private readonly LogThrottle _throttle;
    private readonly ILogger<ControlPlaneTls> _logger;
    private readonly Lazy<X509Certificate2Collection?> _caBundle;
    private readonly Lazy<X509Certificate2?> _clientCertificate;

    public ControlPlaneTls(string sectionPath, IOptions<AgentOptions> options, LogThrottle throttle, ILogger<ControlPlaneTls> logger)
    {
        _throttle = throttle;
        _sectionPath = sectionPath;
        _options = options.Value.Tls;
        _logger = logger;
        _caBundle = new(() => _options.CaBundlePath is { } path ? PemCertificates.ReadBundle(path) : null);
        _clientCertificate = new(ReadClientCertificate);
    }

    /// <summary>Whether a control plane at <paramref name="url"/> would get the credential in clear over the network.</summary>
    public static bool IsPlaintextToRemote(Uri url) => url.Scheme == Uri.UriSchemeHttp && !url.IsLoopback;

    /// <summary>
    /// Sets up <paramref name="handler"/> for <paramref name="target"/>: TLS for <c>https://</c>; for
    /// plain <c>http://</c> to another machine, a refusal unless <c>Tls:AllowPlaintext</c> is set.
    /// </summary>
    /// <param name="handler">The handler of the agent's one channel.</param>
    /// <param name="target">The control plane's address.</param>
    /// <param name="knownServerCertificate">
    /// The certificate the control plane serves, where the host knows it because it serves it itself
    /// (the local agent): trusted as is, whatever its name or issuer.
    /// </param>
    public void Configure(SocketsHttpHandler handler, Uri target, X509Certificate2? knownServerCertificate)
    {
        if (target.Scheme == Uri.UriSchemeHttps)
        {
            handler.SslOptions = new SslClientAuthenticationOptions
            {
                RemoteCertificateValidationCallback = (_, certificate, chain, errors) => IsTrusted(target, certificate, chain, errors, knownServerCertificate),
                ClientCertificateContext = _clientCertificate.Value is { } client ? SslStreamCertificateContext.Create(client, null, offline: true) : null,
            };
            return;
        }

        if (IsPlaintextToRemote(target))
        {
            if (!_options.AllowPlaintext)
            {
                throw new InvalidOperationException(
                    $"{_sectionPath}:ControlPlaneUrl {target} is plain http to another machine: the agent credential would cross the network in clear. " +
                    $"Use https:// (docs/tls.md) or set {_sectionPath}:Tls:AllowPlaintext=true.");
            }

            LogPlaintext(target);
        }
    }

    public void Dispose()
    {
        if (_clientCertificate.IsValueCreated)
        {
            _clientCertificate.Value?.Dispose();
        }
    }

    private bool IsTrusted(Uri target, X509Certificate? presented, X509Chain? chain, SslPolicyErrors errors, X509Certificate2? known)
    {
        if (presented is X509Certificate2 certificate)
        {
            if (known is not null && certificate.RawDataMemory.Span.SequenceEqual(known.RawDataMemory.Span))
            {
                return true;
            }

            var bundle = _caBundle.Value;
            if (errors == SslPolicyErrors.None && (bundle is null || _options.AlsoTrustSystemStore))
            {
                return true;
            }

            // The name is checked whoever the issuer is; only the chain is judged against the bundle.
            if (bundle is not null && (errors & ~SslPolicyErrors.RemoteCertificateChainErrors) == SslPolicyErrors.None
                && PemCertificates.ChainsTo(certificate, chain, bundle, PemCertificates.ServerAuthentication))
            {
                return true;
            }
        }

        // Every reconnection meets the same certificate: one line a minute says so.
        if (_throttle.ShouldLog($"untrusted:{target}", out var suppressed))
        {
            LogUntrusted(target, errors, presented?.Subject, presented?.Issuer, _options.CaBundlePath is null
                ? $"set {_sectionPath}:Tls:CaBundlePath to the PEM bundle of the CA that signed it"
                : $"it does not chain to a CA in {_sectionPath}:Tls:CaBundlePath ({_options.CaBundlePath}) or does not name {target.Host}", suppressed);
        }

        return false;
    }

    private X509Certificate2? ReadClientCertificate()
    {
        if (_options.ClientCertificatePath is not { } certificatePath || _options.ClientKeyPath is not { } keyPath)
        {
            return null;
        }

        var (certificate, failedKey, failure) = PemCertificates.ReadWithKey(certificatePath, "Tls:ClientCertificatePath", keyPath, "Tls:ClientKeyPath");
        return certificate ?? throw new InvalidOperationException($"{_sectionPath}:{failedKey} {failure}");
    }

    // An error, not a warning: the agent can do nothing until an operator trusts the right CA (or
    // finds out who answers in the control plane's place).
    [LoggerMessage(Level = LogLevel.Error, Message = "The control plane at {Target} presented a certificate this agent does not trust ({Errors}; subject {Subject}, issuer {Issuer}): {Remedy} ({Suppressed} more refusals since the last such line)")]
    private partial void LogUntrusted(Uri target, SslPolicyErrors errors, string? subject, string? issuer, string remedy, long suppressed);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Sending the agent credential in clear to {Target}, as Tls:AllowPlaintext allows; anyone on the path can read and reuse it")]
    private partial void LogPlaintext(Uri target);
}
