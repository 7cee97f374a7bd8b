using System.Security.Claims;
using EdgeGreen.ControlPlane.Dashboard.Components;
using EdgeGreen.ControlPlane.Security;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;
using Radzen;

namespace EdgeGreen.ControlPlane.Dashboard;

/// <summary>
/// The web dashboard at <c>/</c> on the REST port: Blazor with interactive server rendering
/// (prerendered, then live over the circuit), Radzen's components and SVG charts. People sign in
/// with an API key; the session is a cookie (HttpOnly, SameSite=Strict, Secure over HTTPS) that
/// carries the key's role and is honoured by the dashboard only, never by <c>/api</c>, so a
/// page from another site cannot use it against the REST API.
/// </summary>
public static class DashboardExtensions
{
    public const string CookieScheme = "Dashboard";

    public static WebApplicationBuilder AddDashboard(this WebApplicationBuilder builder)
    {
        // Scripts, styles and fonts from the build output and the packages, for a control plane run
        // from source (`dotnet run`); a published one has them in its wwwroot and reads no manifest.
        builder.WebHost.UseStaticWebAssets();
        builder.Services.AddOptions<DashboardOptions>().BindConfiguration(DashboardOptions.SectionName)
            .Validate(o => o.SessionLifetime >= TimeSpan.FromMinutes(1) && o.SessionLifetime <= TimeSpan.FromDays(30),
                "EdgeGreen:Dashboard:SessionLifetime must be from 1 minute to 30 days.")
            .ValidateOnStart();
        builder.Services.AddRazorComponents().AddInteractiveServerComponents();
        builder.Services.AddRadzenComponents();
        builder.Services.AddRadzenCookieThemeService(options =>
        {
            options.Name = DashboardTheme.CookieName;
            options.SameSite = CookieSameSiteMode.Strict;
        });
        builder.Services.AddCascadingAuthenticationState();
        builder.Services.AddSingleton<LiveEvents>();
        builder.Services.AddSingleton<OverviewData>();
        builder.Services.AddScoped<AgentsData>();
        builder.Services.AddScoped<AgentData>();
        builder.Services.AddScoped<CarbonData>();
        builder.Services.AddScoped<AlertsData>();
        builder.Services.AddScoped<JobsData>();
        builder.Services.AddScoped<JobData>();
        builder.Services.AddScoped<JobSubmitData>();
        builder.Services.AddScoped<PipelinesData>();
        builder.Services.AddScoped<ModelsData>();
        builder.Services.AddScoped<DeploymentsData>();

        // The circuit's user comes from the request that opens it, so the cookie is the default
        // identity of a request; the REST policies name the API-key scheme and never look at it.
        builder.Services.AddAuthentication(options => options.DefaultAuthenticateScheme = CookieScheme)
            .AddCookie(CookieScheme, options =>
            {
                options.Cookie.Name = "EdgeGreen.Session";
                options.Cookie.HttpOnly = true;
                options.Cookie.SameSite = SameSiteMode.Strict;
                options.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
                options.SlidingExpiration = true;
                options.LoginPath = "/signin";
                options.AccessDeniedPath = "/forbidden";
            });
        builder.Services.AddOptions<CookieAuthenticationOptions>(CookieScheme)
            .Configure<IOptions<DashboardOptions>>((cookie, dashboard) => cookie.ExpireTimeSpan = dashboard.Value.SessionLifetime);
        builder.Services.AddAuthorizationBuilder()
            .AddPolicy(DashboardPolicies.Viewer, p => p.AddAuthenticationSchemes(CookieScheme)
                .RequireRole(nameof(ApiKeyRole.Viewer), nameof(ApiKeyRole.Operator), nameof(ApiKeyRole.Admin)))
            .AddPolicy(DashboardPolicies.Operator, p => p.AddAuthenticationSchemes(CookieScheme)
                .RequireRole(nameof(ApiKeyRole.Operator), nameof(ApiKeyRole.Admin)));
        return builder;
    }

    /// <summary>
    /// Refuses a circuit opened from another origin. The session cookie is SameSite=Strict, which
    /// keeps other sites out but not another port or subdomain of the same site; a page there could
    /// otherwise open the dashboard's WebSocket as the signed-in user.
    /// </summary>
    public static WebApplication UseDashboardOriginCheck(this WebApplication app)
    {
        app.Use(async (context, next) =>
        {
            if (context.Request.Path.StartsWithSegments("/_blazor")
                && context.Request.Headers.Origin is [{ } origin]
                && !string.Equals(origin, $"{context.Request.Scheme}://{context.Request.Host}", StringComparison.OrdinalIgnoreCase))
            {
                context.Response.StatusCode = StatusCodes.Status403Forbidden;
                return;
            }

            await next(context);
        });
        return app;
    }

    public static WebApplication MapDashboard(this WebApplication app)
    {
        if (!app.Configuration.GetValue($"{DashboardOptions.SectionName}:{nameof(DashboardOptions.Enabled)}", defaultValue: true))
        {
            return app;
        }

        app.MapStaticAssets();
        app.MapRazorComponents<App>()
            .AddInteractiveServerRenderMode()
            // A circuit lives as long as its page is open: no REST time limit.
            .DisableRequestTimeout();
        app.MapPost("/signout", async (HttpContext context, [FromForm] string? returnUrl) =>
        {
            await context.SignOutAsync(CookieScheme);
            return TypedResults.LocalRedirect("/signin");
        }).ExcludeFromDescription();
        return app;
    }

    /// <summary>The claims a session carries: the key's id, name and role, as the API-key handler grants them.</summary>
    public static ClaimsPrincipal Session(ApiKeyRecord key) => new(new ClaimsIdentity(
        [new Claim(ClaimTypes.NameIdentifier, key.Id), new Claim(ClaimTypes.Name, key.Name), new Claim(ClaimTypes.Role, key.Role.ToString())],
        CookieScheme));
}

/// <summary>The dashboard's authorization policies (cookie sessions); the REST API's are in <see cref="Policies"/>.</summary>
public static class DashboardPolicies
{
    public const string Viewer = "dashboard-viewer";
    public const string Operator = "dashboard-operator";
}

/// <summary>Light and dark themes (Radzen's Material, with its WCAG contrast colours), kept in a cookie.</summary>
public static class DashboardTheme
{
    public const string CookieName = "EdgeGreen.Theme";
    public const string Light = "material";
    public const string Dark = "material-dark";

    public static string FromCookie(HttpContext? context) =>
        context?.Request.Cookies[CookieName] is Dark ? Dark : Light;
}
