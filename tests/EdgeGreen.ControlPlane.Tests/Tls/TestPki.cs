using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using EdgeGreen.Shared;

namespace EdgeGreen.ControlPlane.Tests.Tls;

/// <summary>
/// A certificate authority minted for one test, which issues server and client certificates and
/// writes them as the PEM files an operator would deploy (certificate, unencrypted PKCS#8 key).
/// </summary>
internal sealed class TestPki : IDisposable
{
    private readonly string _directory;
    private readonly ECDsa _key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
    private readonly X509Certificate2 _certificate;

    public TestPki(string directory, string name)
    {
        _directory = Directory.CreateDirectory(directory).FullName;
        var request = new CertificateRequest($"CN={name}", _key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(certificateAuthority: true, hasPathLengthConstraint: false, 0, critical: true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, critical: true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, critical: false));
        _certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
        BundlePath = Path.Combine(_directory, $"{name}.crt");
        File.WriteAllText(BundlePath, _certificate.ExportCertificatePem());
    }

    /// <summary>The CA's certificate as a PEM bundle.</summary>
    public string BundlePath { get; }

    /// <summary>A server certificate for <paramref name="dnsNames"/> and 127.0.0.1.</summary>
    public PemPair IssueServer(string name, params string[] dnsNames) =>
        Issue(name, PemCertificates.ServerAuthentication, dnsNames, [IPAddress.Loopback]);

    /// <summary>A client certificate, as an agent would hold for mutual TLS.</summary>
    public PemPair IssueClient(string name) => Issue(name, PemCertificates.ClientAuthentication, [], []);

    public void Dispose()
    {
        _certificate.Dispose();
        _key.Dispose();
    }

    private PemPair Issue(string name, Oid purpose, IEnumerable<string> dnsNames, IEnumerable<IPAddress> addresses)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(certificateAuthority: false, hasPathLengthConstraint: false, 0, critical: true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, critical: true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([purpose], critical: false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(_certificate, includeKeyIdentifier: true, includeIssuerAndSerial: false));
        var names = new SubjectAlternativeNameBuilder();
        foreach (var dnsName in dnsNames)
        {
            names.AddDnsName(dnsName);
        }

        foreach (var address in addresses)
        {
            names.AddIpAddress(address);
        }

        if (dnsNames.Any() || addresses.Any())
        {
            request.CertificateExtensions.Add(names.Build());
        }

        using var certificate = request.Create(_certificate, DateTimeOffset.UtcNow.AddHours(-1), DateTimeOffset.UtcNow.AddDays(7), RandomNumberGenerator.GetBytes(16));
        var pair = new PemPair(Path.Combine(_directory, $"{name}.crt"), Path.Combine(_directory, $"{name}.key"));
        File.WriteAllText(pair.CertificatePath, certificate.ExportCertificatePem());
        File.WriteAllText(pair.KeyPath, key.ExportPkcs8PrivateKeyPem());
        return pair;
    }
}

internal sealed record PemPair(string CertificatePath, string KeyPath);
