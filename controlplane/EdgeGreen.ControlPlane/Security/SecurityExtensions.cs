using Microsoft.AspNetCore.Authentication;

namespace EdgeGreen.ControlPlane.Security;

public static class SecurityExtensions
{
    public static IHostApplicationBuilder AddControlPlaneSecurity(this IHostApplicationBuilder builder)
    {
        // No default scheme: each policy names its own, so agent credentials are never tried as
        // API keys (and the reverse).
        builder.Services.AddAuthentication()
            .AddScheme<AuthenticationSchemeOptions, ApiKeyAuthenticationHandler>(ApiKeyAuthenticationHandler.SchemeName, null)
            .AddScheme<AuthenticationSchemeOptions, AgentCredentialAuthenticationHandler>(AgentCredentialAuthenticationHandler.SchemeName, null);
        builder.Services.AddAuthorizationBuilder()
            .AddPolicy(Policies.Viewer, p => p.AddAuthenticationSchemes(ApiKeyAuthenticationHandler.SchemeName)
                .RequireRole(nameof(ApiKeyRole.Viewer), nameof(ApiKeyRole.Operator), nameof(ApiKeyRole.Admin)))
            .AddPolicy(Policies.Operator, p => p.AddAuthenticationSchemes(ApiKeyAuthenticationHandler.SchemeName)
                .RequireRole(nameof(ApiKeyRole.Operator), nameof(ApiKeyRole.Admin)))
            .AddPolicy(Policies.Admin, p => p.AddAuthenticationSchemes(ApiKeyAuthenticationHandler.SchemeName)
                .RequireRole(nameof(ApiKeyRole.Admin)))
            .AddPolicy(Policies.Agent, p => p.AddAuthenticationSchemes(AgentCredentialAuthenticationHandler.SchemeName)
                .RequireAuthenticatedUser());
        builder.Services.AddSingleton<EnrollmentTokens>();
        builder.Services.AddSingleton<ApiKeys>();
        builder.Services.AddSingleton<AdminKeyBootstrapper>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<AdminKeyBootstrapper>());
        return builder;
    }
}
