using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;

namespace EdgeGreen.ControlPlane.Security;

/// <summary>
/// Authenticates <c>Authorization: Bearer &lt;secret&gt;</c> by looking up the secret's hash;
/// subclasses say where the hash is kept and which claims it grants.
/// </summary>
public abstract class BearerAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options,
    ILoggerFactory logger,
    UrlEncoder encoder) : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        if (Secrets.FromBearer(Request.Headers.Authorization) is not { } secret)
        {
            return AuthenticateResult.NoResult();
        }

        var claims = await FindClaimsAsync(Secrets.Hash(secret), Context.RequestAborted);
        return claims is null
            ? AuthenticateResult.Fail("The bearer secret is not known.")
            : AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(new ClaimsIdentity(claims, Scheme.Name)), Scheme.Name));
    }

    protected abstract Task<IReadOnlyList<Claim>?> FindClaimsAsync(string secretHash, CancellationToken cancellationToken);
}

/// <summary>REST callers: an API key with a role.</summary>
public sealed class ApiKeyAuthenticationHandler(
    IAccessStore access,
    IOptionsMonitor<AuthenticationSchemeOptions> options,
    ILoggerFactory logger,
    UrlEncoder encoder) : BearerAuthenticationHandler(options, logger, encoder)
{
    public const string SchemeName = "ApiKey";

    protected override async Task<IReadOnlyList<Claim>?> FindClaimsAsync(string secretHash, CancellationToken cancellationToken) =>
        await access.FindApiKeyAsync(secretHash, cancellationToken) is { } key
            ? [new Claim(ClaimTypes.NameIdentifier, key.Id), new Claim(ClaimTypes.Name, key.Name), new Claim(ClaimTypes.Role, key.Role.ToString())]
            : null;
}

/// <summary>Agents on gRPC: the credential minted at enrollment; the agent id comes from it alone.</summary>
public sealed class AgentCredentialAuthenticationHandler(
    IAgentStore agents,
    IOptionsMonitor<AuthenticationSchemeOptions> options,
    ILoggerFactory logger,
    UrlEncoder encoder) : BearerAuthenticationHandler(options, logger, encoder)
{
    public const string SchemeName = "AgentCredential";

    protected override async Task<IReadOnlyList<Claim>?> FindClaimsAsync(string secretHash, CancellationToken cancellationToken) =>
        await agents.FindByCredentialHashAsync(secretHash, cancellationToken) is { } agent
            ? [new Claim(ClaimTypes.NameIdentifier, agent.Id), new Claim(ClaimTypes.Name, agent.Name)]
            : null;
}
