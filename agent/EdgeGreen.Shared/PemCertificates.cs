using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace EdgeGreen.Shared;

/// <summary>
/// The PEM files that TLS between agents and the control plane is configured with, and the one
/// chain check both sides make: a certificate is trusted when it chains to a CA of a given bundle
/// (custom root trust: the operating system's store plays no part) for a given purpose.
/// </summary>
public static class PemCertificates
{
    /// <summary>The extended key usage of a TLS server certificate.</summary>
    public static readonly Oid ServerAuthentication = new("1.3.6.1.5.5.7.3.1");

    /// <summary>The extended key usage of a TLS client certificate.</summary>
    public static readonly Oid ClientAuthentication = new("1.3.6.1.5.5.7.3.2");

    /// <summary>Every certificate in a PEM file.</summary>
    /// <exception cref="InvalidDataException">The file holds no PEM certificate.</exception>
    public static X509Certificate2Collection ReadBundle(string path)
    {
        var bundle = new X509Certificate2Collection();
        bundle.ImportFromPem(File.ReadAllText(path));
        return bundle.Count > 0 ? bundle : throw new InvalidDataException($"{path} holds no PEM certificate.");
    }

    /// <summary>Why <paramref name="path"/> is no usable CA bundle; null when it is one.</summary>
    public static string? BundleProblem(string? path)
    {
        if (string.IsNullOrWhiteSpace(path))
        {
            return "is not set.";
        }

        try
        {
            foreach (var certificate in ReadBundle(path))
            {
                certificate.Dispose();
            }

            return null;
        }
        catch (Exception ex) when (IsUnreadable(ex))
        {
            return ex.Message;
        }
    }

    /// <summary>A certificate with its private key, from a PEM certificate file and a PEM key file.</summary>
    /// <returns>The certificate, or the setting (<paramref name="certificateKey"/> or <paramref name="privateKeyKey"/>) whose file is wrong and why.</returns>
    public static (X509Certificate2? Certificate, string? FailedKey, string? Failure) ReadWithKey(
        string certificatePath, string certificateKey, string privateKeyPath, string privateKeyKey)
    {
        string certificatePem;
        try
        {
            certificatePem = File.ReadAllText(certificatePath);
            using var alone = X509Certificate2.CreateFromPem(certificatePem);
        }
        catch (Exception ex) when (IsUnreadable(ex))
        {
            return (null, certificateKey, ex.Message);
        }

        try
        {
            return (X509Certificate2.CreateFromPem(certificatePem, File.ReadAllText(privateKeyPath)), null, null);
        }
        catch (Exception ex) when (IsUnreadable(ex))
        {
            return (null, privateKeyKey, $"holds no unencrypted private key of the certificate ({ex.Message})");
        }
    }

    /// <summary>Whether <paramref name="exception"/> says that a file is missing, unreadable or not the PEM expected.</summary>
    public static bool IsUnreadable(Exception exception) =>
        exception is IOException or UnauthorizedAccessException or CryptographicException or ArgumentException or InvalidDataException;

    /// <summary>
    /// Whether <paramref name="certificate"/> chains to a CA in <paramref name="bundle"/> and may be
    /// used for <paramref name="purpose"/>. Intermediates come from the bundle or from what the peer
    /// sent (<paramref name="presented"/>); revocation is not checked (the bundle is the authority,
    /// and an offline fleet has no CRL distribution point to ask).
    /// </summary>
    public static bool ChainsTo(X509Certificate2 certificate, X509Chain? presented, X509Certificate2Collection bundle, Oid purpose)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(bundle);
        chain.ChainPolicy.ExtraStore.AddRange(bundle);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.ApplicationPolicy.Add(purpose);
        if (presented is not null)
        {
            foreach (var element in presented.ChainElements)
            {
                chain.ChainPolicy.ExtraStore.Add(element.Certificate);
            }
        }

        return chain.Build(certificate);
    }
}
