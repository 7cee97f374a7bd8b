using EdgeGreen.ControlPlane.Core.Alerts;
using EdgeGreen.ControlPlane.Outbound;
using EdgeGreen.ControlPlane.Security;
using EdgeGreen.ControlPlane.Storage;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace EdgeGreen.ControlPlane.Alerts;

public static class AlertsApi
{
    /// <summary>Alert rules, their evaluation on the leader and notifications (<c>EdgeGreen:Alerts</c>).</summary>
    public static IHostApplicationBuilder AddAlerts(this IHostApplicationBuilder builder)
    {
        const string Section = AlertsOptions.SectionName;
        builder.Services.AddOptions<AlertsOptions>().BindConfiguration(Section)
            .Validate(o => o.EvaluationInterval >= TimeSpan.FromMilliseconds(100) && o.EvaluationInterval <= TimeSpan.FromHours(1),
                $"{Section}:EvaluationInterval must be between 00:00:00.100 and 01:00:00.")
            .Validate(o => o.MaxRules is >= 1 and <= 10_000, $"{Section}:MaxRules must be between 1 and 10000.")
            .Validate(o => o.ResolvedRetention >= TimeSpan.FromHours(1), $"{Section}:ResolvedRetention must be at least 01:00:00.")
            .ValidateOnStart();
        // Notification secrets are encrypted above whichever provider stores the rules.
        builder.Services.DecorateStore<IAlertStore, ProtectedAlertStore>();
        builder.Services.AddSingleton<AlertRuleValidator>();
        builder.Services.AddSingleton<AlertConditions>();
        builder.Services.AddSingleton<AlertNotifier>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<AlertNotifier>());
        builder.Services.AddSingleton<AlertEvaluator>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<AlertEvaluator>());
        builder.Services.AddRetriedOutboundHttpClient(AlertNotifier.HttpClientName);
        return builder;
    }

    public static IEndpointRouteBuilder MapAlertsApi(this IEndpointRouteBuilder routes)
    {
        var rules = routes.MapGroup("/api/v1/alert-rules").RequireAuthorization(Policies.Viewer).WithTags("Alerts");
        rules.MapPost("/", CreateAsync).WithName("CreateAlertRule").RequireAuthorization(Policies.Operator)
            .ProducesValidationProblem().ProducesProblem(StatusCodes.Status409Conflict)
            .WithSummary("Adds an alert rule; the answer shows its notification secrets once (a webhook secret not given is made).");
        rules.MapGet("/", ListAsync).WithName("ListAlertRules").WithSummary("Every alert rule, without its notification secrets.");
        rules.MapGet("/{name}", GetAsync).WithName("GetAlertRule").ProducesProblem(StatusCodes.Status404NotFound)
            .WithSummary("One alert rule, without its notification secrets.");
        rules.MapPut("/{name}", PutAsync).WithName("PutAlertRule").RequireAuthorization(Policies.Operator)
            .ProducesValidationProblem().ProducesProblem(StatusCodes.Status404NotFound)
            .WithSummary("Replaces an alert rule; a webhook target given without a secret keeps the secret it had for the same URL. Its alerts go on from their state.");
        rules.MapDelete("/{name}", DeleteAsync).WithName("DeleteAlertRule").RequireAuthorization(Policies.Operator).ProducesProblem(StatusCodes.Status404NotFound)
            .WithSummary("Removes an alert rule and its alerts; those firing are notified as resolved.");

        var alerts = routes.MapGroup("/api/v1/alerts").RequireAuthorization(Policies.Viewer).WithTags("Alerts");
        alerts.MapGet("/", ListAlertsAsync).WithName("ListAlerts").ProducesValidationProblem()
            .WithSummary("Alerts (one per rule and label set) with their recent history; state=pending|firing|resolved|inactive filters.");
        return routes;
    }

    public static async Task<Results<Created<AlertRuleResponse>, ValidationProblem, ProblemHttpResult>> CreateAsync(AlertRuleRequest request, IAlertStore store,
        AlertRuleValidator validator, IOptions<AlertsOptions> options, TimeProvider clock, CancellationToken cancellationToken)
    {
        var (rule, errors, made) = await validator.ValidateAsync(request.Name, request, null, clock.GetUtcNow(), cancellationToken);
        if (rule is null)
        {
            return TypedResults.ValidationProblem(errors);
        }

        if ((await store.ListRulesAsync(cancellationToken)).Count >= options.Value.MaxRules)
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status409Conflict, title: "Too many alert rules",
                detail: $"There are {options.Value.MaxRules} alert rules already, the most {AlertsOptions.SectionName}:MaxRules allows; delete one first.");
        }

        return await store.AddRuleAsync(rule, cancellationToken)
            ? TypedResults.Created($"/api/v1/alert-rules/{Uri.EscapeDataString(rule.Name)}", AlertRuleResponse.From(rule, made))
            : TypedResults.Problem(statusCode: StatusCodes.Status409Conflict, title: "Exists",
                detail: $"An alert rule named '{rule.Name}' exists; change it with PUT /api/v1/alert-rules/{rule.Name}.");
    }

    public static async Task<Ok<IReadOnlyList<AlertRuleResponse>>> ListAsync(IAlertStore store, CancellationToken cancellationToken) =>
        TypedResults.Ok<IReadOnlyList<AlertRuleResponse>>([.. (await store.ListRulesAsync(cancellationToken)).Select(r => AlertRuleResponse.From(r))]);

    public static async Task<Results<Ok<AlertRuleResponse>, ProblemHttpResult>> GetAsync(string name, IAlertStore store, CancellationToken cancellationToken) =>
        await store.GetRuleAsync(name, cancellationToken) is { } rule ? TypedResults.Ok(AlertRuleResponse.From(rule)) : NotFound(name);

    public static async Task<Results<Ok<AlertRuleResponse>, ValidationProblem, ProblemHttpResult>> PutAsync(string name, AlertRuleRequest request, IAlertStore store,
        AlertRuleValidator validator, TimeProvider clock, CancellationToken cancellationToken)
    {
        if (request.Name is not null && request.Name != name)
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["name"] = ["name, when given, must be the rule's name in the path; a rule cannot be renamed."] });
        }

        if (await store.GetRuleAsync(name, cancellationToken) is not { } existing)
        {
            return NotFound(name);
        }

        var (rule, errors, made) = await validator.ValidateAsync(name, request, existing, clock.GetUtcNow(), cancellationToken);
        if (rule is null)
        {
            return TypedResults.ValidationProblem(errors);
        }

        return await store.ReplaceRuleAsync(rule, cancellationToken) ? TypedResults.Ok(AlertRuleResponse.From(rule, made)) : NotFound(name);
    }

    public static async Task<Results<NoContent, ProblemHttpResult>> DeleteAsync(string name, IAlertStore store, AlertNotifier notifier, TimeProvider clock,
        CancellationToken cancellationToken)
    {
        if (await store.GetRuleAsync(name, cancellationToken) is not { } rule)
        {
            return NotFound(name);
        }

        var firing = (await store.ListAlertsAsync(cancellationToken)).Where(a => a.Rule == name && a.State == AlertState.Firing).ToList();
        if (!await store.DeleteRuleAsync(name, cancellationToken))
        {
            return NotFound(name);
        }

        // Otherwise an incident opened in PagerDuty would stay open with nothing left to resolve it.
        var now = clock.GetUtcNow();
        foreach (var alert in firing)
        {
            notifier.Notify(rule, alert with { State = AlertState.Resolved, ResolvedAt = now, Summary = "the alert rule was deleted" });
        }

        return TypedResults.NoContent();
    }

    public static async Task<Results<Ok<IReadOnlyList<AlertRecord>>, ValidationProblem>> ListAlertsAsync(string? state, IAlertStore store, CancellationToken cancellationToken)
    {
        AlertState? wanted = null;
        if (state is not null)
        {
            if (!Enum.TryParse<AlertState>(state, ignoreCase: true, out var parsed) || !Enum.IsDefined(parsed) || state.Any(char.IsDigit))
            {
                return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["state"] = ["state must be pending, firing, resolved or inactive."] });
            }

            wanted = parsed;
        }

        return TypedResults.Ok<IReadOnlyList<AlertRecord>>([.. (await store.ListAlertsAsync(cancellationToken)).Where(a => wanted is null || a.State == wanted)]);
    }

    private static ProblemHttpResult NotFound(string name) =>
        TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "Not found", detail: $"There is no alert rule '{name}'.");
}
