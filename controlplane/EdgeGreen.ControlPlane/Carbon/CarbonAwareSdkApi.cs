using EdgeGreen.Shared;
using Microsoft.AspNetCore.Http.HttpResults;
using EdgeGreen.ControlPlane.Security;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;

namespace EdgeGreen.ControlPlane.Carbon;

/// <summary>Observed intensity as the Carbon Aware SDK's Web API returns it (<c>EmissionsData</c>).</summary>
public sealed record SdkEmissionsData(string Location, DateTimeOffset Time, double Rating, TimeSpan Duration);

/// <summary>A forecast point as the SDK returns it (<c>EmissionsDataDTO</c>): duration in minutes.</summary>
public sealed record SdkEmissionsDataPoint(string Location, DateTimeOffset Timestamp, int Duration, double Value);

public sealed record SdkEmissionsForecast(
    DateTimeOffset GeneratedAt,
    DateTimeOffset RequestedAt,
    string Location,
    DateTimeOffset DataStartAt,
    DateTimeOffset DataEndAt,
    int WindowSize,
    IReadOnlyList<SdkEmissionsDataPoint> OptimalDataPoints,
    IReadOnlyList<SdkEmissionsDataPoint> ForecastData);

public sealed record SdkForecastBatchRequest(DateTimeOffset? RequestedAt, string? Location, DateTimeOffset? DataStartAt, DateTimeOffset? DataEndAt, int? WindowSize);

/// <summary>One item of <c>POST /emissions/average-carbon-intensity/batch</c> (the SDK's <c>CarbonIntensityBatchParametersDTO</c>).</summary>
public sealed record SdkCarbonIntensityBatchRequest(string? Location, DateTimeOffset? StartTime, DateTimeOffset? EndTime);

/// <summary>The SDK's <c>CarbonIntensityDTO</c>: times in UTC, intensity in gCO₂e/kWh.</summary>
public sealed record SdkCarbonIntensity(string Location, DateTimeOffset StartTime, DateTimeOffset EndTime, double CarbonIntensity);

public sealed record SdkLocation(decimal Latitude, decimal Longitude, string Name);

/// <summary>
/// The Green Software Foundation Carbon Aware SDK's Web API (<c>/emissions/…</c>, <c>/locations</c>)
/// over EdgeGreen's intensity data, so that its existing clients work unchanged: the same routes,
/// query names, response shapes and rolling-window semantics. Locations are EdgeGreen zones.
/// A viewer key is needed unless <see cref="CarbonOptions.AnonymousSdkRoutes"/> opens the routes
/// as the SDK's own service is (grid intensity is public data, but every query costs the control plane).
/// </summary>
public static class CarbonAwareSdkApi
{
    /// <summary>How far ahead <c>forecasts/current</c> looks (the SDK's sources publish 24-72 h).</summary>
    public const int ForecastHours = 48;

    /// <summary>The most locations one request may name.</summary>
    public const int MaxLocations = 50;

    /// <summary>The most forecasts, or averages, one batch request may ask for.</summary>
    public const int MaxBatchRequests = 100;

    /// <summary>
    /// Approximate geographic centres of the bundled zones, for <c>/locations</c>; zones without an
    /// entry are listed at 0, 0.
    /// </summary>
    private static readonly Dictionary<string, (decimal Latitude, decimal Longitude)> Centres = new(StringComparer.OrdinalIgnoreCase)
    {
        ["BR"] = (-14.2m, -51.9m),
        ["ES"] = (40.4m, -3.7m),
        ["NO"] = (60.5m, 8.5m),
        ["US-CAL-CISO"] = (36.8m, -119.4m),
    };

    public static IEndpointRouteBuilder MapCarbonAwareSdkApi(this IEndpointRouteBuilder routes)
    {
        var anonymous = routes.ServiceProvider.GetRequiredService<IOptions<CarbonOptions>>().Value.AnonymousSdkRoutes;
        var sdk = routes.MapGroup("").WithTags("Carbon Aware SDK");
        if (anonymous)
        {
            sdk.AllowAnonymous();
        }
        else
        {
            sdk.RequireAuthorization(Policies.Viewer);
        }

        var emissions = sdk.MapGroup("/emissions");
        emissions.MapGet("/bylocations", ByLocations).WithName("GetEmissionsDataForLocationsByTime")
            .WithSummary("Observed intensity for the locations between time and toTime.");
        emissions.MapGet("/bylocation", ByLocation).WithName("GetEmissionsDataForLocationByTime")
            .WithSummary("Observed intensity for one location between time and toTime.");
        emissions.MapGet("/bylocations/best", BestByLocations).WithName("GetBestEmissionsDataForLocationsByTime")
            .WithSummary("The lowest observed intensity among the locations between time and toTime.");
        emissions.MapGet("/forecasts/current", CurrentForecasts).WithName("GetCurrentForecastData")
            .WithSummary("Current forecast per location with its optimal window of windowSize minutes.");
        emissions.MapPost("/forecasts/batch", BatchForecasts).WithName("BatchForecastDataAsync")
            .WithSummary("Forecasts as they were at requestedAt, with their optimal windows.");
        emissions.MapGet("/average-carbon-intensity", AverageCarbonIntensity).WithName("GetAverageCarbonIntensity")
            .WithSummary("Time-weighted average observed intensity between startTime and endTime.");
        emissions.MapPost("/average-carbon-intensity/batch", AverageCarbonIntensityBatch).WithName("GetAverageCarbonIntensityBatch")
            .WithSummary("The time-weighted average observed intensity of each location and period asked for, in the order asked.");
        sdk.MapGet("/locations", Locations).WithName("GetAllLocations").WithSummary("The locations (zones) served.");
        return routes;
    }

    public static async Task<Results<Ok<IReadOnlyList<SdkEmissionsData>>, NoContent, ValidationProblem>> ByLocations(
        [FromQuery(Name = "location")] string[] locations, DateTimeOffset? time, DateTimeOffset? toTime, int? durationMinutes,
        CarbonIntensity carbon, TimeProvider timeProvider, CancellationToken cancellationToken)
    {
        var observed = await ObservedAsync(locations, time, toTime, carbon, timeProvider, cancellationToken);
        return observed.Problem is { } problem ? problem
            : observed.Data.Count == 0 ? TypedResults.NoContent() : TypedResults.Ok(observed.Data);
    }

    public static Task<Results<Ok<IReadOnlyList<SdkEmissionsData>>, NoContent, ValidationProblem>> ByLocation(
        string location, DateTimeOffset? time, DateTimeOffset? toTime, int? durationMinutes,
        CarbonIntensity carbon, TimeProvider timeProvider, CancellationToken cancellationToken) =>
        ByLocations([location], time, toTime, durationMinutes, carbon, timeProvider, cancellationToken);

    public static async Task<Results<Ok<IReadOnlyList<SdkEmissionsData>>, NoContent, ValidationProblem>> BestByLocations(
        [FromQuery(Name = "location")] string[] locations, DateTimeOffset? time, DateTimeOffset? toTime, int? durationMinutes,
        CarbonIntensity carbon, TimeProvider timeProvider, CancellationToken cancellationToken)
    {
        var observed = await ObservedAsync(locations, time, toTime, carbon, timeProvider, cancellationToken);
        if (observed.Problem is { } problem)
        {
            return problem;
        }

        if (observed.Data.Count == 0)
        {
            return TypedResults.NoContent();
        }

        var lowest = observed.Data.Min(d => d.Rating);
        return TypedResults.Ok<IReadOnlyList<SdkEmissionsData>>([.. observed.Data.Where(d => d.Rating == lowest)]);
    }

    public static async Task<Results<Ok<IReadOnlyList<SdkEmissionsForecast>>, ValidationProblem>> CurrentForecasts(
        [FromQuery(Name = "location")] string[] locations, DateTimeOffset? dataStartAt, DateTimeOffset? dataEndAt, int? windowSize,
        CarbonIntensity carbon, TimeProvider timeProvider, CancellationToken cancellationToken)
    {
        if (locations.Length is 0 or > MaxLocations)
        {
            return Invalid("location", $"From 1 to {MaxLocations} locations are required.");
        }

        var forecasts = new List<SdkEmissionsForecast>();
        foreach (var location in locations)
        {
            var forecast = await ForecastAsync(location, timeProvider.GetUtcNow(), dataStartAt, dataEndAt, windowSize, carbon, null, cancellationToken);
            if (forecast.Problem is { } problem)
            {
                return problem;
            }

            forecasts.Add(forecast.Forecast!);
        }

        return TypedResults.Ok<IReadOnlyList<SdkEmissionsForecast>>(forecasts);
    }

    public static async Task<Results<Ok<IReadOnlyList<SdkEmissionsForecast>>, ValidationProblem>> BatchForecasts(
        SdkForecastBatchRequest?[] requests, CarbonIntensity carbon, TimeProvider timeProvider, CancellationToken cancellationToken)
    {
        if (requests.Length > MaxBatchRequests)
        {
            return Invalid("requests", $"At most {MaxBatchRequests} forecasts may be asked for in one batch.");
        }

        var forecasts = new List<SdkEmissionsForecast>();
        foreach (var request in requests)
        {
            if (request is null)
            {
                return NullItem();
            }

            if (NotSet(("location", !string.IsNullOrWhiteSpace(request.Location)), ("requestedAt", request.RequestedAt is not null)) is { } missing)
            {
                return missing;
            }

            if (Instants.Problems(("requestedAt", request.RequestedAt)) is { } implausible)
            {
                return TypedResults.ValidationProblem(implausible);
            }

            var forecast = await ForecastAsync(request.Location!, request.RequestedAt!.Value, request.DataStartAt, request.DataEndAt, request.WindowSize, carbon,
                request.RequestedAt, cancellationToken);
            if (forecast.Problem is { } problem)
            {
                return problem;
            }

            forecasts.Add(forecast.Forecast!);
        }

        return TypedResults.Ok<IReadOnlyList<SdkEmissionsForecast>>(forecasts);
    }

    public static async Task<Results<Ok<SdkCarbonIntensity>, ValidationProblem>> AverageCarbonIntensity(
        string? location, DateTimeOffset? startTime, DateTimeOffset? endTime, CarbonIntensity carbon, CancellationToken cancellationToken)
    {
        var average = await AverageAsync(new SdkCarbonIntensityBatchRequest(location, startTime, endTime), carbon, cancellationToken);
        return average.Problem is { } problem ? problem : TypedResults.Ok(average.Intensity!);
    }

    public static async Task<Results<Ok<IReadOnlyList<SdkCarbonIntensity>>, ValidationProblem>> AverageCarbonIntensityBatch(
        SdkCarbonIntensityBatchRequest?[] requests, CarbonIntensity carbon, CancellationToken cancellationToken)
    {
        if (requests.Length > MaxBatchRequests)
        {
            return Invalid("requests", $"At most {MaxBatchRequests} averages may be asked for in one batch.");
        }

        var averages = new List<SdkCarbonIntensity>(requests.Length);
        foreach (var request in requests)
        {
            if (request is null)
            {
                return NullItem();
            }

            var average = await AverageAsync(request, carbon, cancellationToken);
            if (average.Problem is { } problem)
            {
                return problem;
            }

            averages.Add(average.Intensity!);
        }

        return TypedResults.Ok<IReadOnlyList<SdkCarbonIntensity>>(averages);
    }

    public static async Task<Results<Ok<IReadOnlyDictionary<string, SdkLocation>>, NoContent>> Locations(CarbonIntensity carbon, CancellationToken cancellationToken)
    {
        var zones = await carbon.GetZonesAsync(cancellationToken);
        if (zones.Count == 0)
        {
            return TypedResults.NoContent();
        }

        return TypedResults.Ok<IReadOnlyDictionary<string, SdkLocation>>(zones.ToDictionary(z => z, z =>
        {
            var (latitude, longitude) = Centres.GetValueOrDefault(z);
            return new SdkLocation(latitude, longitude, z);
        }));
    }

    private static async Task<(IReadOnlyList<SdkEmissionsData> Data, ValidationProblem? Problem)> ObservedAsync(
        string[] locations, DateTimeOffset? time, DateTimeOffset? toTime, CarbonIntensity carbon, TimeProvider timeProvider, CancellationToken cancellationToken)
    {
        if (locations.Length is 0 or > MaxLocations)
        {
            return ([], Invalid("location", $"From 1 to {MaxLocations} locations are required."));
        }

        if (Instants.Problems(("time", time), ("toTime", toTime)) is { } implausible)
        {
            return ([], TypedResults.ValidationProblem(implausible));
        }

        // Without bounds: the last 24 hours; with only a start: the hour from it.
        var end = toTime ?? (time is { } from ? from.AddHours(1) : timeProvider.GetUtcNow());
        var start = time ?? end.AddHours(-24);
        if (end <= start || end - start > CarbonApi.MaxRange)
        {
            return ([], Invalid("toTime", $"toTime must be after time, at most {CarbonApi.MaxRange.TotalDays:0} days later."));
        }

        var data = new List<SdkEmissionsData>();
        foreach (var location in locations)
        {
            try
            {
                var points = await carbon.GetHistoryAsync(location, start, end, cancellationToken);
                data.AddRange(points.Select(p => new SdkEmissionsData(location, p.Time, p.IntensityGramsPerKwh, p.Duration)));
            }
            catch (UnknownZoneException unknown)
            {
                return ([], Invalid("location", unknown.Message));
            }
        }

        return (data, null);
    }

    private static async Task<(SdkEmissionsForecast? Forecast, ValidationProblem? Problem)> ForecastAsync(
        string location, DateTimeOffset requestedAt, DateTimeOffset? dataStartAt, DateTimeOffset? dataEndAt, int? windowSize,
        CarbonIntensity carbon, DateTimeOffset? asOf, CancellationToken cancellationToken)
    {
        if (windowSize is <= 0)
        {
            return (null, Invalid("windowSize", "windowSize must be a positive number of minutes."));
        }

        if (Instants.Problems(("dataStartAt", dataStartAt), ("dataEndAt", dataEndAt)) is { } implausible)
        {
            return (null, TypedResults.ValidationProblem(implausible));
        }

        if (dataStartAt is { } from && dataEndAt is { } to && to <= from)
        {
            return (null, Invalid("dataEndAt", "dataEndAt must be after dataStartAt."));
        }

        IntensityForecast forecast;
        try
        {
            forecast = await carbon.GetForecastAsync(location, ForecastHours, asOf, cancellationToken);
        }
        catch (UnknownZoneException unknown)
        {
            return (null, Invalid("location", unknown.Message));
        }

        var points = forecast.Points;
        var window = windowSize is { } minutes ? TimeSpan.FromMinutes(minutes) : points.FirstOrDefault()?.Duration ?? TimeSpan.FromHours(1);
        var windows = IntensityWindows.RollingAverage(points, window, dataStartAt, dataEndAt);
        SdkEmissionsDataPoint ToPoint(IntensityPoint p) => new(location, p.Time, (int)p.Duration.TotalMinutes, p.IntensityGramsPerKwh);
        return (new SdkEmissionsForecast(
            forecast.GeneratedAt,
            requestedAt,
            location,
            dataStartAt ?? points.FirstOrDefault()?.Time ?? requestedAt,
            dataEndAt ?? points.LastOrDefault()?.Time ?? requestedAt,
            (int)window.TotalMinutes,
            [.. IntensityWindows.Optimal(windows).Select(ToPoint)],
            [.. windows.Select(ToPoint)]), null);
    }

    /// <summary>One average, checked as the SDK checks it: each missing field named, then the range (at most <see cref="CarbonApi.MaxRange"/>).</summary>
    private static async Task<(SdkCarbonIntensity? Intensity, ValidationProblem? Problem)> AverageAsync(
        SdkCarbonIntensityBatchRequest request, CarbonIntensity carbon, CancellationToken cancellationToken)
    {
        if (NotSet(("location", !string.IsNullOrWhiteSpace(request.Location)), ("startTime", request.StartTime is not null), ("endTime", request.EndTime is not null))
            is { } missing)
        {
            return (null, missing);
        }

        var (location, start, end) = (request.Location!, request.StartTime!.Value, request.EndTime!.Value);
        if (Instants.Problems(("startTime", start), ("endTime", end)) is { } implausible)
        {
            return (null, TypedResults.ValidationProblem(implausible));
        }

        if (end <= start || end - start > CarbonApi.MaxRange)
        {
            return (null, Invalid("endTime", $"endTime must be after startTime, at most {CarbonApi.MaxRange.TotalDays:0} days later."));
        }

        try
        {
            var points = await carbon.GetHistoryAsync(location, start, end, cancellationToken);
            return (new SdkCarbonIntensity(location, start.ToUniversalTime(), end.ToUniversalTime(), IntensityWindows.AverageOverPeriod(points, start, end)), null);
        }
        catch (UnknownZoneException unknown)
        {
            return (null, Invalid("location", unknown.Message));
        }
        catch (ArgumentException outOfRange)
        {
            return (null, Invalid("endTime", outOfRange.Message));
        }
    }

    /// <summary>Every required field that is missing, with the SDK's message (<c>location is not set</c>); null when all are set.</summary>
    private static ValidationProblem? NotSet(params ReadOnlySpan<(string Field, bool Set)> fields)
    {
        var missing = new Dictionary<string, string[]>();
        foreach (var (field, set) in fields)
        {
            if (!set)
            {
                missing[field] = [$"{field} is not set"];
            }
        }

        return missing.Count > 0 ? TypedResults.ValidationProblem(missing) : null;
    }

    private static ValidationProblem NullItem() => Invalid("requests", "Each item of a batch must be an object, not null.");

    private static ValidationProblem Invalid(string field, string message) =>
        TypedResults.ValidationProblem(new Dictionary<string, string[]> { [field] = [message] });
}
