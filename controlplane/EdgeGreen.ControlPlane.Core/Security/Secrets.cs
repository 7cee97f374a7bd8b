using System.Security.Cryptography;
using System.Text;

namespace EdgeGreen.ControlPlane.Core.Security;

/// <summary>
/// Secrets are 256 random bits with a readable prefix (<c>egk_</c> API key, <c>egc_</c> agent
/// credential, <c>egt_</c> enrollment token). Only their SHA-256 is stored: with that much entropy
/// a slow password hash adds nothing, and lookups stay a single indexed read.
/// </summary>
public static class Secrets
{
    public const string ApiKeyPrefix = "egk_";
    public const string AgentCredentialPrefix = "egc_";
    public const string EnrollmentTokenPrefix = "egt_";

    public static string New(string prefix) => prefix + Base64Url(RandomNumberGenerator.GetBytes(32));

    public static string Hash(string secret) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(secret)));

    /// <summary>A short random id (hex), safe in URLs and collection names.</summary>
    public static string NewId() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(12));

    /// <summary>The secret of an <c>Authorization: Bearer …</c> header, or null.</summary>
    public static string? FromBearer(string? authorization)
    {
        const string scheme = "Bearer ";
        return authorization is not null && authorization.StartsWith(scheme, StringComparison.OrdinalIgnoreCase) && authorization.Length > scheme.Length
            ? authorization[scheme.Length..].Trim()
            : null;
    }

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
