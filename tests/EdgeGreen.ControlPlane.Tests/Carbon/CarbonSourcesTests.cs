using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using EdgeGreen.ControlPlane.Core.Storage;
using EdgeGreen.ControlPlane.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace EdgeGreen.ControlPlane.Tests.Carbon;

/// <summary>The HTTP sources and the fallback chain, against local servers serving the APIs' documented shapes.</summary>
public sealed class CarbonSourcesTests
{
    private static readonly DateTimeOffset Now = DateTimeOffset.UtcNow;
    private static readonly DateTimeOffset ThisHour = new(Now.Year, Now.Month, Now.Day, Now.Hour, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task ElectricityMaps_HistoryAndForecastWithToken_AndBundledZonesStillServed()
    {
        await using var api = await StubServer.StartAsync(routes =>
        {
            routes.MapGet("/v3/zones", () => Results.Json(new Dictionary<string, object> { ["DE"] = new { zoneName = "Germany" } }));
            routes.MapGet("/v3/carbon-intensity/past-range", (string zone) => Results.Json(new
            {
                zone,
                data = Enumerable.Range(1, 6).Select(h => new { zone, carbonIntensity = 300.0 + h, datetime = ThisHour.AddHours(-h), isEstimated = false }),
            }));
            routes.MapGet("/v3/carbon-intensity/forecast", (string zone) => Results.Json(new
            {
                zone,
                forecast = Enumerable.Range(1, 24).Select(h => new { carbonIntensity = 200.0 + h, datetime = ThisHour.AddHours(h) }),
                updatedAt = ThisHour,
            }));
        });
        await using var controlPlane = await StartAsync(new()
        {
            ["EdgeGreen:Carbon:Sources:0"] = "electricitymaps",
            ["EdgeGreen:Carbon:Sources:1"] = "bundled",
            ["EdgeGreen:Carbon:ElectricityMaps:BaseUrl"] = api.Url.ToString(),
            ["EdgeGreen:Carbon:ElectricityMaps:ApiToken"] = "secret-token",
        });
        using var viewer = controlPlane.CreateClient(await controlPlane.MintApiKeyAsync(ApiKeyRole.Viewer));

        var zones = await viewer.GetFromJsonAsync<JsonElement>(new Uri("/api/v1/carbon/zones", UriKind.Relative));
        var history = await viewer.GetFromJsonAsync<JsonElement>(new Uri($"/api/v1/carbon/zones/DE/intensity?from={Q(ThisHour.AddHours(-3))}", UriKind.Relative));
        var forecast = await viewer.GetFromJsonAsync<JsonElement>(new Uri("/api/v1/carbon/zones/DE/forecast?hours=6", UriKind.Relative));
        var bundled = await viewer.GetFromJsonAsync<JsonElement>(new Uri("/api/v1/carbon/zones/ES/forecast?hours=6", UriKind.Relative));

        Assert.Equal(["BR", "DE", "ES", "NO", "US-CAL-CISO"], zones.EnumerateArray().Select(z => z.GetProperty("zone").GetString()));
        Assert.Equal([303.0, 302.0, 301.0], history.GetProperty("points").EnumerateArray().Select(p => p.GetProperty("intensityGramsPerKwh").GetDouble()));
        Assert.Equal("electricitymaps", forecast.GetProperty("method").GetString());
        Assert.Equal(201.0, forecast.GetProperty("points")[0].GetProperty("intensityGramsPerKwh").GetDouble());
        Assert.Equal("seasonal-anomaly", bundled.GetProperty("method").GetString());
        Assert.All(api.Requests, r => Assert.Equal("secret-token", r.Headers["auth-token"]));
        Assert.Contains(api.Requests, r => r.Path == "/v3/carbon-intensity/past-range" && r.Query.Contains("zone=DE", StringComparison.Ordinal));
    }

    [Fact]
    public async Task FailingSource_IsRetriedThenSkippedForTheNext_AndTheFailureIsCounted()
    {
        await using var api = await StubServer.StartAsync(routes =>
        {
            routes.MapGet("/v3/zones", () => Results.Json(new Dictionary<string, object> { ["ES"] = new { zoneName = "Spain" } }));
            routes.MapGet("/v3/carbon-intensity/past-range", () => Results.StatusCode(StatusCodes.Status503ServiceUnavailable));
        });
        await using var controlPlane = await StartAsync(new()
        {
            ["EdgeGreen:Carbon:Sources:0"] = "electricitymaps",
            ["EdgeGreen:Carbon:Sources:1"] = "bundled",
            ["EdgeGreen:Carbon:ElectricityMaps:BaseUrl"] = api.Url.ToString(),
            ["EdgeGreen:Carbon:HttpRetries"] = "2",
            ["EdgeGreen:Carbon:HttpRetryDelay"] = "00:00:00.010",
        });
        // Polly logs each retried 503 at error level; that is what this test provokes.
        controlPlane.Errors.Expect("Polly: Execution attempt");
        using var viewer = controlPlane.CreateClient(await controlPlane.MintApiKeyAsync(ApiKeyRole.Viewer));

        var history = await viewer.GetFromJsonAsync<JsonElement>(new Uri("/api/v1/carbon/zones/ES/intensity", UriKind.Relative));

        Assert.InRange(history.GetProperty("points").GetArrayLength(), 24, 25);
        Assert.Equal(3, api.Requests.Count(r => r.Path == "/v3/carbon-intensity/past-range"));
        using var anonymous = controlPlane.CreateClient();
        Assert.Contains("edgegreen_carbon_source_failures_total{source=\"electricitymaps\"} 1",
            await anonymous.GetStringAsync(new Uri("/metrics", UriKind.Relative)), StringComparison.Ordinal);
    }

    [Fact]
    public async Task UkCarbonIntensity_NationalPrefersActual_RegionalForecastIsPublished_AndAnswersAreCached()
    {
        var slots = Enumerable.Range(0, 8).Select(i => new
        {
            from = ThisHour.AddHours(-4).AddMinutes(30 * i).ToString("yyyy-MM-dd'T'HH:mm'Z'", CultureInfo.InvariantCulture),
            to = ThisHour.AddHours(-4).AddMinutes(30 * (i + 1)).ToString("yyyy-MM-dd'T'HH:mm'Z'", CultureInfo.InvariantCulture),
            intensity = new { forecast = 100 + i, actual = i % 2 == 0 ? 150 + i : (int?)null, index = "moderate" },
        }).ToList();
        await using var api = await StubServer.StartAsync(routes =>
        {
            routes.MapGet("/intensity/{from}/{to}", () => Results.Json(new { data = slots }));
            routes.MapGet("/regional/intensity/{from}/fw48h/regionid/{region}", (int region) => Results.Json(new
            {
                data = new
                {
                    regionid = region,
                    dnoregion = "UKPN London",
                    shortname = "London",
                    data = Enumerable.Range(0, 96).Select(i => new
                    {
                        from = ThisHour.AddMinutes(30 * i).ToString("yyyy-MM-dd'T'HH:mm'Z'", CultureInfo.InvariantCulture),
                        to = ThisHour.AddMinutes(30 * (i + 1)).ToString("yyyy-MM-dd'T'HH:mm'Z'", CultureInfo.InvariantCulture),
                        intensity = new { forecast = 50 + i, index = "low" },
                    }),
                },
            }));
        });
        await using var controlPlane = await StartAsync(new()
        {
            ["EdgeGreen:Carbon:Sources:0"] = "uk-carbon-intensity",
            ["EdgeGreen:Carbon:UkCarbonIntensity:BaseUrl"] = api.Url.ToString(),
        });
        using var viewer = controlPlane.CreateClient(await controlPlane.MintApiKeyAsync(ApiKeyRole.Viewer));
        var historyUri = new Uri($"/api/v1/carbon/zones/GB/intensity?from={Q(ThisHour.AddHours(-4))}&to={Q(ThisHour)}", UriKind.Relative);

        var history = await viewer.GetFromJsonAsync<JsonElement>(historyUri);
        await viewer.GetFromJsonAsync<JsonElement>(historyUri);
        var asked = DateTimeOffset.UtcNow;
        var forecast = await viewer.GetFromJsonAsync<JsonElement>(new Uri("/api/v1/carbon/zones/GB-13/forecast?hours=2", UriKind.Relative));

        Assert.Equal([150.0, 101, 152, 103, 154, 105, 156, 107], history.GetProperty("points").EnumerateArray().Select(p => p.GetProperty("intensityGramsPerKwh").GetDouble()));
        Assert.Equal("00:30:00", history.GetProperty("points")[0].GetProperty("duration").GetString());
        Assert.Single(api.Requests, r => r.Path.StartsWith("/intensity/", StringComparison.Ordinal));
        Assert.Equal("uk-carbon-intensity", forecast.GetProperty("method").GetString());
        var times = forecast.GetProperty("points").EnumerateArray().Select(p => p.GetProperty("time").GetDateTimeOffset()).ToList();
        // The published half-hours from the current one up to two hours ahead: none beyond, none left out.
        Assert.Equal(ThisHour, times[0]);
        Assert.All(times, t => Assert.True(t < DateTimeOffset.UtcNow.AddHours(2)));
        Assert.True(times[^1].AddMinutes(30) >= asked.AddHours(2));
    }

    [Fact]
    public async Task WattTime_LogsInWithBasicAuth_ConvertsPoundsPerMwh_AndLogsInAgainAfterA401()
    {
        var logins = 0;
        var refusedOnce = false;
        await using var api = await StubServer.StartAsync(routes =>
        {
            routes.MapGet("/login", (HttpContext context) =>
            {
                var expected = "Basic " + Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes("ada:lovelace"));
                return context.Request.Headers.Authorization == expected
                    ? Results.Json(new { token = $"token-{Interlocked.Increment(ref logins)}" })
                    : Results.StatusCode(StatusCodes.Status403Forbidden);
            });
            routes.MapGet("/v3/historical", (HttpContext context, string region, string signal_type) =>
            {
                if (!refusedOnce)
                {
                    refusedOnce = true;
                    return Results.StatusCode(StatusCodes.Status401Unauthorized);
                }

                return context.Request.Headers.Authorization == "Bearer token-2"
                    ? Results.Json(new
                    {
                        data = Enumerable.Range(0, 12).Select(i => new { point_time = ThisHour.AddHours(-1).AddMinutes(5 * i), value = 2204.62 }),
                        meta = new { region, signal_type, units = "lbs_co2_per_mwh", data_point_period_seconds = 300 },
                    })
                    : Results.StatusCode(StatusCodes.Status401Unauthorized);
            });
        });
        await using var controlPlane = await StartAsync(new()
        {
            ["EdgeGreen:Carbon:Sources:0"] = "watttime",
            ["EdgeGreen:Carbon:WattTime:BaseUrl"] = api.Url.ToString(),
            ["EdgeGreen:Carbon:WattTime:Username"] = "ada",
            ["EdgeGreen:Carbon:WattTime:Password"] = "lovelace",
            ["EdgeGreen:Carbon:WattTime:Regions:0"] = "CAISO_NORTH",
        });
        using var viewer = controlPlane.CreateClient(await controlPlane.MintApiKeyAsync(ApiKeyRole.Viewer));

        var history = await viewer.GetFromJsonAsync<JsonElement>(
            new Uri($"/api/v1/carbon/zones/CAISO_NORTH/intensity?from={Q(ThisHour.AddHours(-1))}&to={Q(ThisHour)}", UriKind.Relative));

        var points = history.GetProperty("points").EnumerateArray().ToList();
        Assert.Equal(12, points.Count);
        Assert.All(points, p => Assert.Equal(1000, p.GetProperty("intensityGramsPerKwh").GetDouble(), 6));
        Assert.Equal("00:05:00", points[0].GetProperty("duration").GetString());
        Assert.Equal(2, logins);
    }

    [Fact]
    public async Task UnknownSourceName_FailsTheStartNamingTheKey()
    {
        using var temp = new TempDirectory();
        var error = await Assert.ThrowsAnyAsync<Exception>(async () =>
        {
            await using var app = TestControlPlane.Build(temp.Path, 0, localAgent: false,
                new Dictionary<string, string?> { ["EdgeGreen:Carbon:Sources:0"] = "carbonara" }, out _);
            await app.StartAsync();
        });

        Assert.Contains("EdgeGreen:Carbon:Sources", error.Message, StringComparison.Ordinal);
    }

    private static async Task<TestControlPlane> StartAsync(Dictionary<string, string?> settings) =>
        await TestControlPlane.StartAsync(Directory.CreateTempSubdirectory("edgegreen-carbon-").FullName, settings: settings);

    private static string Q(DateTimeOffset instant) => Uri.EscapeDataString(instant.ToString("O"));
}
