using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http.Timeouts;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace EdgeGreen.ControlPlane.Hosting;

/// <summary>
/// What the OpenAPI document (<c>/openapi/v1.json</c>) says beyond what each route declares, so that
/// generated clients authenticate and get typed errors: the <c>bearer</c> scheme API keys are sent
/// with (<c>Authorization: Bearer &lt;key&gt;</c>), required by every operation whose endpoint needs
/// a key; the <c>401</c> and <c>403</c> those operations answer, derived from the same authorization
/// metadata the middleware enforces; the <c>429</c> of the rate limits every REST request is counted
/// against; the <c>400</c> validation problem any operation with parameters or a body answers when
/// they do not bind; the <c>413</c> of a body over Kestrel's limit; the <c>503</c> of unreachable
/// storage (any operation: keys live in storage too) and the <c>507</c> of full storage (operations
/// that write); the <c>504</c> of the request time limit where it applies. Codes only some routes answer
/// (<c>404</c>, <c>409</c>, <c>422</c>) are declared on those routes.
/// </summary>
public static class OpenApiConventions
{
    public const string BearerScheme = "bearer";

    public static IServiceCollection AddControlPlaneOpenApi(this IServiceCollection services) =>
        services.AddOpenApi(options =>
        {
            options.AddDocumentTransformer(DescribeAsync);
            options.AddOperationTransformer(DeclareAsync);
        });

    private static Task DescribeAsync(OpenApiDocument document, OpenApiDocumentTransformerContext context, CancellationToken cancellationToken)
    {
        document.Info.Title = "EdgeGreen control plane";
        document.Info.Description = "Carbon-aware MLOps: agents, fleet energy, carbon intensity, jobs, datasets, the model registry and "
            + "webhooks under /api/v1, and the Carbon Aware SDK's Web API under /emissions and /locations. "
            + "Errors are RFC 9457 problem details.";
        document.Components ??= new OpenApiComponents();
        document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
        document.Components.SecuritySchemes[BearerScheme] = new OpenApiSecurityScheme
        {
            Type = SecuritySchemeType.Http,
            Scheme = "bearer",
            Description = "An EdgeGreen API key (viewer, operator or admin), sent as Authorization: Bearer <key>.",
        };
        foreach (var server in document.Servers ?? [])
        {
            server.Url = server.Url?.TrimEnd('/');
        }

        return Task.CompletedTask;
    }

    private static async Task DeclareAsync(OpenApiOperation operation, OpenApiOperationTransformerContext context, CancellationToken cancellationToken)
    {
        var metadata = context.Description.ActionDescriptor.EndpointMetadata;
        var responses = operation.Responses ??= new OpenApiResponses();
        var problem = await SchemaAsync<ProblemDetails>(context, cancellationToken);
        if (metadata.OfType<IAuthorizeData>().Any() && !metadata.OfType<IAllowAnonymous>().Any())
        {
            operation.Security ??= [];
            operation.Security.Add(new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(BearerScheme, context.Document)] = [] });
            responses.TryAdd("401", Problem("No API key was sent, or the key is not known.", problem));
            responses.TryAdd("403", Problem("The key's role may not do this.", problem));
        }

        if (operation.Parameters is { Count: > 0 } || operation.RequestBody is not null)
        {
            responses.TryAdd("400", Problem("A parameter or the body is not valid; errors names each field.",
                await SchemaAsync<HttpValidationProblemDetails>(context, cancellationToken)));
        }

        if (operation.RequestBody is not null)
        {
            responses.TryAdd("413", Problem("The body is larger than the server accepts.", problem));
        }

        responses.TryAdd("503", Problem("Storage cannot be reached right now; the detail says why. Retry later.", problem));
        if (!HttpMethods.IsGet(context.Description.HttpMethod ?? HttpMethods.Get))
        {
            responses.TryAdd("507", Problem("Storage is full; nothing was stored.", problem));
        }

        if (!metadata.OfType<DisableRequestTimeoutAttribute>().Any())
        {
            responses.TryAdd("504", Problem("The request ran past EdgeGreen:Limits:RequestTimeout and was cancelled.", problem));
        }

        var tooMany = Problem("Over the rate limit of the caller's key or address; retry after Retry-After seconds.", problem);
        tooMany.Headers = new Dictionary<string, IOpenApiHeader>
        {
            ["Retry-After"] = new OpenApiHeader { Description = "Seconds to wait.", Schema = new OpenApiSchema { Type = JsonSchemaType.Integer } },
        };
        responses.TryAdd("429", tooMany);
    }

    private static OpenApiResponse Problem(string description, IOpenApiSchema schema) => new()
    {
        Description = description,
        Content = new Dictionary<string, OpenApiMediaType> { ["application/problem+json"] = new() { Schema = schema } },
    };

    /// <summary>The type's schema as a reference to its component, added to the document the first time.</summary>
    private static async Task<IOpenApiSchema> SchemaAsync<T>(OpenApiOperationTransformerContext context, CancellationToken cancellationToken)
    {
        var id = typeof(T).Name;
        if (context.Document is not { } document)
        {
            return await context.GetOrCreateSchemaAsync(typeof(T), null, cancellationToken);
        }

        if (document.Components?.Schemas?.ContainsKey(id) != true)
        {
            document.AddComponent(id, await context.GetOrCreateSchemaAsync(typeof(T), null, cancellationToken));
        }

        return new OpenApiSchemaReference(id, document);
    }
}
