using EdgeGreen.ControlPlane.Security;
using EdgeGreen.Shared;
using Microsoft.AspNetCore.Http.HttpResults;

namespace EdgeGreen.ControlPlane.Carbon;

public sealed record ZoneResponse(string Zone, DateTimeOffset? Time, double? IntensityGramsPerKwh);

public sealed record IntensityPointResponse(DateTimeOffset Time, TimeSpan Duration, double IntensityGramsPerKwh);

public sealed record IntensityResponse(string Zone, string Source, DateTimeOffset From, DateTimeOffset To, IReadOnlyList<IntensityPointResponse> Points);

public sealed record ForecastResponse(string Zone, DateTimeOffset GeneratedAt, string Method, IReadOnlyList<IntensityPointResponse> Points);

/// <summary>Grid carbon intensity per zone: current, history and forecast.</summary>
public static class CarbonApi
{
    public const int MaxForecastHours = 72;
    /// <summary>The longest range of observed intensity one request may ask for (here and on the Carbon Aware SDK routes).</summary>
    public static readonly TimeSpan MaxRange = TimeSpan.FromDays(366);

    public static IEndpointRouteBuilder MapCarbonApi(this IEndpointRouteBuilder routes)
    {
        var carbon = routes.MapGroup("/api/v1/carbon/zones").RequireAuthorization(Policies.Viewer).WithTags("Carbon");
        carbon.MapGet("/", ListZones).WithName("ListZones").WithSummary("Zones with intensity data and their current intensity (gCO₂e/kWh).");
        carbon.MapGet("/{zone}/intensity", GetIntensity).WithName("GetZoneIntensity").ProducesProblem(StatusCodes.Status404NotFound)
            .WithSummary("Observed hourly intensity in [from, to) (default: the last 24 hours).");
        carbon.MapGet("/{zone}/forecast", GetForecast).WithName("GetZoneForecast").ProducesProblem(StatusCodes.Status404NotFound)
            .WithSummary($"Hourly forecast for the next hours (1-{MaxForecastHours}, default 24).");
        return routes;
    }

    public static async Task<Ok<IReadOnlyList<ZoneResponse>>> ListZones(CarbonIntensity carbon, CancellationToken cancellationToken)
    {
        var zones = new List<ZoneResponse>();
        foreach (var zone in await carbon.GetZonesAsync(cancellationToken))
        {
            var current = await carbon.GetCurrentAsync(zone, cancellationToken);
            zones.Add(new ZoneResponse(zone, current?.Time, current?.IntensityGramsPerKwh));
        }

        return TypedResults.Ok<IReadOnlyList<ZoneResponse>>(zones);
    }

    public static async Task<Results<Ok<IntensityResponse>, ValidationProblem, ProblemHttpResult>> GetIntensity(
        string zone, DateTimeOffset? from, DateTimeOffset? to, CarbonIntensity carbon, TimeProvider timeProvider, CancellationToken cancellationToken)
    {
        if (Instants.Problems(("from", from), ("to", to)) is { } implausible)
        {
            return TypedResults.ValidationProblem(implausible);
        }

        var end = to ?? timeProvider.GetUtcNow();
        var start = from ?? end.AddHours(-24);
        if (start >= end || end - start > MaxRange)
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["from"] = [$"from must be before to, at most {MaxRange.TotalDays:0} days apart."] });
        }

        try
        {
            var points = await carbon.GetHistoryAsync(zone, start, end, cancellationToken);
            return TypedResults.Ok(new IntensityResponse(zone, carbon.SourceName, start, end, ToResponse(points)));
        }
        catch (UnknownZoneException unknown)
        {
            return ZoneNotFound(unknown);
        }
    }

    public static async Task<Results<Ok<ForecastResponse>, ValidationProblem, ProblemHttpResult>> GetForecast(
        string zone, int? hours, CarbonIntensity carbon, CancellationToken cancellationToken)
    {
        var horizon = hours ?? 24;
        if (horizon is < 1 or > MaxForecastHours)
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["hours"] = [$"hours must be between 1 and {MaxForecastHours}."] });
        }

        try
        {
            var forecast = await carbon.GetForecastAsync(zone, horizon, requestedAt: null, cancellationToken);
            return TypedResults.Ok(new ForecastResponse(zone, forecast.GeneratedAt, forecast.Method, ToResponse(forecast.Points)));
        }
        catch (UnknownZoneException unknown)
        {
            return ZoneNotFound(unknown);
        }
    }

    private static IReadOnlyList<IntensityPointResponse> ToResponse(IReadOnlyList<IntensityPoint> points) =>
        [.. points.Select(p => new IntensityPointResponse(p.Time, p.Duration, p.IntensityGramsPerKwh))];

    private static ProblemHttpResult ZoneNotFound(UnknownZoneException unknown) =>
        TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "Zone not found", detail: unknown.Message);
}
