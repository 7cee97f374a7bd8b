using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using EdgeGreen.ControlPlane.Carbon;

namespace EdgeGreen.ControlPlane.Tests.Carbon;

/// <summary>The Carbon Aware SDK's Web API shapes, called as its clients call them (with a viewer key, as EdgeGreen asks by default).</summary>
public sealed class CarbonAwareSdkApiTests : ControlPlaneTest
{
    [Fact]
    public async Task BylocationsBest_ReturnsTheLowestObservedPointAcrossLocations()
    {
        var all = await Get("/emissions/bylocations?location=ES&location=NO");
        var best = await Get("/emissions/bylocations/best?location=ES&location=NO");

        var points = all.EnumerateArray().ToList();
        Assert.Equal(["ES", "NO"], points.Select(p => p.GetProperty("location").GetString()).Distinct().Order());
        Assert.Equal("01:00:00", points[0].GetProperty("duration").GetString());
        var lowest = points.Min(p => p.GetProperty("rating").GetDouble());
        Assert.All(best.EnumerateArray(), b => Assert.Equal(lowest, b.GetProperty("rating").GetDouble()));
        Assert.Equal("NO", best[0].GetProperty("location").GetString());
    }

    [Fact]
    public async Task ForecastsCurrent_WindowSizeAveragesAndOptimalIsTheLowestWindow()
    {
        var forecasts = await Get("/emissions/forecasts/current?location=ES&windowSize=120");

        var forecast = Assert.Single(forecasts.EnumerateArray());
        Assert.Equal("ES", forecast.GetProperty("location").GetString());
        Assert.Equal(120, forecast.GetProperty("windowSize").GetInt32());
        var data = forecast.GetProperty("forecastData").EnumerateArray().ToList();
        Assert.All(data, d => Assert.Equal(120, d.GetProperty("duration").GetInt32()));
        var optimal = forecast.GetProperty("optimalDataPoints")[0];
        Assert.Equal(data.Min(d => d.GetProperty("value").GetDouble()), optimal.GetProperty("value").GetDouble());
        Assert.True(data[0].GetProperty("timestamp").GetDateTimeOffset() > DateTimeOffset.UtcNow.AddHours(-1));
    }

    [Fact]
    public async Task ForecastsBatch_AsOfAPastInstant_UsesTheBoundsAsked()
    {
        var requestedAt = DateTimeOffset.UtcNow.AddDays(-2);
        var start = new DateTimeOffset(requestedAt.Year, requestedAt.Month, requestedAt.Day, requestedAt.Hour, 0, 0, TimeSpan.Zero).AddHours(3);
        using var response = await AdminClient.PostAsJsonAsync(new Uri("/emissions/forecasts/batch", UriKind.Relative), new[]
        {
            new { requestedAt, location = "NO", dataStartAt = start, dataEndAt = start.AddHours(6), windowSize = 60 },
        });

        var forecast = (await response.Content.ReadFromJsonAsync<JsonElement>())[0];
        Assert.Equal(requestedAt, forecast.GetProperty("generatedAt").GetDateTimeOffset());
        var times = forecast.GetProperty("forecastData").EnumerateArray().Select(d => d.GetProperty("timestamp").GetDateTimeOffset()).ToList();
        Assert.Equal(Enumerable.Range(0, 6).Select(h => start.AddHours(h)), times);
    }

    [Fact]
    public async Task AverageCarbonIntensity_IsTheTimeWeightedMeanOfObservedHours()
    {
        var hour = new DateTimeOffset(DateTimeOffset.UtcNow.Year, DateTimeOffset.UtcNow.Month, DateTimeOffset.UtcNow.Day, 0, 0, 0, TimeSpan.Zero).AddDays(-1);
        var observed = await Get($"/emissions/bylocation?location=BR&time={Q(hour)}&toTime={Q(hour.AddHours(2))}");
        var average = await Get($"/emissions/average-carbon-intensity?location=BR&startTime={Q(hour.AddMinutes(30))}&endTime={Q(hour.AddHours(2))}");

        var (first, second) = (observed[0].GetProperty("rating").GetDouble(), observed[1].GetProperty("rating").GetDouble());
        Assert.Equal((first / 3) + (second * 2 / 3), average.GetProperty("carbonIntensity").GetDouble(), 9);
        Assert.Equal("BR", average.GetProperty("location").GetString());
    }

    [Fact]
    public async Task Locations_ListsEveryZoneByName()
    {
        var locations = await Get("/locations");

        Assert.Equal("US-CAL-CISO", locations.GetProperty("US-CAL-CISO").GetProperty("name").GetString());
        Assert.Equal(4, locations.EnumerateObject().Count());
    }

    [Fact]
    public async Task AverageCarbonIntensityBatch_SeveralPeriods_ReturnsEachAverageInOrder()
    {
        var hour = new DateTimeOffset(DateTimeOffset.UtcNow.Year, DateTimeOffset.UtcNow.Month, DateTimeOffset.UtcNow.Day, 0, 0, 0, TimeSpan.Zero).AddDays(-1);
        var single = await Get($"/emissions/average-carbon-intensity?location=BR&startTime={Q(hour.AddMinutes(30))}&endTime={Q(hour.AddHours(2))}");

        using var response = await AdminClient.PostAsJsonAsync(new Uri("/emissions/average-carbon-intensity/batch", UriKind.Relative), new[]
        {
            new { location = "ES", startTime = hour.ToOffset(TimeSpan.FromHours(2)), endTime = hour.AddHours(3) },
            new { location = "BR", startTime = hour.AddMinutes(30), endTime = hour.AddHours(2) },
        });

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var averages = (await response.Content.ReadFromJsonAsync<JsonElement>()).EnumerateArray().ToList();
        Assert.Equal(["ES", "BR"], averages.Select(a => a.GetProperty("location").GetString()));
        Assert.Equal(hour, averages[0].GetProperty("startTime").GetDateTimeOffset());
        Assert.Equal(TimeSpan.Zero, averages[0].GetProperty("startTime").GetDateTimeOffset().Offset);
        Assert.Equal(single.GetProperty("carbonIntensity").GetDouble(), averages[1].GetProperty("carbonIntensity").GetDouble(), 9);
        Assert.InRange(averages[0].GetProperty("carbonIntensity").GetDouble(), 1, 2000);
    }

    [Fact]
    public async Task AverageCarbonIntensityBatch_ItemWithoutTimes_Returns400NamingEachField()
    {
        using var response = await AdminClient.PostAsJsonAsync(new Uri("/emissions/average-carbon-intensity/batch", UriKind.Relative), new[] { new { location = "ES" } });

        var errors = await ValidationErrors(response);
        Assert.Equal(["endTime", "startTime"], errors.Keys.Order());
        Assert.Equal(["startTime is not set"], errors["startTime"]);
    }

    [Fact]
    public async Task AverageCarbonIntensityBatch_PastItsBounds_Returns400()
    {
        var items = Enumerable.Repeat(new { location = "ES", startTime = DateTimeOffset.UtcNow.AddDays(-2), endTime = DateTimeOffset.UtcNow.AddDays(-1) },
            CarbonAwareSdkApi.MaxBatchRequests + 1);
        using var tooMany = await AdminClient.PostAsJsonAsync(new Uri("/emissions/average-carbon-intensity/batch", UriKind.Relative), items);
        using var tooLong = await AdminClient.PostAsJsonAsync(new Uri("/emissions/average-carbon-intensity/batch", UriKind.Relative),
            new[] { new { location = "ES", startTime = DateTimeOffset.Parse("2020-01-01T00:00:00Z"), endTime = DateTimeOffset.Parse("2021-06-01T00:00:00Z") } });

        Assert.Contains("requests", (await ValidationErrors(tooMany)).Keys);
        Assert.Contains("endTime", (await ValidationErrors(tooLong)).Keys);
    }

    [Theory]
    [InlineData("/emissions/bylocations?location=XX", "location")]
    [InlineData("/emissions/bylocations", "location")]
    [InlineData("/emissions/bylocations?location=ES&time=yesterday", "time")]
    [InlineData("/emissions/bylocation", "location")]
    [InlineData("/emissions/forecasts/current?location=ES&windowSize=0", "windowSize")]
    [InlineData("/emissions/forecasts/current?location=ES&windowSize=ten", "windowSize")]
    [InlineData("/emissions/average-carbon-intensity?location=ES&startTime=2026-01-02T00:00:00Z&endTime=2026-01-01T00:00:00Z", "endTime")]
    [InlineData("/emissions/average-carbon-intensity?location=ES", "startTime")]
    [InlineData("/emissions/average-carbon-intensity?location=ES&startTime=soon&endTime=2026-01-01T00:00:00Z", "startTime")]
    [InlineData("/emissions/bylocations?location=ES&time=2020-01-01T00:00:00Z&toTime=2021-01-02T00:00:01Z", "toTime")]
    [InlineData("/emissions/average-carbon-intensity?location=ES&startTime=2020-01-01T00:00:00Z&endTime=2021-06-01T00:00:00Z", "endTime")]
    public async Task BadRequests_AndRangesPastTheirMaximum_Return400WithTheFieldInErrors(string path, string field)
    {
        using var response = await AdminClient.GetAsync(new Uri(path, UriKind.Relative));

        Assert.Contains(field, (await ValidationErrors(response)).Keys);
    }

    [Theory]
    [InlineData("/emissions/forecasts/batch")]
    [InlineData("/emissions/average-carbon-intensity/batch")]
    public async Task Batch_NullItem_Returns400(string path)
    {
        using var content = new StringContent("[null]", System.Text.Encoding.UTF8, "application/json");
        using var response = await AdminClient.PostAsync(new Uri(path, UriKind.Relative), content);

        Assert.Contains("requests", (await ValidationErrors(response)).Keys);
    }

    [Fact]
    public async Task ForecastsBatch_ValueThatIsNoInstant_Returns400KeyedByItsJsonPath()
    {
        using var content = new StringContent("""[{"requestedAt":"yesterday","location":"ES"}]""", System.Text.Encoding.UTF8, "application/json");
        using var response = await AdminClient.PostAsync(new Uri("/emissions/forecasts/batch", UriKind.Relative), content);

        Assert.Contains("$[0].requestedAt", (await ValidationErrors(response)).Keys);
    }

    [Fact]
    public async Task TooManyLocationsOrBatchedForecasts_Return400()
    {
        var locations = string.Join('&', Enumerable.Repeat("location=ES", CarbonAwareSdkApi.MaxLocations + 1));
        using var observed = await AdminClient.GetAsync(new Uri($"/emissions/bylocations?{locations}", UriKind.Relative));
        using var batch = await AdminClient.PostAsJsonAsync(new Uri("/emissions/forecasts/batch", UriKind.Relative),
            Enumerable.Repeat(new { requestedAt = DateTimeOffset.UtcNow.AddDays(-2), location = "ES" }, CarbonAwareSdkApi.MaxBatchRequests + 1));

        Assert.Equal(HttpStatusCode.BadRequest, observed.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, batch.StatusCode);
    }

    /// <summary>The <c>errors</c> map of a 400 validation problem, as the SDK's ASP.NET Core model validation writes it.</summary>
    private static async Task<Dictionary<string, string[]>> ValidationErrors(HttpResponseMessage response)
    {
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(400, problem.GetProperty("status").GetInt32());
        return problem.GetProperty("errors").Deserialize<Dictionary<string, string[]>>()!;
    }

    private async Task<JsonElement> Get(string path) => await AdminClient.GetFromJsonAsync<JsonElement>(new Uri(path, UriKind.Relative));

    private static string Q(DateTimeOffset instant) => Uri.EscapeDataString(instant.ToString("O"));
}
