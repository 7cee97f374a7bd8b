using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using EdgeGreen.ControlPlane.Core.Storage;
using EdgeGreen.ControlPlane.Storage;

namespace EdgeGreen.ControlPlane.Tests.Carbon;

public sealed class CarbonApiTests : ControlPlaneTest
{
    private HttpClient _viewer = null!;

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        _viewer = ControlPlane.CreateClient(await ControlPlane.MintApiKeyAsync(ApiKeyRole.Viewer));
    }

    public override async Task DisposeAsync()
    {
        _viewer.Dispose();
        await base.DisposeAsync();
    }

    [Fact]
    public async Task Zones_ListsBundledZonesWithCurrentIntensity()
    {
        var zones = await _viewer.GetFromJsonAsync<JsonElement>(new Uri("/api/v1/carbon/zones", UriKind.Relative));

        Assert.Equal(["BR", "ES", "NO", "US-CAL-CISO"], zones.EnumerateArray().Select(z => z.GetProperty("zone").GetString()));
        Assert.All(zones.EnumerateArray(), z => Assert.True(z.GetProperty("intensityGramsPerKwh").GetDouble() > 0));
    }

    [Fact]
    public async Task Intensity_DefaultsToTheLast24Hours()
    {
        var intensity = await _viewer.GetFromJsonAsync<JsonElement>(new Uri("/api/v1/carbon/zones/ES/intensity", UriKind.Relative));

        Assert.Equal("bundled", intensity.GetProperty("source").GetString());
        Assert.InRange(intensity.GetProperty("points").GetArrayLength(), 24, 25);
    }

    [Fact]
    public async Task Forecast_GivesTheRequestedHoursAfterTheCurrentOne()
    {
        var forecast = await _viewer.GetFromJsonAsync<JsonElement>(new Uri("/api/v1/carbon/zones/NO/forecast?hours=6", UriKind.Relative));

        var points = forecast.GetProperty("points").EnumerateArray().ToList();
        Assert.Equal(6, points.Count);
        Assert.Equal("seasonal-anomaly", forecast.GetProperty("method").GetString());
        Assert.True(points[0].GetProperty("time").GetDateTimeOffset() > DateTimeOffset.UtcNow);
        Assert.Equal(TimeSpan.FromHours(1), points[1].GetProperty("time").GetDateTimeOffset() - points[0].GetProperty("time").GetDateTimeOffset());
    }

    [Theory]
    [InlineData("/api/v1/carbon/zones/ES/forecast?hours=0", HttpStatusCode.BadRequest)]
    [InlineData("/api/v1/carbon/zones/ES/forecast?hours=73", HttpStatusCode.BadRequest)]
    [InlineData("/api/v1/carbon/zones/ES/intensity?from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z", HttpStatusCode.BadRequest)]
    [InlineData("/api/v1/carbon/zones/XX/intensity", HttpStatusCode.NotFound)]
    [InlineData("/api/v1/carbon/zones/XX/forecast", HttpStatusCode.NotFound)]
    public async Task BadRequests_AreRefusedWithProblemDetails(string path, HttpStatusCode expected)
    {
        using var response = await _viewer.GetAsync(new Uri(path, UriKind.Relative));

        Assert.Equal(expected, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }
}
