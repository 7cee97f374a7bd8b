using System.Globalization;
using System.Text.Json.Serialization;
using Microsoft.Extensions.Options;

namespace EdgeGreen.ControlPlane.Core.Carbon.Sources;

public sealed class ElectricityMapsOptions
{
    public const string SectionName = "EdgeGreen:Carbon:ElectricityMaps";

    public Uri BaseUrl { get; set; } = new("https://api.electricitymap.org/");

    /// <summary>The API token, sent as the <c>auth-token</c> header.</summary>
    public string? ApiToken { get; set; }
}

/// <summary>
/// Electricity Maps API v3: zones, hourly history (<c>carbon-intensity/past-range</c>, in chunks of
/// at most 10 days) and forecasts (<c>carbon-intensity/forecast</c>).
/// </summary>
public sealed class ElectricityMapsSource(HttpClient http, IOptions<ElectricityMapsOptions> options) : ICarbonIntensitySource, IIntensityForecastSource
{
    private static readonly TimeSpan Hour = TimeSpan.FromHours(1);
    private static readonly TimeSpan MaxRange = TimeSpan.FromDays(10);

    public string Name => "electricitymaps";

    public async Task<IReadOnlyList<string>> GetZonesAsync(CancellationToken cancellationToken)
    {
        var zones = await SendAsync<Dictionary<string, ZoneInfo>>("v3/zones", cancellationToken);
        return [.. zones.Keys.Order(StringComparer.Ordinal)];
    }

    public async Task<IReadOnlyList<IntensityPoint>> GetHistoryAsync(string zone, DateTimeOffset from, DateTimeOffset to, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var points = new List<IntensityPoint>();
        var end = to < now ? to : now;
        foreach (var (start, chunkEnd) in HistoryRanges.Chunks(HistoryRanges.FloorToHour(from), end, MaxRange))
        {
            var range = await SendAsync<RangeResponse>(
                $"v3/carbon-intensity/past-range?zone={Uri.EscapeDataString(zone)}&start={Iso(start)}&end={Iso(chunkEnd)}", cancellationToken);
            points.AddRange(range.Data.Where(d => d.CarbonIntensity is not null).Select(d => new IntensityPoint(d.Datetime, Hour, d.CarbonIntensity!.Value)));
        }

        return HistoryRanges.Within(points, from, end);
    }

    public async Task<IReadOnlyList<IntensityPoint>> GetForecastAsync(string zone, DateTimeOffset now, TimeSpan horizon, CancellationToken cancellationToken)
    {
        var forecast = await SendAsync<ForecastResponse>($"v3/carbon-intensity/forecast?zone={Uri.EscapeDataString(zone)}", cancellationToken);
        return [.. forecast.Forecast.Where(p => p.Datetime > now - Hour && p.Datetime < now + horizon).OrderBy(p => p.Datetime)
            .Select(p => new IntensityPoint(p.Datetime, Hour, p.CarbonIntensity))];
    }

    private async Task<T> SendAsync<T>(string path, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(options.Value.BaseUrl, path));
        if (!string.IsNullOrEmpty(options.Value.ApiToken))
        {
            request.Headers.Add("auth-token", options.Value.ApiToken);
        }

        using var response = await http.SendAsync(request, cancellationToken);
        return await response.ReadJsonAsync<T>("Electricity Maps", cancellationToken);
    }

    private static string Iso(DateTimeOffset instant) => Uri.EscapeDataString(instant.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture));

    private sealed record ZoneInfo([property: JsonPropertyName("zoneName")] string? ZoneName);

    private sealed record RangeResponse([property: JsonPropertyName("data")] List<RangePoint> Data);

    private sealed record RangePoint(
        [property: JsonPropertyName("datetime")] DateTimeOffset Datetime,
        [property: JsonPropertyName("carbonIntensity")] double? CarbonIntensity);

    private sealed record ForecastResponse([property: JsonPropertyName("forecast")] List<ForecastPoint> Forecast);

    private sealed record ForecastPoint(
        [property: JsonPropertyName("datetime")] DateTimeOffset Datetime,
        [property: JsonPropertyName("carbonIntensity")] double CarbonIntensity);
}
