using EdgeGreen.ControlPlane.Security;
using EdgeGreen.Shared;
using Microsoft.AspNetCore.Http.HttpResults;

namespace EdgeGreen.ControlPlane.Api;

public sealed record EnrollmentTokenResponse(string Token, DateTimeOffset ExpiresAt);

public sealed record CreateApiKeyRequest(string? Name, string? Role);

public sealed record ApiKeyResponse(string Id, string Name, string Role, string Key, DateTimeOffset CreatedAt);

/// <summary>Minting of enrollment tokens and API keys (admin only). Each secret is shown once.</summary>
public static class AccessApi
{
    public static IEndpointRouteBuilder MapAccessApi(this IEndpointRouteBuilder routes)
    {
        routes.MapPost("/api/v1/enrollment-tokens", CreateEnrollmentToken).WithName("CreateEnrollmentToken").RequireAuthorization(Policies.Admin).WithTags("Access")
            .WithSummary("Mints a one-time enrollment token for a new agent.");
        routes.MapPost("/api/v1/api-keys", CreateApiKey).WithName("CreateApiKey").RequireAuthorization(Policies.Admin).WithTags("Access")
            .WithSummary("Mints an API key with the role viewer, operator or admin.");
        return routes;
    }

    public static async Task<Created<EnrollmentTokenResponse>> CreateEnrollmentToken(EnrollmentTokens tokens, CancellationToken cancellationToken)
    {
        var (token, expiresAt) = await tokens.MintAsync(cancellationToken);
        return TypedResults.Created((string?)null, new EnrollmentTokenResponse(token, expiresAt));
    }

    public static async Task<Results<Created<ApiKeyResponse>, ValidationProblem>> CreateApiKey(CreateApiKeyRequest request, ApiKeys apiKeys, CancellationToken cancellationToken)
    {
        var errors = new Dictionary<string, string[]>();
        var name = request.Name?.Trim() ?? "";
        if (name.Length is 0 or > 128)
        {
            errors["name"] = ["name must be 1 to 128 characters."];
        }

        if (!EnumNames.TryParse<ApiKeyRole>(request.Role, out var role))
        {
            errors["role"] = [$"role must be exactly one of: {EnumNames.List<ApiKeyRole>()}."];
        }

        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors);
        }

        var (record, key) = await apiKeys.MintAsync(name, role, cancellationToken);
        return TypedResults.Created((string?)null, new ApiKeyResponse(record.Id, record.Name, record.Role.ToString().ToLowerInvariant(), key, record.CreatedAt));
    }
}
