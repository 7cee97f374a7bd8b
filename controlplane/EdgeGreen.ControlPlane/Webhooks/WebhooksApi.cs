using System.Security.Cryptography;
using EdgeGreen.ControlPlane.Core.Outbound;
using EdgeGreen.ControlPlane.Outbound;
using EdgeGreen.ControlPlane.Security;
using EdgeGreen.ControlPlane.Storage;
using Microsoft.AspNetCore.Http.HttpResults;

namespace EdgeGreen.ControlPlane.Webhooks;

public sealed record CreateWebhookRequest(string? Url, IReadOnlyList<string>? Events);

public sealed record WebhookResponse(string Id, string Url, IReadOnlyList<string> Events, DateTimeOffset CreatedAt, string? Secret);

public static class WebhooksApi
{
    public static IHostApplicationBuilder AddWebhooks(this IHostApplicationBuilder builder)
    {
        // Secrets are encrypted above whichever provider stores the webhooks.
        builder.Services.DecorateStore<IWebhookStore, ProtectedWebhookStore>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<ProtectedWebhookStore>());
        builder.Services.AddSingleton<WebhookDispatcher>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<WebhookDispatcher>());
        builder.Services.AddRetriedOutboundHttpClient(WebhookDispatcher.HttpClientName);
        return builder;
    }

    public static IEndpointRouteBuilder MapWebhooks(this IEndpointRouteBuilder routes)
    {
        var webhooks = routes.MapGroup("/api/v1/webhooks").RequireAuthorization(Policies.Admin).WithTags("Webhooks");
        webhooks.MapPost("/", CreateAsync).WithName("CreateWebhook")
            .WithSummary("Subscribes a URL to registry events; the answer shows the signing secret once.");
        webhooks.MapGet("/", ListAsync).WithName("ListWebhooks").WithSummary("The webhooks (without their secrets).");
        webhooks.MapDelete("/{id}", DeleteAsync).WithName("DeleteWebhook").ProducesProblem(StatusCodes.Status404NotFound).WithSummary("Removes a webhook.");
        return routes;
    }

    public static async Task<Results<Created<WebhookResponse>, ValidationProblem>> CreateAsync(CreateWebhookRequest request, IWebhookStore store,
        OutboundGuard guard, TimeProvider clock, CancellationToken cancellationToken)
    {
        var errors = new Dictionary<string, string[]>();
        if (guard.CheckUrl(request.Url, out var url) is { } problem)
        {
            errors["url"] = [problem];
        }

        if (request.Events is not { Count: > 0 } events || events.Any(e => !WebhookDispatcher.Events.Contains(e)))
        {
            errors["events"] = [$"events must name at least one of: {string.Join(", ", WebhookDispatcher.Events)}."];
        }

        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors);
        }

        var webhook = new WebhookRecord("whk_" + Guid.NewGuid().ToString("N")[..16], url!.ToString(), [.. request.Events!.Distinct()],
            "whsec_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(24)), clock.GetUtcNow());
        await store.AddAsync(webhook, cancellationToken);
        return TypedResults.Created($"/api/v1/webhooks/{webhook.Id}", new WebhookResponse(webhook.Id, webhook.Url, webhook.Events, webhook.CreatedAt, webhook.Secret));
    }

    public static async Task<Ok<IReadOnlyList<WebhookResponse>>> ListAsync(IWebhookStore store, CancellationToken cancellationToken) =>
        TypedResults.Ok<IReadOnlyList<WebhookResponse>>([.. (await store.ListAsync(cancellationToken)).Select(w => new WebhookResponse(w.Id, w.Url, w.Events, w.CreatedAt, null))]);

    public static async Task<Results<NoContent, ProblemHttpResult>> DeleteAsync(string id, IWebhookStore store, CancellationToken cancellationToken) =>
        await store.DeleteAsync(id, cancellationToken)
            ? TypedResults.NoContent()
            : TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "Not found", detail: $"There is no webhook '{id}'.");
}
