using EdgeGreen.Shared;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.Extensions.Options;

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
        builder.AddSecretsAtRest();
        builder.Services.AddSingleton<EnrollmentTokens>();
        builder.Services.AddSingleton<ApiKeys>();
        builder.Services.AddSingleton<AdminKeyBootstrapper>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<AdminKeyBootstrapper>());
        return builder;
    }

    /// <summary>
    /// ASP.NET Core Data Protection with its key ring in <c>EdgeGreen:Security:KeyDirectory</c>
    /// (0700, keys 0600), under one application name so that replicas sharing the directory read
    /// each other's secrets whatever their content root.
    /// </summary>
    private static void AddSecretsAtRest(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<SecurityOptions>().BindConfiguration(SecurityOptions.SectionName)
            .Validate(o => o.KeyDirectory is null || o.KeyDirectory.Trim().Length > 0, "EdgeGreen:Security:KeyDirectory must name a directory when it is set.")
            .ValidateOnStart();
        builder.Services.AddDataProtection().SetApplicationName("EdgeGreen");
        builder.Services.AddOptions<KeyManagementOptions>().Configure<IOptions<SecurityOptions>, IOptions<StorageOptions>, ILoggerFactory>((keys, security, storage, loggers) =>
            keys.XmlRepository = new PrivateKeyRepository(PrivateDirectory.Create(security.Value.KeyDirectoryOrDefault(storage.Value)), loggers));
    }
}
