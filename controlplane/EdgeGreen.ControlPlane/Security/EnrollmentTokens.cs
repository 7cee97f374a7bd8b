using Microsoft.Extensions.Options;

namespace EdgeGreen.ControlPlane.Security;

public sealed class EnrollmentOptions
{
    public const string SectionName = "EdgeGreen:Enrollment";

    /// <summary>How long a minted enrollment token stays valid.</summary>
    public TimeSpan TokenLifetime { get; set; } = TimeSpan.FromHours(1);
}

/// <summary>Mints one-time enrollment tokens; the plain token is returned once and only its hash is kept.</summary>
public sealed class EnrollmentTokens(IAccessStore access, IOptions<EnrollmentOptions> options, TimeProvider timeProvider)
{
    public async Task<(string Token, DateTimeOffset ExpiresAt)> MintAsync(CancellationToken cancellationToken)
    {
        var token = Secrets.New(Secrets.EnrollmentTokenPrefix);
        var now = timeProvider.GetUtcNow();
        var expiresAt = now + options.Value.TokenLifetime;
        await access.AddEnrollmentTokenAsync(new EnrollmentTokenRecord(Secrets.Hash(token), now, expiresAt), cancellationToken);
        return (token, expiresAt);
    }
}
